/**
 * CloudModel → the core of the Kubernetes render: the namespace and what every pod relies on,
 * the credentials, and each component's objects. Pure: the secret values come in as a
 * function; nothing here reads or writes anything.
 */
import type { IPersistentVolumeClaimSpec, IPodTemplateSpec } from 'kubernetes-models/v1';
import type { ComponentDef, ConfigBundleDef, PortDef, VolumeClaimDef } from '../../catalog/types.js';
import type { CloudModel } from '../../plan/model.js';
import { byName } from './by-name.js';
import { baseLabels, labelsFor, selectorFor } from './labels.js';
import { networkPolicies } from './network-policy.js';
import { CREDENTIAL_ANNOTATION, type KubeObject, type RenderedGroup } from './objects.js';
import {
  ConfigMap,
  DaemonSet,
  Deployment,
  Ingress,
  Job,
  Namespace,
  PersistentVolumeClaim,
  PodDisruptionBudget,
  Role,
  RoleBinding,
  Secret,
  Service,
  ServiceAccount,
  StatefulSet,
  StorageClass,
} from './k8s.js';
import {
  configMapName,
  configSecretName,
  jobName,
  podTemplate,
  secretPartKey,
  serviceAccountName,
  type RenderInputs,
} from './workload.js';

/** The namespace, the credentials, then one group per component in wave order (not yet numbered). */
export function coreGroups(model: CloudModel, secretValue: (name: string) => string): RenderedGroup[] {
  const { ctx } = model;
  const ns = ctx.namespace;
  const inp: RenderInputs = { ctx, bundles: model.bundles, secrets: model.secrets, secretValue };
  const groups: RenderedGroup[] = [];
  const meta = (name: string, labels: Record<string, string> = baseLabels(ctx)) => ({ name, namespace: ns, labels });

  // 1. The namespace and what every pod relies on.
  const namespaceObjects: KubeObject[] = [
    Namespace({
      metadata: {
        name: ns,
        labels: {
          ...baseLabels(ctx),
          // Compute agents (libvirt, Open vSwitch) are privileged host-network pods.
          'pod-security.kubernetes.io/enforce': 'privileged',
          'pod-security.kubernetes.io/warn': 'baseline',
        },
      },
    }),
  ];
  const services = [...new Set([...model.components.values()].map((c) => serviceAccountName(c)))].sort();
  for (const sa of services)
    namespaceObjects.push(ServiceAccount({ metadata: meta(sa), automountServiceAccountToken: false }));
  for (const c of model.components.values()) {
    if (!c.rbac?.length) continue;
    namespaceObjects.push(
      Role({ metadata: meta(c.id), rules: c.rbac }),
      RoleBinding({
        metadata: meta(c.id),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: c.id },
        subjects: [{ kind: 'ServiceAccount', name: serviceAccountName(c), namespace: ns }],
      }),
    );
  }
  const policies = new Map(networkPolicies(model).map((p) => [p.metadata!.name!, p]));
  namespaceObjects.push(policies.get('default-deny')!, policies.get('allow-dns')!);
  groups.push({ name: 'namespace', objects: namespaceObjects });

  // 2. Credentials (only shown with --show-secrets; `osk apply` creates them when absent).
  const secretObjects: KubeObject[] = [];
  const byK8s = new Map<string, { key: string; value: string }[]>();
  for (const d of model.secrets.values()) {
    const list = byK8s.get(d.k8sSecret) ?? [];
    list.push({ key: d.key, value: secretValue(d.name) });
    byK8s.set(d.k8sSecret, list);
  }
  for (const [name, entries] of [...byK8s].sort(([a], [b]) => byName(a, b))) {
    secretObjects.push(
      Secret({
        metadata: { ...meta(name), annotations: { [CREDENTIAL_ANNOTATION]: 'true' } },
        type: 'Opaque',
        stringData: Object.fromEntries(entries.sort((a, b) => byName(a.key, b.key)).map((e) => [e.key, e.value])),
      }),
    );
  }
  for (const b of [...model.bundles.values()].sort((a, z) => byName(a.name, z.name))) {
    const data = secretPartsOf(b);
    if (Object.keys(data).length)
      secretObjects.push(Secret({ metadata: meta(configSecretName(b.name)), type: 'Opaque', stringData: data }));
  }
  groups.push({ name: 'secrets', objects: secretObjects });

  // 3. Components in plan order; a config bundle goes with the first component mounting it.
  const placedBundles = new Set<string>();
  model.waves.forEach((wave, w) => {
    for (const id of wave) {
      const c = model.components.get(id)!;
      const objects: KubeObject[] = [];
      for (const b of c.configs ?? []) {
        if (placedBundles.has(b)) continue;
        placedBundles.add(b);
        const data = publicPartsOf(model.bundles.get(b)!);
        if (Object.keys(data).length) objects.push(ConfigMap({ metadata: meta(configMapName(b)), data }));
      }
      objects.push(...componentObjects(model, c, inp));
      const np = policies.get(c.id);
      if (np) objects.push(np);
      groups.push({ name: c.id, component: c.id, wave: w, objects });
    }
  });
  return groups;
}

function publicPartsOf(b: ConfigBundleDef): Record<string, string> {
  const data: Record<string, string> = {};
  for (const f of b.files) {
    if ('ini' in f) data[f.name] = f.ini.renderPublic(f.dialect);
    else if (!f.secret) data[f.name] = f.text;
  }
  return data;
}

function secretPartsOf(b: ConfigBundleDef): Record<string, string> {
  const data: Record<string, string> = {};
  for (const f of b.files) {
    if ('ini' in f) {
      if (f.ini.hasSecrets()) data[secretPartKey(f.name)] = f.ini.renderSecrets(f.dialect);
    } else if (f.secret) data[f.name] = f.text;
  }
  return data;
}

/** The names and labels every object of one component carries. */
interface Placement {
  ns: string;
  labels: Record<string, string>;
  selector: Record<string, string>;
}

function componentObjects(model: CloudModel, c: ComponentDef, inp: RenderInputs): KubeObject[] {
  const { ctx } = model;
  const at: Placement = { ns: ctx.namespace, labels: labelsFor(ctx, c), selector: selectorFor(ctx, c) };
  const out: KubeObject[] = [];
  const { template } = podTemplate(c, inp);

  if (c.volumeClaim && c.workload === 'Deployment') {
    out.push(
      PersistentVolumeClaim({
        metadata: { name: `${c.id}-${c.volumeClaim.name}`, namespace: at.ns, labels: at.labels },
        spec: claimSpec(c.volumeClaim),
      }),
    );
  }
  out.push(workloadObject(c, template, at));
  // With endpoints.nodePorts a public API's Service is a NodePort on its fixed port.
  const publicNodePort = c.publicHost ? ctx.publicNodePort(c.publicHost) : undefined;
  if (c.service_)
    out.push(...serviceObjects(c, publicNodePort ? { ...c.service_, nodePort: publicNodePort } : c.service_, at));
  if (ctx.ha && c.settings.replicas > 1 && (c.workload === 'Deployment' || c.workload === 'StatefulSet')) {
    out.push(
      PodDisruptionBudget({
        metadata: { name: c.id, namespace: at.ns, labels: at.labels },
        spec: { maxUnavailable: 1, selector: { matchLabels: at.selector } },
      }),
    );
  }
  const ingress = ingressOf(model, c, at);
  if (ingress) out.push(ingress);
  for (const sc of c.storageClasses ?? []) {
    out.push(
      StorageClass({
        metadata: { name: sc.name, labels: baseLabels(ctx) },
        provisioner: 'cinder.csi.openstack.org',
        parameters: { type: sc.volumeType },
        allowVolumeExpansion: true,
        reclaimPolicy: 'Delete',
        volumeBindingMode: 'WaitForFirstConsumer',
      }),
    );
  }
  return out;
}

function claimSpec(vc: VolumeClaimDef): IPersistentVolumeClaimSpec {
  return {
    accessModes: ['ReadWriteOnce'],
    resources: { requests: { storage: vc.size } },
    ...(vc.storageClass ? { storageClassName: vc.storageClass } : {}),
  };
}

/** The Deployment, StatefulSet, DaemonSet or Job that runs the component's pods. */
function workloadObject(c: ComponentDef, template: IPodTemplateSpec, at: Placement): KubeObject {
  const { ns, labels, selector } = at;
  const replicas = c.settings.replicas;
  switch (c.workload) {
    case 'Deployment':
      return Deployment({
        metadata: { name: c.id, namespace: ns, labels },
        spec: {
          replicas,
          revisionHistoryLimit: 5,
          selector: { matchLabels: selector },
          // A ReadWriteOnce claim cannot be mounted by the new pod while the old one holds it.
          strategy: c.volumeClaim
            ? { type: 'Recreate' }
            : { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
          template,
        },
      });
    case 'StatefulSet':
      return StatefulSet({
        metadata: { name: c.id, namespace: ns, labels },
        spec: {
          replicas,
          serviceName: `${c.id}-headless`,
          podManagementPolicy: c.startTogether ? 'Parallel' : 'OrderedReady',
          selector: { matchLabels: selector },
          updateStrategy: { type: 'RollingUpdate' },
          persistentVolumeClaimRetentionPolicy: { whenDeleted: 'Retain', whenScaled: 'Retain' },
          template,
          ...(c.volumeClaim
            ? {
                volumeClaimTemplates: [
                  { metadata: { name: c.volumeClaim.name, labels }, spec: claimSpec(c.volumeClaim) },
                ],
              }
            : {}),
        },
      });
    case 'DaemonSet':
      return DaemonSet({
        metadata: { name: c.id, namespace: ns, labels },
        spec: {
          selector: { matchLabels: selector },
          updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } },
          template,
        },
      });
    case 'Job':
      return Job({
        metadata: { name: jobName(c, template), namespace: ns, labels },
        spec: { backoffLimit: c.backoffLimit ?? 6, completions: 1, parallelism: 1, template },
      });
  }
}

const servicePorts = (ports: PortDef[]) =>
  ports.map((p) => ({ name: p.name, port: p.port, targetPort: p.port, protocol: p.protocol ?? 'TCP' }));

/** The component's Service, and the headless one its peers find each other by. */
function serviceObjects(c: ComponentDef, svc: NonNullable<ComponentDef['service_']>, at: Placement): KubeObject[] {
  const { ns, labels, selector } = at;
  const ports = servicePorts(svc.ports);
  const nodePort = svc.nodePort;
  const out: KubeObject[] = [
    Service({
      metadata: { name: c.id, namespace: ns, labels },
      spec: {
        type: nodePort ? 'NodePort' : 'ClusterIP',
        selector,
        ports: typeof nodePort === 'number' ? ports.map((p) => ({ ...p, nodePort })) : ports,
      },
    }),
  ];
  if (c.workload === 'StatefulSet' || svc.headless) {
    out.push(
      Service({
        metadata: { name: `${c.id}-headless`, namespace: ns, labels },
        // Peers must resolve each other before they are ready (cluster formation).
        spec: {
          clusterIP: 'None',
          publishNotReadyAddresses: true,
          selector,
          ports: servicePorts(c.ports ?? svc.ports),
        },
      }),
    );
  }
  return out;
}

/** The Ingress of a component with a public host, when the cloud has a public domain. */
function ingressOf({ ctx }: CloudModel, c: ComponentDef, at: Placement): Ingress | undefined {
  const domain = ctx.spec.endpoints?.publicDomain;
  if (!domain || !c.publicHost || !c.publicPort) return undefined;
  const host = `${c.publicHost}.${domain}`;
  const tls = ctx.spec.endpoints?.tls;
  return Ingress({
    metadata: {
      name: c.id,
      namespace: at.ns,
      labels: at.labels,
      ...(tls?.enabled && tls.issuer ? { annotations: { 'cert-manager.io/cluster-issuer': tls.issuer } } : {}),
    },
    spec: {
      ...(ctx.spec.endpoints?.ingressClassName ? { ingressClassName: ctx.spec.endpoints.ingressClassName } : {}),
      ...(tls?.enabled ? { tls: [{ hosts: [host], secretName: tls.secretName ?? `${c.id}-tls` }] } : {}),
      rules: [
        {
          host,
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: c.id, port: { number: c.publicPort } } } },
            ],
          },
        },
      ],
    },
  });
}
