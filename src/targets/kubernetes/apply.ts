/**
 * `osk apply`: the rendered cloud onto a Kubernetes API. Server-side apply with field manager
 * "osk"; the namespace first, then every component as soon as everything it needs is ready
 * (the plan's graph; independent components in parallel), each gated on real readiness of its
 * workload. Credential Secrets are only ever created, never overwritten. An inventory ConfigMap
 * records every object osk applied, so a component that leaves the cloud file is pruned, and an
 * interrupted apply still knows what it created.
 */
import type { Reporter } from '../../reporter.js';
import { runGraph, type RunResult } from '../../plan/graph-run.js';
import type { CloudModel } from '../../plan/model.js';
import { OskError } from '../../errors.js';
import { objectsNeedingCrds, skipMessage } from './monitoring/crds.js';
import type { KubeApi } from './kube-api.js';
import {
  inventoryGrows,
  keptClaimsMessage,
  planPrune,
  readInventory,
  refKey,
  refLabel,
  refOf,
  writeInventory,
  type ObjectRef,
} from './inventory.js';
import { explainPods, lastLogLines, warningEvents, workloadReadiness } from './readiness.js';
import { WorkloadWatch } from './workload-watch.js';
import { checkExternalSecrets } from './external-secrets.js';
import { COMPONENT_LABEL } from './labels.js';
import { beginClaims, type EarlyClaims } from './template-claims.js';
import { ListedBefore } from './listed-before.js';
import { applyObject, WORKLOADS, type Applied } from './apply-object.js';
import type { KubeObject, RenderedGroup } from './objects.js';

interface ApplyOptions {
  reporter: Reporter;
  timeoutSeconds: number;
  prune: boolean;
  pruneVolumes: boolean;
}

export interface ApplyResult extends RunResult, Applied {
  pruned: string[];
  /** Claims no longer rendered that stay (data): deleted only with pruneVolumes. */
  keptClaims: string[];
  /** "apiVersion Kind" of objects left out because the cluster does not serve the kind. */
  skipped: string[];
  /** Milliseconds from the start when each component began to be applied (bench:apply's gaps). */
  startedAt: Map<string, number>;
  /**
   * Milliseconds from the start when each component's workload was applied (from then on its
   * controllers have it), or all its objects when it has none.
   */
  appliedAt: Map<string, number>;
  /** Milliseconds from the start when each component became ready (the observed order). */
  readyAt: Map<string, number>;
}

function emptyResult(): ApplyResult {
  return {
    done: [],
    failed: new Map(),
    blocked: new Map(),
    created: [],
    changed: [],
    unchanged: [],
    keptSecrets: [],
    rerun: [],
    pruned: [],
    keptClaims: [],
    skipped: [],
    startedAt: new Map(),
    appliedAt: new Map(),
    readyAt: new Map(),
  };
}

export async function applyCloud(
  model: CloudModel,
  rendered: RenderedGroup[],
  api: KubeApi,
  o: ApplyOptions,
): Promise<ApplyResult> {
  const t0 = Date.now();
  const ns = model.ctx.namespace;
  const res = emptyResult();
  // Reads only, side by side: nothing is written before every check passed.
  const [served, previous] = await Promise.all([servedGroups(model, rendered, api, o), readInventory(api, ns)]);
  const groups = served.groups;
  res.skipped = served.skipped;
  await checkExternalSecrets(api, model, groups);
  const all = groups.flatMap((g) => g.objects);
  // The workloads and nodes are listed while the namespace and Secrets are applied, not when
  // the first component waits (at 1000 nodes the node list is large).
  const watch = new WorkloadWatch(api, ns, model.ctx.name);
  watch.prime(new Set(all.filter((x) => WORKLOADS.has(x.kind)).map((x) => x.kind)));
  // The other objects as they are now, listed meanwhile too (instead of a GET each).
  const listed = new ListedBefore(api, model.ctx.name);
  listed.prime(all.filter((x) => !WORKLOADS.has(x.kind)));

  const applyOne = (obj: KubeObject) => applyObject(api, res, obj, { listed });
  const ensureNamespace = groups.find((g) => g.name.endsWith('-namespace'));
  const secretsGroup = groups.find((g) => g.name.endsWith('-secrets') && !g.component);
  const current = all.map(refOf);
  const inventory = [...new Map([...previous, ...current].map((r) => [refKey(r), r])).values()];
  const foundation = { ensureNamespace, secretsGroup, groups, applyOne, listed, previous };
  const claims = await applyFoundation(api, model, foundation, inventory, res, o).catch((e: unknown) => {
    watch.close();
    throw e;
  });

  const byComponent = new Map(groups.filter((g) => g.component).map((g) => [g.component!, g]));
  const { ids, deps } = componentGraph(model, (id) => byComponent.has(id));
  const runOne = async (id: string) => {
    const g = byComponent.get(id)!;
    o.reporter.begin(id, 'applying');
    res.startedAt.set(id, Date.now() - t0);
    try {
      const applying = g.objects.map(
        (obj) => claims.rendered.get(obj) ?? applyObject(api, res, obj, { watch, listed }),
      );
      // The claims made ahead of a StatefulSet's controller: done before the step is.
      const made = g.objects.flatMap((obj) => claims.made.get(obj) ?? []);
      const workload = g.objects.findIndex((obj) => WORKLOADS.has(obj.kind));
      void (workload >= 0 ? applying[workload]! : Promise.all(applying)).then(
        () => res.appliedAt.set(id, Date.now() - t0),
        () => undefined,
      );
      const [generations] = await Promise.all([Promise.all(applying), Promise.all(made)]);
      const applied = new Map(g.objects.map((obj, i) => [refKey(refOf(obj)), generations[i]]));
      await waitReady(api, watch, id, ns, g.objects, applied, model.ctx.name, o);
      res.readyAt.set(id, Date.now() - t0);
      o.reporter.done(id, 'ready');
    } catch (e) {
      // Its first line as it happens; the whole of it (log lines, events) once, in apply's error.
      o.reporter.fail(id, (e as Error).message.split('\n')[0]!);
      throw e;
    }
  };
  const r = await runGraph(ids, deps, runOne).finally(() => watch.close());
  res.done = r.done;
  res.failed = r.failed;
  res.blocked = r.blocked;

  // Groups of no component (monitoring, dashboards, rotation and backup CronJobs): after the
  // cloud, side by side (none needs another).
  const rest = groups.filter((g) => !g.component && g !== ensureNamespace && g !== secretsGroup && g.objects.length);
  if (r.failed.size === 0) await applyRest(rest, applyOne, o.reporter);
  if (r.failed.size === 0) {
    if (o.prune)
      ({ pruned: res.pruned, keptClaims: res.keptClaims } = await prune(
        api,
        ns,
        model.ctx.name,
        previous,
        all,
        current,
        o.pruneVolumes,
        o.reporter,
      ));
    // Without pruning, the inventory stays what was written first (previous ∪ current): what left
    // the cloud file is still known, and the next apply that prunes removes it.
  }
  return res;
}

/** The groups of no component, side by side, each reported as one step. */
async function applyRest(
  rest: RenderedGroup[],
  applyOne: (obj: KubeObject) => Promise<unknown>,
  reporter: Reporter,
): Promise<void> {
  await Promise.all(
    rest.map(async (g) => {
      const id = g.name.replace(/^\d+-/, '');
      reporter.begin(id, `${g.objects.length} objects`);
      await Promise.all(g.objects.map(applyOne));
      reporter.done(id, 'completed');
    }),
  );
}

/**
 * The namespace, then the inventory (old ∪ new) before anything in it, so an interrupted apply
 * still knows what it may have made; then the namespace's accounts and policies beside the
 * Secrets, which need nothing but the namespace. The components' claims are begun then too
 * (template-claims.ts): returned for each component's step to await its own.
 */
async function applyFoundation(
  api: KubeApi,
  model: CloudModel,
  g: {
    ensureNamespace?: RenderedGroup | undefined;
    secretsGroup?: RenderedGroup | undefined;
    groups: RenderedGroup[];
    applyOne: (obj: KubeObject) => Promise<unknown>;
    listed: ListedBefore;
    /** The inventory as this apply found it. */
    previous: ObjectRef[];
  },
  inventory: ObjectRef[],
  res: ApplyResult,
  { reporter }: ApplyOptions,
): Promise<EarlyClaims> {
  const { ensureNamespace: namespaceGroup, secretsGroup, applyOne } = g;
  const ns = model.ctx.namespace;
  const [nsObj, ...nsRest] = namespaceGroup?.objects ?? [];
  if (namespaceGroup) reporter.begin('namespace', `namespace ${ns}, service accounts, policies`);
  // An inventory found means a namespace there before: what goes in it need not wait for the
  // namespace's apply. An inventory that would not grow is not written again. A re-apply that
  // adds nothing starts two round trips sooner.
  const applyingNs = nsObj ? applyOne(nsObj) : undefined;
  applyingNs?.catch(() => undefined); // awaited below; a failure must not go unhandled meanwhile
  if (!g.previous.length) await applyingNs;
  if (inventoryGrows(g.previous, inventory)) await writeInventory(api, ns, model.ctx.name, inventory);
  const components = g.groups.filter((x) => x.component);
  const claims = beginClaims(api, res, components, { listed: g.listed });
  const accounts = async () => {
    await Promise.all(nsRest.map(applyOne));
    reporter.done('namespace', 'completed');
  };
  const secrets = async (group: RenderedGroup) => {
    reporter.begin('secrets', `${group.objects.length} Secrets`);
    await Promise.all(group.objects.map(applyOne));
    reporter.done('secrets', 'completed', `${res.keptSecrets.length} credentials kept as they are`);
  };
  await Promise.all([applyingNs, namespaceGroup && accounts(), secretsGroup && secrets(secretsGroup)]);
  return claims;
}

/**
 * Before anything changes: every kind must be served. Kinds of optional add-ons (the
 * Prometheus Operator's CRDs) that the cluster lacks are skipped with one line; this also
 * surfaces a wrong server or missing rights before the first write. Returns the groups without
 * the objects of skipped kinds, and those kinds.
 */
async function servedGroups(
  model: CloudModel,
  rendered: RenderedGroup[],
  api: KubeApi,
  o: ApplyOptions,
): Promise<{ groups: RenderedGroup[]; skipped: string[] }> {
  let groups = rendered;
  let skipped: string[] = [];
  const unserved = await unservedKinds(api, rendered);
  const required = [
    ...(model.file.spec.monitoring?.required
      ? [{ group: 'monitoring.coreos.com', field: 'spec.monitoring.required', what: 'the Prometheus Operator' }]
      : []),
    ...(model.file.spec.backup?.required
      ? [{ group: 'velero.io', field: 'spec.backup.required', what: 'Velero' }]
      : []),
  ];
  for (const r of required) {
    const missing = [...unserved].filter((k) => k.split('/')[0] === r.group);
    if (missing.length) {
      throw new OskError(
        `the cloud file requires ${r.what} (${r.field}: true), but the cluster does not serve ${missing.join(', ')}; nothing was changed`,
        { hint: `install ${r.what}'s CRDs first, or set ${r.field}: false to deploy without those objects` },
      );
    }
  }
  if (unserved.size) {
    const kinds = [...unserved].sort();
    groups = rendered.map((g) => ({
      ...g,
      objects: g.objects.filter((x) => !unserved.has(`${x.apiVersion} ${x.kind}`)),
    }));
    skipped = kinds;
    const dropped = rendered.flatMap((g) => g.objects).filter((x) => unserved.has(`${x.apiVersion} ${x.kind}`));
    o.reporter.note(
      skipMessage(objectsNeedingCrds(dropped)) ??
        `skipped the objects of ${kinds.length} kinds this cluster does not serve: ${kinds.join(', ')} (install their CRDs, or turn the feature off in the cloud file)`,
    );
  }
  return { groups, skipped };
}

/** The components to apply, in wave order, each with the components it needs. */
function componentGraph(
  model: CloudModel,
  has: (id: string) => boolean,
): { ids: string[]; deps: Map<string, string[]> } {
  const ids = model.waves.flat().filter((id) => has(id));
  const deps = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const e of model.edges)
    if (e.kind === 'needs' && deps.has(e.from) && deps.has(e.to) && !deps.get(e.from)!.includes(e.to))
      deps.get(e.from)!.push(e.to);
  return { ids, deps };
}

async function waitReady(
  api: KubeApi,
  watch: WorkloadWatch,
  id: string,
  ns: string,
  objects: KubeObject[],
  /** refKey → the generation this apply gave the object: the watch may still hold an older one. */
  applied: Map<string, number | undefined>,
  cloud: string,
  o: ApplyOptions,
): Promise<void> {
  const workloads = objects.filter((x) => WORKLOADS.has(x.kind));
  const selector = `app.kubernetes.io/instance=${cloud},${COMPONENT_LABEL}=${id}`;
  const deadline = Date.now() + o.timeoutSeconds * 1000;
  let lastExplain = Date.now();
  let why = '';
  for (const w of workloads) {
    const ref = refOf(w);
    for (;;) {
      const seen = watch.seen;
      const { live, nodes, jobPods } = await watch.get(ref.kind, ref.name);
      const generation = applied.get(refKey(ref)) ?? 0;
      const r =
        live && (live.metadata?.generation ?? 0) >= generation
          ? workloadReadiness(ref.kind, live, nodes, jobPods)
          : { ready: false, summary: 'not seen yet as applied' };
      if (r.ready) break;
      if ('failed' in r && r.failed) {
        const logs = await lastLogLines(api, ns, selector).catch(() => undefined);
        const events = await warningEvents(api, ns, [ref.name]).catch(() => []);
        throw new OskError(
          `Job ${ref.name} failed: ${r.summary}${logs ? `\n    last log lines:\n${indent(logs)}` : ''}${events.length ? `\n    events:\n${indent(events.join('\n'))}` : ''}`,
        );
      }
      if (Date.now() - lastExplain > 5000 || Date.now() > deadline) {
        lastExplain = Date.now();
        const pods = await explainPods(api, ns, selector, nodes).catch(() => undefined);
        why = `${ref.kind} ${ref.name}: ${r.summary}${r.reason ? `: ${r.reason}` : ''}${pods && !(ref.kind === 'DaemonSet' && pods === 'no pods yet') ? `; ${pods}` : ''}`;
        o.reporter.waiting(id, why);
      }
      if (Date.now() > deadline) {
        const events = await warningEvents(api, ns, [ref.name]).catch(() => []);
        // A container that exits says why in its log (a traceback's last line is rarely the
        // last of the log: 30 lines).
        const logs = await lastLogLines(api, ns, selector, 30, true).catch(() => undefined);
        throw new OskError(
          `${id} is not ready after ${o.timeoutSeconds} s: ${why}${logs ? `\n    last log lines:\n${indent(logs)}` : ''}${events.length ? `\n    events:\n${indent(events.join('\n'))}` : ''}`,
        );
      }
      // The next change of any watched workload, or a look again within 2 s (explanations and
      // the deadline are checked on every pass).
      await watch.changed(seen, 2000);
    }
  }
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `      ${l}`)
    .join('\n');
}

/** "apiVersion Kind" of the rendered kinds the cluster does not serve (a missing CRD). */
export async function unservedKinds(api: KubeApi, groups: RenderedGroup[]): Promise<Set<string>> {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const o of groups.flatMap((g) => g.objects))
    kinds.set(`${o.apiVersion} ${o.kind}`, { apiVersion: o.apiVersion, kind: o.kind });
  const out = new Set<string>();
  await Promise.all(
    [...kinds].map(async ([key, k]) => (!(await api.serves(k.apiVersion, k.kind)) ? out.add(key) : undefined)),
  );
  return out;
}

// ---- prune ---------------------------------------------------------------------------------

/**
 * Delete what an earlier apply made and this one no longer renders (claims only with
 * --prune-volumes), then record the cloud as rendered plus the claims kept, so they are still
 * reported next time and --prune-volumes can still find them.
 */
async function prune(
  api: KubeApi,
  ns: string,
  cloud: string,
  previous: ObjectRef[],
  rendered: KubeObject[],
  current: ObjectRef[],
  volumes: boolean,
  reporter: Reporter,
): Promise<{ pruned: string[]; keptClaims: string[] }> {
  const plan = await planPrune(api, previous, rendered, current, volumes);
  const pruned: string[] = [];
  for (const r of plan.remove) {
    const path = await api.path(r.apiVersion, r.kind, r.namespace, r.name).catch(() => undefined);
    if (!path) continue;
    const d = await api.request('DELETE', path, {
      ok: [404],
      query: { propagationPolicy: 'Background' },
      what: `delete ${refLabel(r)}`,
    });
    if (d.status !== 404) pruned.push(refLabel(r));
  }
  // When nothing left the cloud file, the inventory written first (previous ∪ current) is already
  // what it would become: one request less at the end of every apply that only adds or changes.
  const keys = new Set(current.map(refKey));
  if (!previous.every((r) => keys.has(refKey(r))))
    await writeInventory(api, ns, cloud, [...current, ...plan.keptClaims]);
  if (pruned.length) reporter.note(`pruned ${pruned.length} objects no longer in the cloud file: ${pruned.join(', ')}`);
  if (plan.keptClaims.length) reporter.note(keptClaimsMessage(plan.keptClaims));
  return { pruned, keptClaims: plan.keptClaims.map(refLabel) };
}
