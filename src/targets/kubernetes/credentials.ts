/**
 * The secret store and the cluster must agree on every credential: osk renders configs from the
 * store, and never overwrites a credential Secret that exists. So before anything is applied,
 * existing credential Secrets are compared with the store. A difference stops the apply with the
 * names (never the values); `--import-secrets` takes the cluster's values into the store instead,
 * which is how a lost or moved store is rebuilt from a running cloud.
 *
 * Keys the cloud rotates itself (SecretDef.rotates: Keystone's fernet and credential keys,
 * rotated by the keystone-key-rotation and keystone-credential-rotation CronJobs) are owned by
 * the cluster once their Secret exists: a difference is the expected result of a rotation, so
 * they are always taken into the store (never refused, never written back), and the store stays
 * a backup of the keys that run.
 */
import type { SecretStore } from '../../state/secret-store.js';
import { ExitCode, OskError } from '../../errors.js';
import type { CloudModel } from '../../plan/model.js';
import type { KubeApi } from './kube-api.js';

interface CredentialCheck {
  /** Store names whose cluster value differs. */
  differ: string[];
  /** Store names taken from the cluster (with import). */
  imported: string[];
  /** Rotated keys taken from the cluster (always: the cluster owns them). */
  rotated: string[];
}

export async function reconcileCredentials(
  model: CloudModel,
  store: SecretStore,
  api: KubeApi,
  opts: { import: boolean },
): Promise<CredentialCheck> {
  const ns = model.ctx.namespace;
  const out: CredentialCheck = { differ: [], imported: [], rotated: [] };
  const byK8s = new Map<string, { name: string; key: string; rotates: boolean }[]>();
  for (const d of model.secrets.values())
    byK8s.set(d.k8sSecret, [
      ...(byK8s.get(d.k8sSecret) ?? []),
      { name: d.name, key: d.key, rotates: Boolean(d.rotates) },
    ]);
  await Promise.all(
    [...byK8s].map(async ([secret, entries]) => {
      const r = await api.request<{ data?: Record<string, string> }>(
        'GET',
        `/api/v1/namespaces/${ns}/secrets/${secret}`,
        { ok: [404], what: `get Secret ${ns}/${secret}` },
      );
      if (r.status === 404) return;
      for (const e of entries) {
        const b64 = r.body.data?.[e.key];
        if (b64 === undefined) continue;
        const live = Buffer.from(b64, 'base64').toString('utf8');
        if (live === store.get(e.name)) continue;
        if (e.rotates) {
          store.adopt(e.name, live);
          out.rotated.push(e.name);
        } else if (opts.import) {
          store.adopt(e.name, live);
          out.imported.push(e.name);
        } else out.differ.push(`${e.name} (Secret ${secret}, key ${e.key})`);
      }
    }),
  );
  if (out.differ.length) {
    throw new OskError(
      `the cluster holds ${out.differ.length} credentials that differ from the secret store ${store.path || '(memory)'}; osk never overwrites credentials, and configs rendered from this store would not match them:\n  ${out.differ.sort().join('\n  ')}`,
      {
        exitCode: ExitCode.invalidInput,
        hint: "use the store this cloud was deployed with (--secrets-file), or take the cluster's values into this store with --import-secrets",
      },
    );
  }
  return out;
}
