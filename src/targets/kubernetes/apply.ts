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
  FIELD_MANAGER,
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
import { WorkloadWatch, type Live } from './workload-watch.js';
import { checkExternalSecrets } from './external-secrets.js';
import { COMPONENT_LABEL } from './labels.js';
import { CREDENTIAL_ANNOTATION, type KubeObject, type RenderedGroup } from './objects.js';

const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

interface ApplyOptions {
  reporter: Reporter;
  timeoutSeconds: number;
  prune: boolean;
  pruneVolumes: boolean;
}

export interface ApplyResult extends RunResult {
  created: string[];
  changed: string[];
  unchanged: string[];
  /** Credential Secrets that existed and were left as they are. */
  keptSecrets: string[];
  /** Jobs that had failed, deleted and created again so that they run again. */
  rerun: string[];
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

  const applyOne = (obj: KubeObject) => applyObject(api, res, obj);
  const ensureNamespace = groups.find((g) => g.name.endsWith('-namespace'));
  const secretsGroup = groups.find((g) => g.name.endsWith('-secrets') && !g.component);
  const current = all.map(refOf);
  const inventory = [...new Map([...previous, ...current].map((r) => [refKey(r), r])).values()];
  await applyFoundation(api, model, ensureNamespace, secretsGroup, inventory, applyOne, res, o.reporter).catch(
    (e: unknown) => {
      watch.close();
      throw e;
    },
  );

  const byComponent = new Map(groups.filter((g) => g.component).map((g) => [g.component!, g]));
  const { ids, deps } = componentGraph(model, (id) => byComponent.has(id));
  const runOne = async (id: string) => {
    const g = byComponent.get(id)!;
    o.reporter.begin(id, 'applying');
    res.startedAt.set(id, Date.now() - t0);
    try {
      const applying = g.objects.map((obj) => applyObject(api, res, obj, watch));
      const workload = g.objects.findIndex((obj) => WORKLOADS.has(obj.kind));
      void (workload >= 0 ? applying[workload]! : Promise.all(applying)).then(
        () => res.appliedAt.set(id, Date.now() - t0),
        () => undefined,
      );
      const generations = await Promise.all(applying);
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
  if (r.failed.size === 0) {
    await Promise.all(
      rest.map(async (g) => {
        const id = g.name.replace(/^\d+-/, '');
        o.reporter.begin(id, `${g.objects.length} objects`);
        await Promise.all(g.objects.map(applyOne));
        o.reporter.done(id, 'completed');
      }),
    );
  }
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

/**
 * The namespace, then the inventory (old ∪ new) before anything in it, so an interrupted apply
 * still knows what it may have made; then the namespace's accounts and policies beside the
 * Secrets, which need nothing but the namespace.
 */
async function applyFoundation(
  api: KubeApi,
  model: CloudModel,
  namespaceGroup: RenderedGroup | undefined,
  secretsGroup: RenderedGroup | undefined,
  inventory: ObjectRef[],
  applyOne: (obj: KubeObject) => Promise<unknown>,
  res: ApplyResult,
  reporter: Reporter,
): Promise<void> {
  const ns = model.ctx.namespace;
  const [nsObj, ...nsRest] = namespaceGroup?.objects ?? [];
  if (namespaceGroup) reporter.begin('namespace', `namespace ${ns}, service accounts, policies`);
  if (nsObj) await applyOne(nsObj);
  await writeInventory(api, ns, model.ctx.name, inventory);
  const accounts = async () => {
    await Promise.all(nsRest.map(applyOne));
    reporter.done('namespace', 'completed');
  };
  const secrets = async (group: RenderedGroup) => {
    reporter.begin('secrets', `${group.objects.length} Secrets`);
    await Promise.all(group.objects.map(applyOne));
    reporter.done('secrets', 'completed', `${res.keptSecrets.length} credentials kept as they are`);
  };
  await Promise.all([namespaceGroup && accounts(), secretsGroup && secrets(secretsGroup)]);
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

/** True when a Job has finished as failed (the condition the Job controller sets). */
function jobFailed(job: Live): boolean {
  const conds = ((job as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ??
    []) as { type: string; status: string }[];
  return conds.some((c) => c.type === 'Failed' && c.status === 'True');
}

/**
 * Server-side apply of one object, recorded in `res` as created, changed or unchanged; the
 * generation the apiserver gave it (none for a credential, which is only ever created).
 * `watch`: the cloud's workloads as last written, read instead of a GET of the workload's own.
 */
async function applyObject(
  api: KubeApi,
  res: ApplyResult,
  obj: KubeObject,
  watch?: WorkloadWatch,
): Promise<number | undefined> {
  const ref = refOf(obj);
  const label = refLabel(ref);
  const path = await api.path(ref.apiVersion, ref.kind, ref.namespace, ref.name);
  if (ref.kind === 'Secret' && obj.metadata?.annotations?.[CREDENTIAL_ANNOTATION]) {
    // Credentials: create when absent, never overwrite (a re-render must not rotate anything).
    const collection = await api.path(ref.apiVersion, ref.kind, ref.namespace);
    const r = await api.request('POST', collection, {
      body: obj,
      ok: [409],
      query: { fieldManager: FIELD_MANAGER },
      what: `create ${label}`,
    });
    (r.status === 409 ? res.keptSecrets : res.created).push(label);
    return undefined;
  }
  // A workload's state before the apply, to say whether it changed and to find a failed Job: from
  // the watch, which the apply needs anyway. A GET of its own put one more round trip between a
  // dependency becoming ready and the workload reaching the controllers, on every step of the
  // critical path (issue 13, a loaded 2-core VM: a GET took 52 ms at the median, 145 ms at p90,
  // of the 100–350 ms from a step's start to its workload existing).
  // Not watched, or the watch is being listed again: the apiserver's own answer.
  const watched = watch && WORKLOADS.has(ref.kind) && ref.namespace === watch.ns;
  const seen = watched ? await watch.current(ref.kind, ref.name) : 'stale';
  let before: { status: number; body?: Live };
  if (seen === 'stale') before = await api.request<Live>('GET', path, { ok: [404], what: `get ${label}` });
  else before = seen.live ? { status: 200, body: seen.live } : { status: 404 };
  if (ref.kind === 'Job' && before.body && jobFailed(before.body)) {
    // A Job is named by the hash of its spec, so a failed one would otherwise stay failed for
    // good, whatever was fixed outside it (an image, a database, a Secret): this apply runs it
    // again. Background: the Job goes now, its pods follow.
    await api.request('DELETE', path, {
      ok: [404],
      query: { propagationPolicy: 'Background' },
      what: `delete the failed ${label} to run it again`,
    });
    res.rerun.push(label);
    before = { ...before, status: 404 };
  }
  const after = await api.request<Live>('PATCH', path, {
    body: obj,
    contentType: 'application/apply-patch+yaml',
    query: { fieldManager: FIELD_MANAGER, force: 'true', fieldValidation: 'Strict' },
    what: `apply ${label}`,
  });
  // 201: this apply created it (whatever a watch may not have seen yet).
  if (after.status === 201 || before.status === 404) {
    if (!res.rerun.includes(label)) res.created.push(label);
  } else if (before.body?.metadata?.resourceVersion === after.body.metadata?.resourceVersion) res.unchanged.push(label);
  else res.changed.push(label);
  return after.body.metadata?.generation;
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
