/**
 * The other verbs on a Kubernetes-hosted cloud: status (per component: ready/desired, image,
 * age, what it waits for), diff (server-side dry-run against what runs), destroy (dependants
 * first; volumes kept unless purged).
 */
import type { CloudModel } from '../../plan/model.js';
import { unservedKinds } from './apply.js';
import {
  FIELD_MANAGER,
  INVENTORY,
  isClaim,
  planPrune,
  readInventory,
  refLabel,
  refOf,
  type ObjectRef,
} from './inventory.js';
import type { KubeApi } from './kube-api.js';
import { sleep } from './kube-api.js';
import { explainPodList, listNodes, workloadReadiness, type Pod } from './readiness.js';
import { COMPONENT_LABEL } from './labels.js';
import { CREDENTIAL_ANNOTATION, type RenderedGroup } from './objects.js';

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];

interface ComponentState {
  component: string;
  kind: string;
  ready: boolean;
  state: string;
  image?: string;
  ageSeconds?: number;
  /** Components this one waits for that are not ready. */
  blockedBy: string[];
  /** Why it is not ready, in full: the nodes it needs and how many have them, a waiting container, a failed Job. */
  reason?: string;
}

type Live = {
  metadata: { name: string; creationTimestamp?: string; labels?: Record<string, string>; generation?: number };
  spec?: Record<string, unknown> & { template?: { spec?: { containers?: { image?: string }[] } } };
  status?: Record<string, unknown>;
};

export async function kubeStatus(model: CloudModel, groups: RenderedGroup[], api: KubeApi): Promise<ComponentState[]> {
  const ns = model.ctx.namespace;
  const live = new Map<string, Live>();
  await Promise.all(
    WORKLOADS.map(async (kind) => {
      const path = await api.path(kind === 'Job' ? 'batch/v1' : 'apps/v1', kind, ns);
      const r = await api.request<{ items: Live[] }>('GET', path, {
        query: { labelSelector: `app.kubernetes.io/instance=${model.ctx.name}` },
        ok: [404],
      });
      // By component, not by name: a Job's name carries the hash of its inputs, and status must
      // not need the secret store to find it. The newest object of a component wins.
      for (const o of r.status === 404 ? [] : r.body.items) {
        const key = `${kind}/${o.metadata.labels?.[COMPONENT_LABEL] ?? o.metadata.name}`;
        const seen = live.get(key);
        if (!seen || String(o.metadata.creationTimestamp) > String(seen.metadata.creationTimestamp)) live.set(key, o);
      }
    }),
  );
  // One LIST of nodes and one of pods serve every component's reason.
  const [nodes, podList] = await Promise.all([
    listNodes(api),
    api.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${ns}/pods`, {
      query: { labelSelector: `app.kubernetes.io/instance=${model.ctx.name}` },
      ok: [404],
    }),
  ]);
  const podsOf = new Map<string, Pod[]>();
  for (const p of podList.status === 404 ? [] : podList.body.items) {
    const id = p.metadata.labels?.[COMPONENT_LABEL];
    if (id) podsOf.set(id, [...(podsOf.get(id) ?? []), p]);
  }
  const states: ComponentState[] = [];
  for (const g of groups) {
    if (!g.component) continue;
    const w = g.objects.find((o) => WORKLOADS.includes(o.kind));
    if (!w) continue;
    const o = live.get(`${w.kind}/${g.component}`);
    // A Job's pods too, so that status agrees with apply about a Job whose pod succeeded.
    const jobPods = w.kind === 'Job' ? (podsOf.get(g.component) ?? []) : undefined;
    const r = o ? workloadReadiness(w.kind, o, nodes, jobPods) : { ready: false, summary: 'absent' };
    const reason = r.ready
      ? undefined
      : (r.reason ?? (o && !r.failed ? explainPodList(podsOf.get(g.component) ?? [], nodes) : undefined));
    states.push({
      component: g.component,
      kind: w.kind,
      ready: r.ready,
      state: r.summary,
      ...(o?.spec?.template?.spec?.containers?.[0]?.image ? { image: o.spec.template.spec.containers[0].image } : {}),
      ...(o?.metadata.creationTimestamp
        ? { ageSeconds: Math.floor((Date.now() - Date.parse(o.metadata.creationTimestamp)) / 1000) }
        : {}),
      blockedBy: [],
      ...(reason ? { reason } : {}),
    });
  }
  const ready = new Map(states.map((s) => [s.component, s.ready]));
  for (const s of states) {
    s.blockedBy = model.edges
      .filter((e) => e.from === s.component && e.kind === 'needs' && ready.get(e.to) === false)
      .map((e) => e.to);
    s.blockedBy = [...new Set(s.blockedBy)];
    if (!s.ready && !s.reason)
      s.reason = s.blockedBy.length
        ? `not applied: waits for ${s.blockedBy.join(', ')}`
        : s.state === 'absent'
          ? 'not applied yet (osk apply)'
          : s.state;
  }
  return states;
}

export function kubeStatusTable(states: ComponentState[]): string {
  const rows = [['COMPONENT', 'KIND', 'READY', 'STATE', 'AGE', 'IMAGE', 'BLOCKED BY']];
  for (const s of states)
    rows.push([
      s.component,
      s.kind,
      s.ready ? 'yes' : 'no',
      s.state,
      s.ageSeconds !== undefined ? `${Math.floor(s.ageSeconds / 60)}m` : '',
      s.image ?? '',
      s.blockedBy.join(','),
    ]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = `${rows.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
  // Reasons are long (the nodes a pod needs, the scheduler's words): in full, below the table.
  const why = states.filter((s) => !s.ready && s.reason).map((s) => `  ${s.component}: ${s.reason}`);
  return why.length ? `${table}\nnot ready:\n${why.join('\n')}\n` : table;
}

/** Fields the server owns, left out of a diff. */
function comparable(o: unknown): unknown {
  const x = JSON.parse(JSON.stringify(o ?? {})) as { metadata?: Record<string, unknown>; status?: unknown };
  delete x.status;
  if (x.metadata)
    for (const k of ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'])
      delete x.metadata[k];
  if (x.metadata?.annotations && Object.keys(x.metadata.annotations as object).length === 0)
    delete x.metadata.annotations;
  return x;
}

interface DiffEntry {
  object: string;
  /** keep: a claim apply would leave in place although it is no longer rendered (data). */
  change: 'create' | 'update' | 'delete' | 'keep';
  /** Changed top-level paths, e.g. spec.template.spec.containers. */
  paths: string[];
  /** Why (for keep: how to have it deleted). */
  note?: string;
}

interface DiffOptions {
  /** As apply's --no-prune: false shows no deletions, because apply would make none. */
  prune: boolean;
  pruneVolumes: boolean;
}

/**
 * Server-side dry-run of every object against what the cluster has, and every deletion apply
 * would make: the objects an earlier apply made that are no longer rendered (the same plan apply
 * carries out), with the claims it keeps listed as kept.
 */
export async function kubeDiff(
  model: CloudModel,
  groups: RenderedGroup[],
  api: KubeApi,
  o: DiffOptions = { prune: true, pruneVolumes: false },
): Promise<DiffEntry[]> {
  const out: DiffEntry[] = [];
  const unserved = await unservedKinds(api, groups);
  const rendered = groups.flatMap((g) => g.objects).filter((x) => !unserved.has(`${x.apiVersion} ${x.kind}`));
  for (const obj of rendered) {
    const ref = refOf(obj);
    const label = refLabel(ref);
    const path = await api.path(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    const before = await api.request('GET', path, { ok: [404] });
    if (before.status === 404) {
      out.push({ object: label, change: 'create', paths: [] });
      continue;
    }
    if (ref.kind === 'Secret' && obj.metadata?.annotations?.[CREDENTIAL_ANNOTATION]) continue; // never overwritten
    const after = await api.request('PATCH', path, {
      body: obj,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: FIELD_MANAGER, force: 'true', dryRun: 'All' },
    });
    const paths = changedPaths(comparable(before.body), comparable(after.body));
    if (paths.length) out.push({ object: label, change: 'update', paths });
  }
  if (o.prune) {
    const previous = await readInventory(api, model.ctx.namespace);
    const plan = await planPrune(api, previous, rendered, rendered.map(refOf), o.pruneVolumes);
    for (const r of plan.remove) {
      // A kind the cluster no longer serves cannot be deleted (apply skips it the same way).
      if (!(await api.path(r.apiVersion, r.kind, r.namespace, r.name).catch(() => undefined))) continue;
      out.push({
        object: refLabel(r),
        change: 'delete',
        paths: [],
        ...(isClaim(r) ? { note: 'data: deleted because of --prune-volumes' } : {}),
      });
    }
    for (const r of plan.keptClaims)
      out.push({ object: refLabel(r), change: 'keep', paths: [], note: 'kept (use --prune-volumes)' });
  }
  return out;
}

/** Whether apply would change anything (kept claims are not a change). */
export const diffChanges = (d: DiffEntry[]) => d.filter((e) => e.change !== 'keep');

function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (
    typeof a !== 'object' ||
    typeof b !== 'object' ||
    a === null ||
    b === null ||
    Array.isArray(a) ||
    Array.isArray(b) ||
    prefix.split('.').length > 4
  )
    return [prefix || '(root)'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) =>
    changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k),
  );
}

const MARK = { create: '+', update: '~', delete: '-', keep: '=' } as const;

export function diffText(d: DiffEntry[]): string {
  const lines = d.map(
    (e) =>
      `${MARK[e.change]} ${e.object}${e.paths.length ? `: ${e.paths.join(', ')}` : ''}${e.note ? ` (${e.note})` : ''}`,
  );
  const n = diffChanges(d).length;
  const deletions = d.filter((e) => e.change === 'delete').length;
  const kept = d.length - n;
  const tail = `${n ? `${n} object${n === 1 ? '' : 's'} would change${deletions ? ` (${deletions} deleted)` : ''}` : 'no changes'}${kept ? `; ${kept} claim${kept === 1 ? '' : 's'} kept` : ''}\n`;
  return lines.length ? `${lines.join('\n')}\n${tail}` : tail;
}

/**
 * Delete the cloud's objects, dependants first. Claims (rendered ones such as glance-api-images
 * and the backup claim, and those StatefulSets made from templates) and the namespace only with
 * purge: a claim is data.
 */
export async function kubeDestroy(
  model: CloudModel,
  api: KubeApi,
  opts: { purge: boolean; log: (l: string) => void },
): Promise<string[]> {
  const ns = model.ctx.namespace;
  const inventory = await readInventory(api, ns);
  const order = new Map(model.waves.flat().map((id, i) => [id, i]));
  const rank = (r: ObjectRef) => {
    // Workloads of later waves first; Secrets, config and namespace-level objects last.
    const comp = [...order.keys()].find((id) => r.name === id || r.name.startsWith(`${id}-`));
    if (r.kind === 'Namespace') return -3;
    if (r.kind === 'Secret' || r.kind === 'ConfigMap' || r.kind === 'ServiceAccount' || r.kind === 'NetworkPolicy')
      return -2;
    return comp !== undefined ? order.get(comp)! : -1;
  };
  // Claims never go with the objects: with purge they go below, with every claim of the namespace.
  const refs = inventory.filter((r) => r.kind !== 'Namespace' && !isClaim(r)).sort((a, b) => rank(b) - rank(a));
  const deleted: string[] = [];
  for (const r of refs) {
    const path = await api.path(r.apiVersion, r.kind, r.namespace, r.name).catch(() => undefined);
    if (!path) continue;
    // Foreground for workloads, so their pods go before what they use; everything else at once
    // (a foreground delete leaves even a Secret behind a finalizer until the collector runs).
    const d = await api.request('DELETE', path, {
      ok: [404],
      query: { propagationPolicy: WORKLOADS.includes(r.kind) ? 'Foreground' : 'Background' },
    });
    if (d.status !== 404) deleted.push(refLabel(r));
  }
  // Wait until the workloads are gone, so their pods no longer hold the claims.
  for (const r of refs.filter((x) => WORKLOADS.includes(x.kind))) {
    const path = await api.path(r.apiVersion, r.kind, r.namespace, r.name);
    for (let i = 0; i < 120 && (await api.request('GET', path, { ok: [404] })).status !== 404; i++) await sleep(500);
  }
  const claimsPath = `/api/v1/namespaces/${ns}/persistentvolumeclaims`;
  const claims = await api.request<{ items: { metadata: { name: string } }[] }>('GET', claimsPath, { ok: [404] });
  const claimNames = (claims.status === 404 ? [] : claims.body.items.map((c) => c.metadata.name)).sort();
  if (opts.purge) {
    await api.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/${INVENTORY}`, { ok: [404] });
    // Every claim of the namespace (StatefulSet claims carry no labels of ours), then the
    // namespace; wait until they are really gone (the protection finalizer holds them while a
    // pod still uses them).
    for (const name of claimNames) {
      await api.request('DELETE', `${claimsPath}/${name}`, { ok: [404] });
      deleted.push(`PersistentVolumeClaim ${ns}/${name}`);
    }
    for (let i = 0; i < 240; i++) {
      const left = await api.request<{ items: unknown[] }>('GET', claimsPath, { ok: [404] });
      if (left.status === 404 || left.body.items.length === 0) break;
      await sleep(500);
    }
    const n = await api.request('DELETE', `/api/v1/namespaces/${ns}`, { ok: [404] });
    if (n.status !== 404) deleted.push(`Namespace ${ns}`);
  } else {
    await api.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/${INVENTORY}`, { ok: [404] });
    opts.log(
      claimNames.length
        ? `kept namespace ${ns} and its ${claimNames.length} PersistentVolumeClaim${claimNames.length === 1 ? '' : 's'} (data): ${claimNames.join(', ')}; osk destroy --purge deletes them and the namespace, or kubectl delete pvc -n ${ns} NAME one by one`
        : `kept namespace ${ns} (it holds no PersistentVolumeClaims); osk destroy --purge deletes it`,
    );
  }
  return deleted;
}
