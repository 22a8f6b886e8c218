/**
 * When a component is ready, read from its workload's status the way the controllers mean it,
 * and when it is not, why: the pods' conditions (unschedulable: which nodes and why), waiting
 * containers, and the newest warning events, so a stuck step says what blocks it.
 */
import { KubeApiError, type KubeApi } from './kube-api.js';
import { placementSummary, placementText, type NodeLike, type PlacementSpec } from './placement.js';

type Obj = {
  metadata?: {
    name?: string;
    uid?: string;
    generation?: number;
    creationTimestamp?: string;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

export interface Readiness {
  ready: boolean;
  /** A Job that failed for good: its dependants must not start. */
  failed?: boolean;
  /** e.g. "2/3 ready", "Complete", "0/1 updated". */
  summary: string;
  /** Why it is not ready, when the workload's own status shows it (a DaemonSet with nodes left out). */
  reason?: string;
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

/**
 * The cluster's nodes, or why they cannot be listed (RBAC: listing nodes is cluster-scoped and a
 * namespace admin may lack it); readiness then falls back to what the workload's status says.
 */
export type Nodes = { list: NodeLike[] } | { unknown: string };

export async function listNodes(api: KubeApi): Promise<Nodes> {
  try {
    return {
      list: (await api.request<{ items: NodeLike[] }>('GET', '/api/v1/nodes', { what: 'list nodes' })).body.items,
    };
  } catch (e) {
    if (e instanceof KubeApiError && (e.status === 403 || e.status === 401))
      return { unknown: 'osk may not list nodes to count them' };
    throw e;
  }
}

/** What a Job's readiness reads of a pod: whose it is and whether it succeeded. */
export type JobPod = {
  metadata?: { ownerReferences?: { uid?: string; controller?: boolean }[] };
  status?: { phase?: string };
};

/** `jobPods`: pods of the cloud's Jobs, when known (a Job then reads as complete once its pod succeeded). */
export function workloadReadiness(kind: string, o: Obj, nodes?: Nodes, jobPods?: JobPod[]): Readiness {
  const spec = o.spec ?? {};
  const st = o.status ?? {};
  const observed = num(st.observedGeneration) >= num(o.metadata?.generation);
  switch (kind) {
    case 'Deployment': {
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const conds = (st.conditions as { type: string; status: string }[] | undefined) ?? [];
      const available = conds.some((c) => c.type === 'Available' && c.status === 'True');
      const ok =
        observed &&
        available &&
        num(st.updatedReplicas) === want &&
        num(st.availableReplicas) >= want &&
        num(st.replicas) === want;
      return {
        ready: ok,
        summary: `${num(st.availableReplicas)}/${want} available, ${num(st.updatedReplicas)} updated`,
      };
    }
    case 'StatefulSet': {
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const ok =
        observed &&
        num(st.readyReplicas) === want &&
        num(st.updatedReplicas) === want &&
        st.currentRevision === st.updateRevision;
      return {
        ready: ok,
        summary: `${num(st.readyReplicas)}/${want} ready${st.currentRevision !== st.updateRevision ? ', rolling' : ''}`,
      };
    }
    case 'DaemonSet': {
      const want = num(st.desiredNumberScheduled);
      const counts = `${num(st.numberReady)}/${want} ready`;
      // The status alone reads "ready" at 0/0 when the selector matches no node: compare with
      // the nodes the pods should run on.
      const template = ((spec.template as { spec?: PlacementSpec } | undefined)?.spec ?? {}) as PlacementSpec;
      if (nodes && 'list' in nodes) {
        const p = placementSummary(template, nodes.list, true);
        if (p.eligible === 0 && want === 0)
          return { ready: false, summary: counts, reason: `no node to run on: ${p.text}` };
        // More desired than osk counts is fine (the controller knows best); fewer means nodes left out.
        if (want < p.eligible)
          return {
            ready: false,
            summary: counts,
            reason: `scheduled on ${want} of the ${p.eligible} nodes it should run on (${p.text})`,
          };
      } else if (want === 0) {
        const where = placementText(template);
        return {
          ready: false,
          summary: counts,
          reason: `no node to run on${where ? `: needs nodes with ${where}` : ''}${nodes && 'unknown' in nodes ? ` (${nodes.unknown})` : ''}`,
        };
      }
      const ok = observed && num(st.numberReady) === want && num(st.updatedNumberScheduled) === want;
      return { ready: ok, summary: counts };
    }
    case 'Job': {
      const conds =
        (st.conditions as { type: string; status: string; message?: string; reason?: string }[] | undefined) ?? [];
      // FailureTarget (Kubernetes ≥ 1.31) comes first: the Job has failed and its pods are being
      // finalized; Failed follows once they are gone, which can take a while. Either is final.
      const failed = conds.find((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
      if (failed)
        return { ready: false, failed: true, summary: `Failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim() };
      const complete = conds.some((c) => c.type === 'Complete' && c.status === 'True');
      const podDone = !complete && jobPodSucceeded(o, jobPods);
      return {
        ready: complete || podDone,
        summary: complete
          ? 'Complete'
          : podDone
            ? 'its pod succeeded'
            : `${num(st.active)} active, ${num(st.failed)} failed attempts`,
      };
    }
    default:
      return { ready: true, summary: 'applied' };
  }
}

/**
 * Whether a Job of one pod has done its work because that pod succeeded. The Job controller
 * batches pod events for a second (SyncJobBatchPeriod) before it writes Complete; bench:apply
 * measured 0.5–0.75 s between the pod's success and the condition, on every Job of the critical
 * path (issue 13). After its one pod succeeded nothing can fail such a Job any more: one
 * completion, one pod at a time and no deadline (a deadline could still pass before the
 * controller counts the pod, so a Job with one waits for the condition).
 */
function jobPodSucceeded(job: Obj, pods: JobPod[] | undefined): boolean {
  const spec = job.spec ?? {};
  const uid = job.metadata?.uid;
  if (!pods || !uid || spec.activeDeadlineSeconds !== undefined) return false;
  if ((typeof spec.completions === 'number' ? spec.completions : 1) !== 1) return false;
  if ((typeof spec.parallelism === 'number' ? spec.parallelism : 1) !== 1) return false;
  return pods.some(
    (p) =>
      p.status?.phase === 'Succeeded' && (p.metadata?.ownerReferences ?? []).some((r) => r.controller && r.uid === uid),
  );
}

export interface Pod {
  metadata: {
    name: string;
    labels?: Record<string, string>;
    creationTimestamp?: string;
    ownerReferences?: { uid?: string; controller?: boolean }[];
  };
  spec?: PlacementSpec;
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount?: number;
      state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } };
    }[];
  };
}

/** Why the component's pods are not ready, in one line. */
export async function explainPods(api: KubeApi, namespace: string, selector: string, nodes?: Nodes): Promise<string> {
  const pods = (
    await api.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${namespace}/pods`, {
      query: { labelSelector: selector },
    })
  ).body.items;
  const unscheduled = pods.some((p) =>
    p.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False'),
  );
  return explainPodList(pods, unscheduled ? (nodes ?? (await listNodes(api))) : undefined);
}

/**
 * Why these pods are not ready. An unschedulable pod names the nodes it needs and how many have
 * them (from its own spec and the node list), then the scheduler's own words.
 */
export function explainPodList(pods: Pod[], nodes?: Nodes): string {
  if (pods.length === 0) return 'no pods yet';
  for (const p of pods) {
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (sched) {
      const wanted = placementText(p.spec ?? {});
      const where =
        nodes && 'list' in nodes
          ? placementSummary(p.spec ?? {}, nodes.list, false).text
          : wanted
            ? `needs nodes with ${wanted}`
            : 'may run on any node';
      return `${p.metadata.name}: ${sched.reason ?? 'unschedulable'}: ${where}${sched.message ? ` (scheduler: ${sched.message})` : ''}`;
    }
    for (const c of p.status?.containerStatuses ?? []) {
      const w = c.state?.waiting;
      if (w?.reason && w.reason !== 'ContainerCreating')
        return `${p.metadata.name}/${c.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
    }
  }
  const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
  return `${ready}/${pods.length} pods ready`;
}

/** The newest warning events of the objects of a component. */
export async function warningEvents(api: KubeApi, namespace: string, names: string[], limit = 3): Promise<string[]> {
  const ev = (
    await api.request<{
      items: {
        involvedObject: { name: string; kind: string };
        reason?: string;
        message?: string;
        type?: string;
        lastTimestamp?: string;
        eventTime?: string;
      }[];
    }>('GET', `/api/v1/namespaces/${namespace}/events`, { query: { fieldSelector: 'type=Warning' } })
  ).body.items;
  return ev
    .filter((e) => names.some((n) => e.involvedObject.name === n || e.involvedObject.name.startsWith(`${n}-`)))
    .sort((a, b) => String(b.lastTimestamp ?? b.eventTime).localeCompare(String(a.lastTimestamp ?? a.eventTime)))
    .slice(0, limit)
    .map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.reason}: ${e.message}`);
}

/**
 * The last log lines of the newest pod of a selector (a failed Job's, or a workload's).
 * `previous`: of the container's last run, when it restarted: a crash-looping container's
 * current run is often a fresh start or nothing at all, its reason is in the run that ended.
 */
export async function lastLogLines(
  api: KubeApi,
  namespace: string,
  selector: string,
  lines = 10,
  previous = false,
): Promise<string | undefined> {
  const pods = (
    await api.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${namespace}/pods`, {
      query: { labelSelector: selector },
    })
  ).body.items;
  const newest = pods.sort((a, b) =>
    String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)),
  )[0];
  if (!newest) return undefined;
  const restarted = (newest.status?.containerStatuses ?? []).some((c) => (c.restartCount ?? 0) > 0);
  // The API server proxies logs from the node's kubelet, which may not answer (a node gone, or
  // kwok in the tests): one short try, no retries; a message without logs beats a stalled one.
  try {
    const r = await api.request<string>('GET', `/api/v1/namespaces/${namespace}/pods/${newest.metadata.name}/log`, {
      query: { tailLines: String(lines), ...(previous && restarted ? { previous: 'true' } : {}) },
      ok: [400, 404, 500, 502, 503, 504],
      timeoutMs: 5000,
      retry: false,
    });
    return r.status === 200 && typeof r.body === 'string' ? r.body : undefined;
  } catch {
    return undefined;
  }
}
