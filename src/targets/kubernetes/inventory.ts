/**
 * What osk applied (an inventory ConfigMap in the cloud's namespace) and what an apply would
 * therefore delete: the objects an earlier apply made that this one no longer renders. One plan
 * serves `osk apply` (which carries it out) and `osk diff` (which shows it), so diff never hides
 * a deletion apply would make.
 *
 * A PersistentVolumeClaim is data. Whether it was rendered as an object (glance-api-images, the
 * backup claim) or made by a StatefulSet from its volumeClaimTemplates (data-mariadb-0), it is
 * deleted only when asked (--prune-volumes); otherwise it stays in the inventory as a kept claim,
 * so the next apply still reports it and --prune-volumes can still find it.
 */
import { OskError } from '../../errors.js';
import type { KubeApi } from './kube-api.js';
import { COMPONENT_LABEL } from './labels.js';
import type { KubeObject } from './objects.js';

export const FIELD_MANAGER = 'osk';
export const INVENTORY = 'osk-inventory';

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

export const refKey = (r: ObjectRef) => `${r.apiVersion}/${r.kind}/${r.namespace ?? ''}/${r.name}`;
export const refLabel = (r: ObjectRef) => `${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`;

export function refOf(o: KubeObject): ObjectRef {
  const m = o.metadata ?? {};
  return { apiVersion: o.apiVersion, kind: o.kind, ...(m.namespace ? { namespace: m.namespace } : {}), name: m.name! };
}

export const isClaim = (r: ObjectRef) => r.kind === 'PersistentVolumeClaim' && r.apiVersion === 'v1';

export async function readInventory(api: KubeApi, ns: string): Promise<ObjectRef[]> {
  const r = await api.request<{ data?: { objects?: string } }>(
    'GET',
    `/api/v1/namespaces/${ns}/configmaps/${INVENTORY}`,
    { ok: [404] },
  );
  if (r.status === 404 || !r.body.data?.objects) return [];
  try {
    return JSON.parse(r.body.data.objects) as ObjectRef[];
  } catch {
    throw new OskError(`the inventory ConfigMap ${ns}/${INVENTORY} is not readable JSON`, {
      hint: 'it lists what osk applied; restore it or delete it (then prune will not remove objects of earlier applies)',
    });
  }
}

/**
 * Whether `next` names an object `previous` does not: only then must the inventory be written
 * before the objects (what an interrupted apply may have made must be in it already).
 */
export function inventoryGrows(previous: ObjectRef[], next: ObjectRef[]): boolean {
  const known = new Set(previous.map(refKey));
  return next.some((r) => !known.has(refKey(r)));
}

export async function writeInventory(api: KubeApi, ns: string, cloud: string, refs: ObjectRef[]): Promise<void> {
  const unique = [...new Map(refs.map((r) => [refKey(r), r])).values()];
  const sorted = unique.sort((a, b) => refKey(a).localeCompare(refKey(b)));
  const cm = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: INVENTORY,
      namespace: ns,
      labels: { 'app.kubernetes.io/managed-by': 'osk', 'osk.dev/cloud': cloud },
    },
    data: { objects: JSON.stringify(sorted, null, 1) },
  };
  await api.request('PATCH', `/api/v1/namespaces/${ns}/configmaps/${INVENTORY}`, {
    body: cm,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force: 'true' },
    what: `apply ConfigMap ${ns}/${INVENTORY}`,
  });
}

interface PrunePlan {
  /** To delete, in this order; claims among them only with --prune-volumes. */
  remove: ObjectRef[];
  /** Claims no longer rendered (or of a removed StatefulSet) that stay, because they hold data. */
  keptClaims: ObjectRef[];
}

/**
 * Claims a rendered StatefulSet makes from its templates (`<template>-<set>-<ordinal>`): in use
 * by the cloud as rendered, so never pruned even when an older inventory lists them as kept.
 */
function templateClaimMatcher(rendered: KubeObject[]): (r: ObjectRef) => boolean {
  const patterns: { ns: string | undefined; prefix: string }[] = [];
  for (const o of rendered) {
    if (o.kind !== 'StatefulSet') continue;
    const spec = (o as { spec?: { volumeClaimTemplates?: { metadata?: { name?: string } }[] } }).spec;
    for (const t of spec?.volumeClaimTemplates ?? [])
      if (t.metadata?.name)
        patterns.push({ ns: o.metadata?.namespace, prefix: `${t.metadata.name}-${o.metadata?.name}-` });
  }
  return (r) =>
    patterns.some(
      (p) => p.ns === r.namespace && r.name.startsWith(p.prefix) && /^\d+$/.test(r.name.slice(p.prefix.length)),
    );
}

/** What apply deletes: earlier objects no longer rendered; claims only when volumes are pruned too. */
export async function planPrune(
  api: KubeApi,
  previous: ObjectRef[],
  rendered: KubeObject[],
  current: ObjectRef[],
  pruneVolumes: boolean,
): Promise<PrunePlan> {
  const keep = new Set(current.map(refKey));
  const inUse = templateClaimMatcher(rendered);
  const remove: ObjectRef[] = [];
  const claims = new Map<string, ObjectRef>();
  for (const r of previous) {
    if (keep.has(refKey(r))) continue;
    if (isClaim(r)) {
      if (!inUse(r)) claims.set(refKey(r), r);
      continue;
    }
    remove.push(r);
    if (r.kind === 'StatefulSet' && r.namespace) {
      // Its template claims carry the set's component label (the templates' labels).
      const listed = await api.request<{ items: { metadata: { name: string } }[] }>(
        'GET',
        `/api/v1/namespaces/${r.namespace}/persistentvolumeclaims`,
        {
          ok: [404],
          query: { labelSelector: `${COMPONENT_LABEL}=${r.name}` },
          what: `list PersistentVolumeClaims of StatefulSet ${r.namespace}/${r.name}`,
        },
      );
      for (const c of listed.status === 404 ? [] : listed.body.items) {
        const ref: ObjectRef = {
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          namespace: r.namespace,
          name: c.metadata.name,
        };
        if (!inUse(ref)) claims.set(refKey(ref), ref);
      }
    }
  }
  // A claim deleted by hand since is no longer worth a line.
  const existing: ObjectRef[] = [];
  for (const c of claims.values()) {
    const got = await api.request('GET', `/api/v1/namespaces/${c.namespace}/persistentvolumeclaims/${c.name}`, {
      ok: [404],
      what: `get ${refLabel(c)}`,
    });
    if (got.status !== 404) existing.push(c);
  }
  return pruneVolumes ? { remove: [...remove, ...existing], keptClaims: [] } : { remove, keptClaims: existing };
}

/** The line apply and diff print for kept claims: which, and how to delete them. */
export function keptClaimsMessage(kept: ObjectRef[]): string {
  const byNs = new Map<string, string[]>();
  for (const c of kept) byNs.set(c.namespace ?? '', [...(byNs.get(c.namespace ?? '') ?? []), c.name]);
  const how = [...byNs].map(([ns, names]) => `kubectl delete pvc -n ${ns} ${names.join(' ')}`).join('; ');
  return `kept ${kept.length} PersistentVolumeClaim${kept.length === 1 ? '' : 's'} no longer in the cloud file (data): ${kept.map(refLabel).join(', ')}; to delete ${kept.length === 1 ? 'it' : 'them'}: osk apply --prune-volumes, or ${how}`;
}
