/**
 * Keystone fernet key rotation on Kubernetes: a CronJob that rotates the keys inside the
 * keystone-fernet-keys Secret through the API server, with a ServiceAccount whose Role can only
 * get and update that one Secret. The keystone pods mount the Secret as a volume; the kubelet
 * swaps the volume's content atomically (a symlink flip) when the Secret changes, and Keystone
 * reads the repository on every token operation, so no pod restarts.
 *
 * The rotation follows config/key-rotation.ts (dense keys: 0 staged, n-1 primary). The script is
 * constant: the Secret, namespace and key count reach it as environment variables only. The
 * update carries the resourceVersion it read, so two rotations can never interleave (the loser
 * gets 409 and fails; the next schedule rotates again).
 *
 * After creation the cluster owns the key Secret: `osk apply` never overwrites it and takes
 * rotated keys back into the secret store (targets/kubernetes/credentials.ts), so the store stays
 * a backup of what runs.
 */
import type { IPodSpec } from 'kubernetes-models/v1';
import { cronOf } from '../../config/key-rotation.js';
import type { CloudModel } from '../../plan/model.js';
import { scheduledJob } from './cron-job.js';
import type { KubernetesAddOn } from './add-on.js';
import { baseLabels } from './labels.js';
import { type CronJob, NetworkPolicy, type Role, type RoleBinding, type ServiceAccount } from './k8s.js';
import { oneSecretAccess, SECRET_API_PY } from './secret-access.js';

export const KEY_ROTATION_NAME = 'keystone-key-rotation';

/**
 * The rotation, in Python (the keystone image has it; no other tool is needed). Reads its
 * settings from the environment; the service account token and CA from their mounted files.
 */
export const ROTATE_SCRIPT = `
import base64, json, os, ssl, sys, urllib.request, urllib.error
from datetime import datetime, timezone

${SECRET_API_PY}
max_keys = int(os.environ["MAX_ACTIVE_KEYS"])

if max_keys < 3:
    sys.exit("MAX_ACTIVE_KEYS must be at least 3, found %d" % max_keys)
obj = call("GET")
data = obj.get("data") or {}
if not data or not all(k.isdigit() for k in data) or sorted(int(k) for k in data) != list(range(len(data))):
    sys.exit("Secret %s/%s does not hold a key repository 0..n-1: keys %s" % (ns, secret, sorted(data)))
keys = [data[str(i)] for i in range(len(data))]
if len(keys) < 2:
    sys.exit("a key repository holds at least a staged and a primary key, found %d" % len(keys))
staged, validating = keys[0], keys[1:]
new = base64.b64encode(base64.urlsafe_b64encode(os.urandom(32))).decode()
rotated = [new] + validating[-(max_keys - 2):] + [staged]
obj["data"] = {str(i): k for i, k in enumerate(rotated)}
obj.setdefault("metadata", {}).setdefault("annotations", {})["osk.dev/keys-rotated-at"] = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
call("PUT", obj)
print("rotated %s/%s: %d keys (staged key is now primary)" % (ns, secret, len(rotated)))
`;

/** Keystone's fernet key rotation: a CronJob with access to the key Secret only. */
export const keyRotationAddOn: KubernetesAddOn = { group: 'keystone-key-rotation', objects: keyRotationObjects };

/** The objects of the rotation, or none when it is switched off or tokens are not fernet. */
function keyRotationObjects(model: CloudModel): (ServiceAccount | Role | RoleBinding | CronJob | NetworkPolicy)[] {
  const { ctx } = model;
  const ks = ctx.spec.services?.keystone;
  if (!model.components.has('keystone-api') || ks?.keyRotation?.enabled === false || ks?.token?.provider === 'jws')
    return [];
  const secret = rotatedSecret(model);
  const every = ks?.keyRotation?.every ?? '24h';
  const schedule = cronOf(every);
  if (!schedule) throw new Error(`${every} has no cron schedule (crossFieldProblems should have refused it)`);
  const ns = ctx.namespace;
  // Pods are selected by the narrow set; every object carries the cloud's labels too.
  const selector = {
    'app.kubernetes.io/name': 'keystone',
    'app.kubernetes.io/component': KEY_ROTATION_NAME,
    'app.kubernetes.io/instance': ctx.name,
  };
  const labels = { ...baseLabels(ctx), ...selector };
  const meta = { name: KEY_ROTATION_NAME, namespace: ns, labels };
  return [
    ...oneSecretAccess(meta, secret),
    // The namespace denies all traffic by default; this pod talks to the API server only.
    NetworkPolicy({
      metadata: meta,
      spec: {
        podSelector: { matchLabels: selector },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }],
            ports: [
              { protocol: 'TCP', port: 443 },
              { protocol: 'TCP', port: 6443 },
            ],
          },
        ],
      },
    }),
    scheduledJob({
      metadata: meta,
      labels,
      schedule,
      backoffLimit: 3,
      activeDeadlineSeconds: 600,
      template: { metadata: { labels }, spec: rotationPodSpec(model, secret) },
    }),
  ];
}

/** The one Secret whose keys rotate (the catalog marks its entries). */
function rotatedSecret(model: CloudModel): string {
  const rotated = [...model.secrets.values()].filter((d) => d.rotates === 'fernet');
  const secretNames = [...new Set(rotated.map((d) => d.k8sSecret))];
  if (secretNames.length !== 1)
    throw new Error(
      `catalog bug: the key rotation expects one rotated Secret, found ${secretNames.join(', ') || 'none'}`,
    );
  return secretNames[0]!;
}

/** The rotation's pod: the keystone image running the script, placed like keystone, as an unprivileged user. */
function rotationPodSpec({ ctx, components }: CloudModel, secret: string): IPodSpec {
  const ks = ctx.spec.services?.keystone;
  const keystone = components.get('keystone-api')!;
  return {
    serviceAccountName: KEY_ROTATION_NAME,
    automountServiceAccountToken: true,
    enableServiceLinks: false,
    restartPolicy: 'Never',
    securityContext: {
      runAsUser: 42424,
      runAsGroup: 42424,
      runAsNonRoot: true,
      seccompProfile: { type: 'RuntimeDefault' },
    },
    ...(Object.keys(keystone.settings.nodeSelector).length ? { nodeSelector: keystone.settings.nodeSelector } : {}),
    ...(keystone.settings.tolerations.length ? { tolerations: keystone.settings.tolerations } : {}),
    ...(ctx.spec.images?.pullSecrets?.length
      ? { imagePullSecrets: ctx.spec.images.pullSecrets.map((n) => ({ name: n })) }
      : {}),
    containers: [
      {
        name: 'rotate',
        image: ctx.imageRef('keystone'),
        imagePullPolicy: ctx.spec.images?.pullPolicy ?? 'IfNotPresent',
        command: ['python3', '-c', ROTATE_SCRIPT],
        env: [
          { name: 'SECRET_NAME', value: secret },
          { name: 'NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
          { name: 'MAX_ACTIVE_KEYS', value: String(ks?.token?.maxActiveKeys ?? 3) },
        ],
        resources: { requests: { cpu: '10m', memory: '32Mi' }, limits: { memory: '128Mi' } },
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
