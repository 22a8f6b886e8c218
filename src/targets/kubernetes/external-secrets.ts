/**
 * Secrets a cloud file names but osk does not make (the Ceph client key of
 * `spec.storage.ceph.keyringSecret`, created by the user or by rook): `osk apply` checks that
 * they exist before it changes anything. Without this, the pods that mount one wait in
 * ContainerCreating ("secret not found") and apply times out minutes later on a component that
 * only looks slow.
 */
import type { CloudModel } from '../../plan/model.js';
import { OskError } from '../../errors.js';
import type { KubeApi } from './kube-api.js';
import type { RenderedGroup } from './objects.js';

/** Secret name → the components that mount it, for every mounted Secret the render does not hold. */
export function externalSecrets(model: CloudModel, groups: readonly RenderedGroup[]): Map<string, string[]> {
  const rendered = new Set(
    groups.flatMap((g) => g.objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata?.name)),
  );
  const needed = new Map<string, string[]>();
  for (const c of model.components.values())
    for (const f of c.secretFiles ?? [])
      if (!rendered.has(f.k8sSecret)) needed.set(f.k8sSecret, [...(needed.get(f.k8sSecret) ?? []), c.id]);
  return needed;
}

/** Throws, naming each missing Secret and who needs it, when any is absent from the namespace. */
export async function checkExternalSecrets(
  api: KubeApi,
  model: CloudModel,
  groups: readonly RenderedGroup[],
): Promise<void> {
  const ns = model.ctx.namespace;
  const missing: string[] = [];
  for (const [name, users] of externalSecrets(model, groups)) {
    const r = await api.request('GET', await api.path('v1', 'Secret', ns, name), {
      ok: [404],
      what: `get Secret ${ns}/${name}`,
    });
    if (r.status === 404) missing.push(`Secret ${ns}/${name} (mounted by ${users.join(', ')})`);
  }
  if (missing.length)
    throw new OskError(`the cloud file needs ${missing.join(' and ')}, which does not exist; nothing was changed`, {
      hint: `create it first, e.g. kubectl create namespace ${ns}; kubectl -n ${ns} create secret generic NAME --from-literal=key=<the cephx key> (spec.storage.ceph.keyringSecret names the Ceph one)`,
    });
}
