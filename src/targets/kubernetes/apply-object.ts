/**
 * One object onto the API the way `osk apply` applies it: server-side apply with field manager
 * "osk" (a credential Secret is only ever created), recorded as created, changed or unchanged.
 */
import { FIELD_MANAGER, refLabel, refOf } from './inventory.js';
import type { KubeApi } from './kube-api.js';
import { CREDENTIAL_ANNOTATION, type KubeObject } from './objects.js';
import type { ListedBefore } from './listed-before.js';
import type { Live, WorkloadWatch } from './workload-watch.js';

export const WORKLOADS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

/** What applying objects did to them, by label ("Kind namespace/name"). */
export interface Applied {
  created: string[];
  changed: string[];
  unchanged: string[];
  /** Credential Secrets that existed and were left as they are. */
  keptSecrets: string[];
  /** Jobs that had failed, deleted and created again so that they run again. */
  rerun: string[];
}

/** True when a Job has finished as failed (the condition the Job controller sets). */
function jobFailed(job: Live): boolean {
  const conds = ((job as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ??
    []) as { type: string; status: string }[];
  return conds.some((c) => c.type === 'Failed' && c.status === 'True');
}

/** What the apply knows of objects before it applies them, instead of asking with a GET. */
export interface Known {
  /** The cloud's workloads as last written. */
  watch?: WorkloadWatch | undefined;
  /** The cloud's other objects as the apply found them (listed-before.ts). */
  listed?: ListedBefore | undefined;
}

type BeforeState = { status: number; body?: Live; fromList?: boolean };

/**
 * An object's state before the apply, to say whether it changed and to find a failed Job.
 * A workload's from the watch, which the apply needs anyway: a GET of its own put one more round
 * trip between a dependency becoming ready and the workload reaching the controllers, on every
 * step of the critical path (issue 13, a loaded 2-core VM: a GET took 52 ms at the median, 145 ms
 * at p90, of the 100–350 ms from a step's start to its workload existing). Any other object's
 * from the LIST of its kind at the start. Not watched or listed, or the watch is being listed
 * again: the apiserver's own answer.
 */
async function beforeState(api: KubeApi, obj: KubeObject, path: string, known: Known): Promise<BeforeState> {
  const ref = refOf(obj);
  const { watch, listed } = known;
  if (WORKLOADS.has(ref.kind)) {
    const seen = watch && ref.namespace === watch.ns ? await watch.current(ref.kind, ref.name) : 'stale';
    if (seen !== 'stale') return seen.live ? { status: 200, body: seen.live } : { status: 404 };
  } else {
    const b = await listed?.before(obj);
    if (b) return b.absent ? { status: 404, fromList: true } : { status: 200, body: { metadata: b } };
  }
  return api.request<Live>('GET', path, { ok: [404], what: `get ${refLabel(ref)}` });
}

/**
 * Server-side apply of one object, recorded in `res` as created, changed or unchanged; the
 * generation the apiserver gave it (none for a credential, which is only ever created).
 */
export async function applyObject(
  api: KubeApi,
  res: Applied,
  obj: KubeObject,
  known: Known = {},
): Promise<number | undefined> {
  const ref = refOf(obj);
  const label = refLabel(ref);
  const path = await api.path(ref.apiVersion, ref.kind, ref.namespace, ref.name);
  if (ref.kind === 'Secret' && obj.metadata?.annotations?.[CREDENTIAL_ANNOTATION]) {
    // Credentials: create when absent, never overwrite (a re-render must not rotate anything).
    // Listed at the start: kept without a request (a re-apply sent one refused POST for each).
    const listed = await known.listed?.before(obj);
    if (listed && !listed.absent) {
      res.keptSecrets.push(label);
      return undefined;
    }
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
  let before = await beforeState(api, obj, path, known);
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
  // 201: this apply created it (whatever a watch may not have seen yet). Absent from the list
  // yet there (200): it was there without the cloud's label, which this apply gave it.
  if (after.status === 201 || (before.status === 404 && !before.fromList)) {
    if (!res.rerun.includes(label)) res.created.push(label);
  } else if (before.status !== 404 && sameAsBefore(ref.kind, before.body, after.body)) res.unchanged.push(label);
  else res.changed.push(label);
  return after.body.metadata?.generation;
}

type Meta = { resourceVersion?: string; generation?: number; labels?: unknown; annotations?: unknown };

/**
 * Whether the apply left the object as it was. Its resourceVersion says so, but a workload's
 * also moves when its controller writes its status, and a watch event can trail that write (a Job
 * a re-apply found done by its pod, whose Complete condition the controller wrote meanwhile, read
 * as changed). A workload's spec moves its generation; what else an apply can change of it is
 * its labels and annotations.
 */
function sameAsBefore(kind: string, before: Live | undefined, after: Live): boolean {
  const b = before?.metadata as Meta | undefined;
  const a = after.metadata as Meta | undefined;
  if (b?.resourceVersion === a?.resourceVersion) return true;
  if (!WORKLOADS.has(kind) || b?.generation === undefined) return false;
  return (
    b.generation === a?.generation &&
    JSON.stringify(b.labels ?? {}) === JSON.stringify(a?.labels ?? {}) &&
    JSON.stringify(b.annotations ?? {}) === JSON.stringify(a?.annotations ?? {})
  );
}
