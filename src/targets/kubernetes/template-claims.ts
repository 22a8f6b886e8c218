/**
 * The components' claims, begun as soon as the namespace exists: the rendered ones, and the
 * PersistentVolumeClaims a StatefulSet's controller makes from its volumeClaimTemplates, made
 * exactly as it makes them (k8s.io/kubernetes pkg/controller/statefulset, stateful_set_utils.go
 * getPersistentVolumeClaims: the template, named `<template>-<set>-<ordinal>`, its labels with
 * the set's selector labels over them) before the set exists.
 *
 * Why (issue 13): the controller creates a pod's claim just before the pod, and osk applied a
 * rendered claim beside its Deployment. With a class that binds at once (volumeBindingMode
 * Immediate) the scheduler then met the pod before the volume controller had bound its claim,
 * found "pod has unbound immediate PersistentVolumeClaims", and tried again only after its
 * backoff: bench:apply measured 0.6–1.3 s from mariadb-0's creation to its binding to a node, on
 * the first step of the critical path (a loaded 2-core VM). A claim made at the start of the
 * apply is bound long before its pod exists (a provisioner that provisions at once starts at once
 * too). The controller finds the claim there and uses it as if it had made it; a class that
 * waits for the first consumer binds it when the pod is scheduled, as before.
 */
import { applyObject, type Applied, type Known } from './apply-object.js';
import { FIELD_MANAGER, isClaim, refLabel, refOf } from './inventory.js';
import type { KubeApi } from './kube-api.js';
import type { KubeObject, RenderedGroup } from './objects.js';

interface ClaimTemplate {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
}

interface StatefulSetLike extends KubeObject {
  spec?: {
    replicas?: number;
    ordinals?: { start?: number };
    selector?: { matchLabels?: Record<string, string> };
    volumeClaimTemplates?: ClaimTemplate[];
  };
}

/** The claims of every pod `set` will have (ordinals start … start + replicas − 1); none for other kinds. */
export function templateClaims(set: KubeObject): KubeObject[] {
  if (set.kind !== 'StatefulSet' || set.apiVersion !== 'apps/v1') return [];
  const spec = (set as StatefulSetLike).spec ?? {};
  const { name, namespace } = set.metadata ?? {};
  // Rendered sets always name their namespace; a claim is made only where the set will be.
  if (!name || !namespace) return [];
  // The API server defaults replicas to 1 and the first ordinal to 0.
  const replicas = spec.replicas ?? 1;
  const start = spec.ordinals?.start ?? 0;
  const selector = spec.selector?.matchLabels ?? {};
  const out: KubeObject[] = [];
  for (let ordinal = start; ordinal < start + replicas; ordinal++) {
    for (const t of spec.volumeClaimTemplates ?? []) {
      if (!t.metadata?.name) continue;
      out.push({
        apiVersion: 'v1',
        kind: 'PersistentVolumeClaim',
        metadata: {
          name: `${t.metadata.name}-${name}-${ordinal}`,
          namespace,
          labels: { ...t.metadata.labels, ...selector },
          ...(t.metadata.annotations ? { annotations: { ...t.metadata.annotations } } : {}),
        },
        spec: structuredClone(t.spec ?? {}),
      } as KubeObject);
    }
  }
  return out;
}

export interface EarlyClaims {
  /** A component's rendered claim → its apply, begun early (applyObject's answer). */
  rendered: Map<KubeObject, Promise<number | undefined>>;
  /** A StatefulSet → the claims of its templates being made ahead of its controller. */
  made: Map<KubeObject, Promise<unknown>>;
}

/**
 * Every claim of the components, begun now (the namespace exists): the rendered ones applied as
 * any object, those of the StatefulSets' templates made. A claim needs nothing but the namespace.
 * Each component's step awaits its own: a rendered claim that cannot be applied fails its
 * component, and holds back its dependants, as when it was applied with it.
 */
export function beginClaims(api: KubeApi, res: Applied, groups: RenderedGroup[], known: Known = {}): EarlyClaims {
  const out: EarlyClaims = { rendered: new Map(), made: new Map() };
  for (const obj of groups.flatMap((g) => g.objects)) {
    if (isClaim(refOf(obj))) {
      const applying = applyObject(api, res, obj, known);
      // Its step awaits it; a step that never runs (a dependency failed) must not leave it unhandled.
      applying.catch(() => undefined);
      out.rendered.set(obj, applying);
    }
    const making = templateClaims(obj).map((c) => createClaim(api, c));
    if (!making.length) continue;
    out.made.set(obj, Promise.all(making));
  }
  return out;
}

/**
 * A StatefulSet's claim, made before the set; left as it is when it exists. Its controller stays
 * in charge: whatever keeps osk from making the claim (RBAC, a quota) it meets again when it
 * makes it itself, and says so in the set's events, which a component that does not get ready
 * shows.
 */
async function createClaim(api: KubeApi, claim: KubeObject): Promise<void> {
  const ref = refOf(claim);
  await api
    .request('POST', `/api/v1/namespaces/${ref.namespace}/persistentvolumeclaims`, {
      body: claim,
      ok: [409],
      query: { fieldManager: FIELD_MANAGER },
      what: `create ${refLabel(ref)}`,
    })
    .catch(() => undefined);
}
