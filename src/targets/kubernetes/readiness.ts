/**
 * When a component is ready, read from its workload's status the way the controllers mean it,
 * and when it is not, why: the pods' conditions (unschedulable: which nodes and why), waiting
 * containers, and the newest warning events, so a stuck step says what blocks it.
 */
import type { KubeApi } from './kube-api.js';

type Obj = { metadata?: { name?: string; generation?: number; creationTimestamp?: string }; spec?: Record<string, unknown>; status?: Record<string, unknown> };

export interface Readiness {
  ready: boolean;
  /** A Job that failed for good: its dependants must not start. */
  failed?: boolean;
  /** e.g. "2/3 ready", "Complete", "0/1 updated". */
  summary: string;
}

const num = (v: unknown) => (typeof v === 'number' ? v : 0);

export function workloadReadiness(kind: string, o: Obj): Readiness {
  const spec = o.spec ?? {};
  const st = o.status ?? {};
  const observed = num(st.observedGeneration) >= num(o.metadata?.generation);
  switch (kind) {
    case 'Deployment': {
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const conds = (st.conditions as { type: string; status: string }[] | undefined) ?? [];
      const available = conds.some((c) => c.type === 'Available' && c.status === 'True');
      const ok = observed && available && num(st.updatedReplicas) === want && num(st.availableReplicas) >= want && num(st.replicas) === want;
      return { ready: ok, summary: `${num(st.availableReplicas)}/${want} available, ${num(st.updatedReplicas)} updated` };
    }
    case 'StatefulSet': {
      const want = typeof spec.replicas === 'number' ? spec.replicas : 1;
      const ok = observed && num(st.readyReplicas) === want && num(st.updatedReplicas) === want && st.currentRevision === st.updateRevision;
      return { ready: ok, summary: `${num(st.readyReplicas)}/${want} ready${st.currentRevision !== st.updateRevision ? ', rolling' : ''}` };
    }
    case 'DaemonSet': {
      const want = num(st.desiredNumberScheduled);
      const ok = observed && num(st.numberReady) === want && num(st.updatedNumberScheduled) === want;
      return { ready: ok, summary: `${num(st.numberReady)}/${want} ready` };
    }
    case 'Job': {
      const conds = (st.conditions as { type: string; status: string; message?: string; reason?: string }[] | undefined) ?? [];
      // FailureTarget (Kubernetes ≥ 1.31) comes first: the Job has failed and its pods are being
      // finalized; Failed follows once they are gone, which can take a while. Either is final.
      const failed = conds.find((c) => (c.type === 'Failed' || c.type === 'FailureTarget') && c.status === 'True');
      if (failed) return { ready: false, failed: true, summary: `Failed: ${failed.reason ?? ''} ${failed.message ?? ''}`.trim() };
      const complete = conds.some((c) => c.type === 'Complete' && c.status === 'True');
      return { ready: complete, summary: complete ? 'Complete' : `${num(st.active)} active, ${num(st.failed)} failed attempts` };
    }
    default:
      return { ready: true, summary: 'applied' };
  }
}

interface Pod {
  metadata: { name: string };
  status?: {
    phase?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
    containerStatuses?: { name: string; ready: boolean; state?: { waiting?: { reason?: string; message?: string }; terminated?: { reason?: string; exitCode?: number } } }[];
  };
}

/** Why the component's pods are not ready, in one line, or undefined when nothing explains it. */
export async function explainPods(api: KubeApi, namespace: string, selector: string): Promise<string | undefined> {
  const pods = (await api.request<{ items: Pod[] }>('GET', `/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector: selector } })).body.items;
  if (pods.length === 0) return 'no pods yet';
  for (const p of pods) {
    const sched = p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    if (sched) return `${p.metadata.name}: ${sched.reason ?? 'unschedulable'}: ${sched.message ?? ''}`.trim();
    for (const c of p.status?.containerStatuses ?? []) {
      const w = c.state?.waiting;
      if (w?.reason && w.reason !== 'ContainerCreating') return `${p.metadata.name}/${c.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
    }
  }
  const ready = pods.filter((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
  return `${ready}/${pods.length} pods ready`;
}

/** The newest warning events of the objects of a component. */
export async function warningEvents(api: KubeApi, namespace: string, names: string[], limit = 3): Promise<string[]> {
  const ev = (await api.request<{ items: { involvedObject: { name: string; kind: string }; reason?: string; message?: string; type?: string; lastTimestamp?: string; eventTime?: string }[] }>('GET', `/api/v1/namespaces/${namespace}/events`, { query: { fieldSelector: 'type=Warning' } })).body.items;
  return ev
    .filter((e) => names.some((n) => e.involvedObject.name === n || e.involvedObject.name.startsWith(`${n}-`)))
    .sort((a, b) => String(b.lastTimestamp ?? b.eventTime).localeCompare(String(a.lastTimestamp ?? a.eventTime)))
    .slice(0, limit)
    .map((e) => `${e.involvedObject.kind}/${e.involvedObject.name}: ${e.reason}: ${e.message}`);
}

/** The last log lines of a Job's newest pod (for a failed Job). */
export async function lastLogLines(api: KubeApi, namespace: string, selector: string, lines = 10): Promise<string | undefined> {
  const pods = (await api.request<{ items: (Pod & { metadata: { creationTimestamp?: string } })[] }>('GET', `/api/v1/namespaces/${namespace}/pods`, { query: { labelSelector: selector } })).body.items;
  const newest = pods.sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)))[0];
  if (!newest) return undefined;
  // The API server proxies logs from the node's kubelet, which may not answer (a node gone, or
  // kwok in the tests): one short try, no retries; a message without logs beats a stalled one.
  try {
    const r = await api.request<string>('GET', `/api/v1/namespaces/${namespace}/pods/${newest.metadata.name}/log`, { query: { tailLines: String(lines) }, ok: [400, 404, 500, 502, 503, 504], timeoutMs: 5000, retry: false });
    return r.status === 200 && typeof r.body === 'string' ? r.body : undefined;
  } catch {
    return undefined;
  }
}
