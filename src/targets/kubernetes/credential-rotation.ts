/**
 * Keystone credential key rotation on Kubernetes: a CronJob that runs Keystone's own
 * `credential_migrate` / `credential_rotate` on a scratch copy of the keystone-credential-keys
 * Secret and saves the rotated set with one update (credential-rotation-script.ts says why a run
 * that stops anywhere loses nothing). It needs the database, so its pod reads keystone.conf
 * and its database credentials like keystone-db-sync and may reach what keystone-db-sync
 * reaches (the database), plus the API server; its Role may only get and update that one
 * Secret. It never sees the token keys.
 *
 * After creation the cluster owns the key Secret: `osk apply` never overwrites it and takes
 * rotated keys back into the secret store (credentials.ts), like the fernet keys.
 */
import type { IPodSpec } from 'kubernetes-models/v1';
import type { INetworkPolicyEgressRule } from 'kubernetes-models/networking.k8s.io/v1';
import type { ComponentDef } from '../../catalog/types.js';
import { cronOf, everySeconds } from '../../config/key-rotation.js';
import type { CloudModel } from '../../plan/model.js';
import type { KubernetesAddOn } from './add-on.js';
import { CREDENTIAL_ROTATE_SCRIPT } from './credential-rotation-script.js';
import { scheduledJob } from './cron-job.js';
import { type CronJob, NetworkPolicy, type Role, type RoleBinding, type ServiceAccount } from './k8s.js';
import { baseLabels, selectorFor } from './labels.js';
import { oneSecretAccess } from './secret-access.js';
import { podTemplate } from './workload.js';

export const CREDENTIAL_ROTATION_NAME = 'keystone-credential-rotation';

/** keystone-manage and the configuration every keystone Job reads (the image's paths). */
const KEYSTONE_MANAGE = [
  'keystone-manage',
  '--config-file',
  '/etc/keystone/keystone.conf',
  '--config-dir',
  '/etc/keystone/keystone.conf.d',
];

/** Keystone's credential key rotation: a CronJob with the database and the credential key Secret only. */
export const credentialRotationAddOn: KubernetesAddOn = {
  group: CREDENTIAL_ROTATION_NAME,
  objects: credentialRotationObjects,
};

type RotationObject = ServiceAccount | Role | RoleBinding | CronJob | NetworkPolicy;

function credentialRotationObjects(model: CloudModel): RotationObject[] {
  const { ctx } = model;
  const settings = ctx.spec.services?.keystone?.credentialKeyRotation;
  const sync = model.components.get('keystone-db-sync');
  if (!model.components.has('keystone-api') || !sync || settings?.enabled === false) return [];
  const every = settings?.every ?? '7d';
  const schedule = cronOf(every);
  if (!schedule) throw new Error(`${every} has no cron schedule (crossFieldProblems should have refused it)`);
  const secret = credentialSecret(model);
  const rotation: ComponentDef = { ...sync, id: CREDENTIAL_ROTATION_NAME, part: 'credential-rotation' };
  const selector = selectorFor(ctx, rotation);
  const labels = { ...baseLabels(ctx), 'app.kubernetes.io/name': 'keystone', ...selector };
  const meta = { name: CREDENTIAL_ROTATION_NAME, namespace: ctx.namespace, labels };
  const template = podTemplate(rotation, {
    ctx,
    bundles: model.bundles,
    secrets: model.secrets,
    // The pod mounts keystone's config bundle only; no credential is passed to it by value.
    secretValue: (name) => {
      throw new Error(`catalog bug: the credential rotation pod asked for the value of ${name}`);
    },
  }).template;
  return [
    ...oneSecretAccess(meta, secret),
    ...networkPolicies(model, sync, selector, meta),
    scheduledJob({
      metadata: meta,
      labels,
      schedule,
      backoffLimit: 3,
      activeDeadlineSeconds: 1800,
      template: {
        metadata: { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } },
        spec: rotationPodSpec(template.spec!, secret, everySeconds(every)),
      },
    }),
  ];
}

/** The one Secret whose keys rotate with a migration (the catalog marks its entries). */
function credentialSecret(model: CloudModel): string {
  const names = [
    ...new Set([...model.secrets.values()].filter((d) => d.rotates === 'credential').map((d) => d.k8sSecret)),
  ];
  if (names.length !== 1)
    throw new Error(`catalog bug: the credential key rotation expects one Secret, found ${names.join(', ') || 'none'}`);
  return names[0]!;
}

/** keystone-db-sync's pod (image, config mounts, placement) running the rotation script. */
function rotationPodSpec(spec: IPodSpec, secret: string, everySec: number): IPodSpec {
  const [container] = spec.containers;
  return {
    ...spec,
    serviceAccountName: CREDENTIAL_ROTATION_NAME,
    automountServiceAccountToken: true,
    restartPolicy: 'Never',
    securityContext: {
      runAsUser: 42424,
      runAsGroup: 42424,
      fsGroup: 42424,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    // The scratch copy of the repository lives in memory, never on a node's disk.
    volumes: [...(spec.volumes ?? []), { name: 'scratch', emptyDir: { medium: 'Memory', sizeLimit: '16Mi' } }],
    containers: [
      {
        ...container!,
        name: 'rotate',
        command: ['python3', '-c', CREDENTIAL_ROTATE_SCRIPT, ...KEYSTONE_MANAGE],
        env: [
          { name: 'SECRET_NAME', value: secret },
          { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          // A rotation younger than this is only migrated (a retried Job never rotates twice).
          { name: 'MIN_AGE_SECONDS', value: String(Math.floor(everySec / 2)) },
          { name: 'TMPDIR', value: '/tmp' },
        ],
        volumeMounts: [...(container!.volumeMounts ?? []), { name: 'scratch', mountPath: '/tmp' }],
        securityContext: {
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          capabilities: { drop: ['ALL'] },
          runAsNonRoot: true,
        },
      },
    ],
  };
}

/**
 * The namespace denies all traffic by default: the pod may reach the API server and what
 * keystone-db-sync reaches (the database), and those accept it.
 */
function networkPolicies(
  model: CloudModel,
  sync: ComponentDef,
  selector: Record<string, string>,
  meta: { name: string; namespace: string; labels: Record<string, string> },
): NetworkPolicy[] {
  const { ctx, components } = model;
  const targets = new Map<string, number[]>();
  for (const e of model.edges)
    if (e.from === sync.id && e.port !== undefined) targets.set(e.to, [...(targets.get(e.to) ?? []), e.port]);
  const ports = (id: string) =>
    [...new Set(targets.get(id))].sort((a, b) => a - b).map((port) => ({ protocol: 'TCP' as const, port }));
  const toDatabase: INetworkPolicyEgressRule[] = [...targets.keys()].sort().map((id) => ({
    to: [{ podSelector: { matchLabels: selectorFor(ctx, components.get(id)!) } }],
    ports: ports(id),
  }));
  const apiServer: INetworkPolicyEgressRule = {
    to: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }],
    ports: [
      { protocol: 'TCP', port: 443 },
      { protocol: 'TCP', port: 6443 },
    ],
  };
  return [
    NetworkPolicy({
      metadata: meta,
      spec: { podSelector: { matchLabels: selector }, policyTypes: ['Egress'], egress: [apiServer, ...toDatabase] },
    }),
    ...[...targets.keys()].sort().map((id) =>
      NetworkPolicy({
        metadata: { ...meta, name: `${CREDENTIAL_ROTATION_NAME}-to-${id}` },
        spec: {
          podSelector: { matchLabels: selectorFor(ctx, components.get(id)!) },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ podSelector: { matchLabels: selector } }], ports: ports(id) }],
        },
      }),
    ),
  ];
}
