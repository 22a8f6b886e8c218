/**
 * The other verbs on a Kubernetes-hosted cloud: status (per component: ready/desired, image,
 * age, what it waits for), diff (server-side dry-run against what runs), destroy (dependants
 * first; volumes kept unless purged).
 */
import type { CloudModel } from '../../plan/model.js';
import { FIELD_MANAGER, INVENTORY, readInventory, refOf, type ObjectRef } from './apply.js';
import type { KubeApi } from './kube-api.js';
import { sleep } from './kube-api.js';
import { workloadReadiness } from './readiness.js';
import { COMPONENT_LABEL } from './labels.js';
import { CREDENTIAL_ANNOTATION, type RenderedGroup } from './render.js';

const WORKLOADS = ['Deployment', 'StatefulSet', 'DaemonSet', 'Job'];

export interface ComponentState {
  component: string;
  kind: string;
  ready: boolean;
  state: string;
  image?: string;
  ageSeconds?: number;
  /** Components this one waits for that are not ready. */
  blockedBy: string[];
}

type Live = { metadata: { name: string; creationTimestamp?: string; labels?: Record<string, string>; generation?: number }; spec?: Record<string, unknown> & { template?: { spec?: { containers?: { image?: string }[] } } }; status?: Record<string, unknown> };

export async function kubeStatus(model: CloudModel, groups: RenderedGroup[], api: KubeApi): Promise<ComponentState[]> {
  const ns = model.ctx.namespace;
  const live = new Map<string, Live>();
  await Promise.all(
    WORKLOADS.map(async (kind) => {
      const path = await api.path(kind === 'Job' ? 'batch/v1' : 'apps/v1', kind, ns);
      const r = await api.request<{ items: Live[] }>('GET', path, { query: { labelSelector: `app.kubernetes.io/instance=${model.ctx.name}` }, ok: [404] });
      // By component, not by name: a Job's name carries the hash of its inputs, and status must
      // not need the secret store to find it. The newest object of a component wins.
      for (const o of r.status === 404 ? [] : r.body.items) {
        const key = `${kind}/${o.metadata.labels?.[COMPONENT_LABEL] ?? o.metadata.name}`;
        const seen = live.get(key);
        if (!seen || String(o.metadata.creationTimestamp) > String(seen.metadata.creationTimestamp)) live.set(key, o);
      }
    }),
  );
  const states: ComponentState[] = [];
  for (const g of groups) {
    if (!g.component) continue;
    const w = g.objects.find((o) => WORKLOADS.includes(o.kind));
    if (!w) continue;
    const o = live.get(`${w.kind}/${g.component}`);
    const r = o ? workloadReadiness(w.kind, o) : { ready: false, summary: 'absent' };
    states.push({
      component: g.component,
      kind: w.kind,
      ready: r.ready,
      state: r.summary,
      ...(o?.spec?.template?.spec?.containers?.[0]?.image ? { image: o.spec.template.spec.containers[0].image } : {}),
      ...(o?.metadata.creationTimestamp ? { ageSeconds: Math.floor((Date.now() - Date.parse(o.metadata.creationTimestamp)) / 1000) } : {}),
      blockedBy: [],
    });
  }
  const ready = new Map(states.map((s) => [s.component, s.ready]));
  for (const s of states) {
    s.blockedBy = model.edges.filter((e) => e.from === s.component && e.kind === 'needs' && ready.get(e.to) === false).map((e) => e.to);
    s.blockedBy = [...new Set(s.blockedBy)];
  }
  return states;
}

export function kubeStatusTable(states: ComponentState[]): string {
  const rows = [['COMPONENT', 'KIND', 'READY', 'STATE', 'AGE', 'IMAGE', 'BLOCKED BY']];
  for (const s of states) rows.push([s.component, s.kind, s.ready ? 'yes' : 'no', s.state, s.ageSeconds !== undefined ? `${Math.floor(s.ageSeconds / 60)}m` : '', s.image ?? '', s.blockedBy.join(',')]);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

/** Fields the server owns, left out of a diff. */
function comparable(o: unknown): unknown {
  const x = JSON.parse(JSON.stringify(o ?? {})) as { metadata?: Record<string, unknown>; status?: unknown };
  delete x.status;
  if (x.metadata) for (const k of ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink']) delete x.metadata[k];
  if (x.metadata?.annotations && Object.keys(x.metadata.annotations as object).length === 0) delete x.metadata.annotations;
  return x;
}

export interface DiffEntry {
  object: string;
  change: 'create' | 'update';
  /** Changed top-level paths, e.g. spec.template.spec.containers. */
  paths: string[];
}

/** Server-side dry-run of every object against what the cluster has. */
export async function kubeDiff(groups: RenderedGroup[], api: KubeApi): Promise<DiffEntry[]> {
  const out: DiffEntry[] = [];
  for (const obj of groups.flatMap((g) => g.objects)) {
    const ref = refOf(obj);
    const label = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    const path = await api.path(ref.apiVersion, ref.kind, ref.namespace, ref.name).catch(() => undefined);
    if (!path) continue; // a kind the cluster does not serve: apply skips it too (and says so)
    const before = await api.request('GET', path, { ok: [404] });
    if (before.status === 404) {
      out.push({ object: label, change: 'create', paths: [] });
      continue;
    }
    if (ref.kind === 'Secret' && obj.metadata?.annotations?.[CREDENTIAL_ANNOTATION]) continue; // never overwritten
    const after = await api.request('PATCH', path, { body: obj.toJSON(), contentType: 'application/apply-patch+yaml', query: { fieldManager: FIELD_MANAGER, force: 'true', dryRun: 'All' } });
    const paths = changedPaths(comparable(before.body), comparable(after.body));
    if (paths.length) out.push({ object: label, change: 'update', paths });
  }
  return out;
}

export function changedPaths(a: unknown, b: unknown, prefix = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || Array.isArray(a) || Array.isArray(b) || prefix.split('.').length > 4) return [prefix || '(root)'];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].flatMap((k) => changedPaths((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], prefix ? `${prefix}.${k}` : k));
}

export function diffText(d: DiffEntry[]): string {
  if (d.length === 0) return 'no changes\n';
  return d.map((e) => `${e.change === 'create' ? '+' : '~'} ${e.object}${e.paths.length ? `: ${e.paths.join(', ')}` : ''}`).join('\n') + `\n${d.length} object${d.length === 1 ? '' : 's'} would change\n`;
}

/** Delete the cloud's objects, dependants first; claims and the namespace only with purge. */
export async function kubeDestroy(model: CloudModel, api: KubeApi, opts: { purge: boolean; log: (l: string) => void }): Promise<string[]> {
  const ns = model.ctx.namespace;
  const inventory = await readInventory(api, ns);
  const order = new Map(model.waves.flat().map((id, i) => [id, i]));
  const rank = (r: ObjectRef) => {
    // Workloads of later waves first; Secrets, config and namespace-level objects last.
    const comp = [...order.keys()].find((id) => r.name === id || r.name.startsWith(`${id}-`));
    if (r.kind === 'Namespace') return -3;
    if (r.kind === 'Secret' || r.kind === 'ConfigMap' || r.kind === 'ServiceAccount' || r.kind === 'NetworkPolicy') return -2;
    return comp !== undefined ? order.get(comp)! : -1;
  };
  const refs = inventory.filter((r) => r.kind !== 'Namespace').sort((a, b) => rank(b) - rank(a));
  const deleted: string[] = [];
  for (const r of refs) {
    const path = await api.path(r.apiVersion, r.kind, r.namespace, r.name).catch(() => undefined);
    if (!path) continue;
    // Foreground for workloads, so their pods go before what they use; everything else at once
    // (a foreground delete leaves even a Secret behind a finalizer until the collector runs).
    const d = await api.request('DELETE', path, { ok: [404], query: { propagationPolicy: WORKLOADS.includes(r.kind) ? 'Foreground' : 'Background' } });
    if (d.status !== 404) deleted.push(`${r.kind} ${r.namespace ? `${r.namespace}/` : ''}${r.name}`);
  }
  // Wait until the workloads are gone, so their pods no longer hold the claims.
  for (const r of refs.filter((x) => WORKLOADS.includes(x.kind))) {
    const path = await api.path(r.apiVersion, r.kind, r.namespace, r.name);
    for (let i = 0; i < 120 && (await api.request('GET', path, { ok: [404] })).status !== 404; i++) await sleep(500);
  }
  await api.request('DELETE', `/api/v1/namespaces/${ns}/configmaps/${INVENTORY}`, { ok: [404] });
  if (opts.purge) {
    // Every claim of the namespace (StatefulSet claims carry no labels of ours), then the
    // namespace; wait until they are really gone (the protection finalizer holds them while a
    // pod still uses them).
    const claimsPath = `/api/v1/namespaces/${ns}/persistentvolumeclaims`;
    const claims = await api.request<{ items: { metadata: { name: string } }[] }>('GET', claimsPath, { ok: [404] });
    for (const c of claims.status === 404 ? [] : claims.body.items) {
      await api.request('DELETE', `${claimsPath}/${c.metadata.name}`, { ok: [404] });
      deleted.push(`PersistentVolumeClaim ${ns}/${c.metadata.name}`);
    }
    for (let i = 0; i < 240; i++) {
      const left = await api.request<{ items: unknown[] }>('GET', claimsPath, { ok: [404] });
      if (left.status === 404 || left.body.items.length === 0) break;
      await sleep(500);
    }
    const n = await api.request('DELETE', `/api/v1/namespaces/${ns}`, { ok: [404] });
    if (n.status !== 404) deleted.push(`Namespace ${ns}`);
  } else {
    opts.log(`kept namespace ${ns} and its PersistentVolumeClaims (data); --purge deletes them too`);
  }
  return deleted;
}

