/**
 * One component → its pod template and workload object (Deployment, StatefulSet, DaemonSet or
 * Job). Everything here is typed by kubernetes-models' interfaces; the tests validate the rendered
 * objects against the Kubernetes OpenAPI schema (testing/schema.ts).
 */
import { createHash } from 'node:crypto';
import type {
  IContainer,
  IPodSpec,
  IPodTemplateSpec,
  IProbe,
  IVolume,
  IVolumeMount,
  IEnvVar,
} from 'kubernetes-models/v1';
import type { CatalogContext } from '../../catalog/context.js';
import type { ComponentDef, ConfigBundleDef, ProbeDef } from '../../catalog/types.js';
import type { SecretDef } from '../../config/secrets.js';
import { labelsFor, selectorFor } from './labels.js';

const CONFIG_HASH = 'osk.dev/config-hash';

export interface RenderInputs {
  ctx: CatalogContext;
  bundles: Map<string, ConfigBundleDef>;
  secrets: Map<string, SecretDef>;
  /** Secret values by store name. */
  secretValue: (name: string) => string;
}

export function configMapName(bundle: string): string {
  return `${bundle}-config`;
}
export function configSecretName(bundle: string): string {
  return `${bundle}-config-secrets`;
}
/** Key of an INI file's secret part inside the bundle's Secret. */
export function secretPartKey(file: string): string {
  return `${file}.secrets.conf`;
}

function probe(p: ProbeDef | undefined): IProbe | undefined {
  if (!p) return undefined;
  const timing = {
    ...(p.initialDelaySeconds !== undefined ? { initialDelaySeconds: p.initialDelaySeconds } : {}),
    ...(p.periodSeconds !== undefined ? { periodSeconds: p.periodSeconds } : {}),
    ...(p.timeoutSeconds !== undefined ? { timeoutSeconds: p.timeoutSeconds } : {}),
    ...(p.failureThreshold !== undefined ? { failureThreshold: p.failureThreshold } : {}),
  };
  if ('http' in p)
    return { httpGet: { path: p.http.path, port: p.http.port, scheme: p.http.scheme ?? 'HTTP' }, ...timing };
  if ('tcp' in p) return { tcpSocket: { port: p.tcp.port }, ...timing };
  return { exec: { command: p.exec.command }, ...timing };
}

/** Volumes and mounts for the config bundles and secret files of a component. */
function configVolumes(
  c: ComponentDef,
  inp: RenderInputs,
): { volumes: IVolume[]; mounts: IVolumeMount[]; hash: string } {
  const volumes: IVolume[] = [];
  const mounts: IVolumeMount[] = [];
  const hash = createHash('sha256');
  for (const name of c.configs ?? []) {
    const b = inp.bundles.get(name)!;
    const publicFiles = b.files.filter((f) => !('text' in f && f.secret));
    const secretFiles = b.files.filter((f) => ('ini' in f ? f.ini.hasSecrets() : f.secret === true));
    if (publicFiles.length > 0) {
      volumes.push({ name: `${name}-config`, configMap: { name: configMapName(name), defaultMode: 0o444 } });
      for (const f of publicFiles) {
        mounts.push({ name: `${name}-config`, mountPath: `${b.dir}/${f.name}`, subPath: f.name, readOnly: true });
        hash.update(`${name}/${f.name}\0${'ini' in f ? f.ini.renderPublic(f.dialect) : f.text}\0`);
      }
    }
    if (secretFiles.length > 0) {
      volumes.push({ name: `${name}-secrets`, secret: { secretName: configSecretName(name), defaultMode: 0o440 } });
      for (const f of secretFiles) {
        if ('ini' in f) {
          // oslo reads <file>.d/ (or the file's configDir) as a config dir: the credentials
          // overlay the public file.
          mounts.push({
            name: `${name}-secrets`,
            mountPath: `${b.dir}/${f.configDir ?? `${f.name}.d`}/secrets.conf`,
            subPath: secretPartKey(f.name),
            readOnly: true,
          });
          hash.update(`${name}/${f.name}.secrets\0${f.ini.renderSecrets(f.dialect)}\0`);
        } else {
          mounts.push({ name: `${name}-secrets`, mountPath: `${b.dir}/${f.name}`, subPath: f.name, readOnly: true });
          hash.update(`${name}/${f.name}\0${f.text}\0`);
        }
      }
    }
  }
  for (const f of c.secretFiles ?? []) {
    const vol = f.volume ?? `secret-${f.k8sSecret}`;
    volumes.push({ name: vol, secret: { secretName: f.k8sSecret, defaultMode: 0o400 } });
    mounts.push({ name: vol, mountPath: f.mountPath, readOnly: true });
    // Rotated keys count by name only: the kubelet refreshes the mounted Secret and the program
    // rereads it, so a rotation must not roll the pods (nor rename their Jobs).
    for (const d of [...inp.secrets.values()].filter((s) => s.k8sSecret === f.k8sSecret))
      hash.update(d.rotates ? `${d.name}\0` : `${d.name}\0${inp.secretValue(d.name)}\0`);
  }
  for (const e of c.env ?? []) if (e.secret) hash.update(`env ${e.name}\0${inp.secretValue(e.secret)}\0`);
  return { volumes, mounts, hash: hash.digest('hex').slice(0, 16) };
}

function env(c: ComponentDef, inp: RenderInputs): IEnvVar[] {
  return (c.env ?? []).map((e) => {
    if (e.secret) {
      const def = inp.secrets.get(e.secret)!;
      return { name: e.name, valueFrom: { secretKeyRef: { name: def.k8sSecret, key: def.key } } };
    }
    if (e.fieldPath) return { name: e.name, valueFrom: { fieldRef: { fieldPath: e.fieldPath } } };
    return { name: e.name, value: e.value ?? '' };
  });
}

export function podTemplate(c: ComponentDef, inp: RenderInputs): { template: IPodTemplateSpec; hash: string } {
  const { ctx } = inp;
  const cfg = configVolumes(c, inp);
  const volumes: IVolume[] = [...cfg.volumes];
  const mounts: IVolumeMount[] = [...cfg.mounts];
  for (const d of c.emptyDirs ?? []) {
    volumes.push({ name: d.name, emptyDir: {} });
    mounts.push({ name: d.name, mountPath: d.mountPath });
  }
  for (const h of c.hostPaths ?? []) {
    volumes.push({ name: h.name, hostPath: { path: h.path, ...(h.type ? { type: h.type } : {}) } });
    mounts.push({ name: h.name, mountPath: h.mountPath });
  }
  if (c.volumeClaim) {
    if (c.workload === 'Deployment')
      volumes.push({ name: c.volumeClaim.name, persistentVolumeClaim: { claimName: `${c.id}-${c.volumeClaim.name}` } });
    mounts.push({ name: c.volumeClaim.name, mountPath: c.volumeClaim.mountPath });
  }
  const isJob = c.workload === 'Job';
  const podAffinity = affinity(c, ctx);
  const container: IContainer = {
    name: c.part,
    image: ctx.imageRef(c.image),
    imagePullPolicy: ctx.spec.images?.pullPolicy ?? 'IfNotPresent',
    command: c.command,
    ...(c.env?.length ? { env: env(c, inp) } : {}),
    ...(c.ports?.length
      ? { ports: c.ports.map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol ?? 'TCP' })) }
      : {}),
    resources: {
      requests: { ...c.settings.resources.requests },
      limits: { ...c.settings.resources.limits },
    },
    ...(isJob ? {} : { readinessProbe: probe(c.readiness), livenessProbe: probe(c.liveness) }),
    ...(c.startup && !isJob ? { startupProbe: probe(c.startup) } : {}),
    ...(mounts.length ? { volumeMounts: mounts } : {}),
    securityContext: c.privileged
      ? { privileged: true, runAsUser: 0 }
      : {
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
          ...(c.runAsUser !== undefined ? { runAsUser: c.runAsUser, runAsNonRoot: c.runAsUser !== 0 } : {}),
        },
  };
  const sidecars = sidecarContainers(c, container);
  const spec: IPodSpec = {
    serviceAccountName: serviceAccountName(c),
    automountServiceAccountToken: (c.rbac?.length ?? 0) > 0,
    enableServiceLinks: false,
    ...(sidecars.length ? { initContainers: sidecars } : {}),
    containers: [container],
    ...(Object.keys(c.settings.nodeSelector).length ? { nodeSelector: c.settings.nodeSelector } : {}),
    ...(c.settings.tolerations.length ? { tolerations: c.settings.tolerations } : {}),
    ...(podAffinity ? { affinity: podAffinity } : {}),
    ...(volumes.length ? { volumes } : {}),
    ...(c.hostNetwork ? { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' } : {}),
    ...(c.runAsUser !== undefined && c.runAsUser !== 0 && !c.privileged
      ? { securityContext: { fsGroup: c.runAsUser, runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } } }
      : {}),
    ...(ctx.spec.images?.pullSecrets?.length
      ? { imagePullSecrets: ctx.spec.images.pullSecrets.map((n) => ({ name: n })) }
      : {}),
    ...(isJob ? { restartPolicy: 'OnFailure' } : {}),
    terminationGracePeriodSeconds: c.workload === 'StatefulSet' ? 120 : 30,
  };
  const annotations: Record<string, string> = { [CONFIG_HASH]: cfg.hash };
  // Multus's JSON form: each value is a JSON string, so a name cannot add a network (as a comma
  // or "@" would in the short "ns/name@if" form), and the interface name is passed on.
  if (c.networks?.length) annotations['k8s.v1.cni.cncf.io/networks'] = JSON.stringify(c.networks);
  return {
    template: { metadata: { labels: { ...labelsFor(ctx, c), ...selectorFor(ctx, c) }, annotations }, spec },
    hash: cfg.hash,
  };
}

/**
 * Native sidecars: the kubelet starts each and waits for its startup probe before the main
 * container, and restarts it on its own; they run the main container's image with its mounts and
 * security context, so they see its files.
 */
function sidecarContainers(c: ComponentDef, main: IContainer): IContainer[] {
  return (c.sidecars ?? []).map((s) => ({
    name: s.name,
    image: main.image,
    imagePullPolicy: main.imagePullPolicy,
    command: s.command,
    restartPolicy: 'Always',
    resources: { requests: { ...s.resources.requests }, limits: { ...s.resources.limits } },
    startupProbe: probe(s.startup),
    ...(main.volumeMounts ? { volumeMounts: main.volumeMounts } : {}),
    securityContext: main.securityContext,
  }));
}

export function serviceAccountName(c: ComponentDef): string {
  return c.service === 'osk' ? 'osk' : `${c.service}`;
}

function affinity(c: ComponentDef, ctx: CatalogContext): IPodSpec['affinity'] | undefined {
  const out: NonNullable<IPodSpec['affinity']> = {};
  if (c.avoidNodeLabels && Object.keys(c.avoidNodeLabels).length) {
    // A node to avoid has all of these labels, so a node to use lacks at least one of them:
    // one term per label, because terms are ORed (requirements within one term are ANDed, and
    // "NotIn every label" would also shut out every node that shares one, e.g. the compute
    // selector itself). Labels the component's own nodeSelector requires are on every node it
    // can use anyway; leaving them out keeps the expression readable. If nothing is left, every
    // node of its selector is one to avoid, and the full expression says so.
    const own = c.settings.nodeSelector;
    const all = Object.entries(c.avoidNodeLabels);
    const distinguishing = all.filter(([k, v]) => own[k] !== v);
    out.nodeAffinity = {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: (distinguishing.length ? distinguishing : all).map(([key, value]) => ({
          matchExpressions: [{ key, operator: 'NotIn', values: [value] }],
        })),
      },
    };
  }
  if (ctx.ha && c.settings.replicas > 1 && (c.workload === 'Deployment' || c.workload === 'StatefulSet')) {
    const term = { labelSelector: { matchLabels: selectorFor(ctx, c) }, topologyKey: 'kubernetes.io/hostname' };
    // Quorum members must not share a node; stateless replicas prefer not to.
    out.podAntiAffinity =
      c.workload === 'StatefulSet'
        ? { requiredDuringSchedulingIgnoredDuringExecution: [term] }
        : { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: term }] };
  }
  return out.nodeAffinity || out.podAntiAffinity ? out : undefined;
}

/** Jobs are immutable: the name carries a hash of everything the pod runs. */
export function jobName(c: ComponentDef, templateJson: unknown): string {
  const h = createHash('sha256').update(JSON.stringify(templateJson)).digest('hex').slice(0, 8);
  return `${c.id.slice(0, 52)}-${h}`;
}
