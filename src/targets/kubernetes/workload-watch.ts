/**
 * The workloads of one cloud (its Deployments, StatefulSets, DaemonSets and Jobs), the pods of
 * its Jobs and the cluster's nodes, kept current by one LIST and then a WATCH per kind, for
 * `osk apply` to wait on and to know a workload's state before applying it.
 *
 * Why a watch (issue 13): polling every 400 ms put half a tick plus a LIST round between a
 * dependency becoming ready and its dependants starting, on every step of the critical path, and
 * at 1000 nodes each round listed every node again. With a watch a waiter hears of the change
 * when the controller writes it, and the apiserver sends only what changed.
 */
import { KubeApiError, sleep, type KubeApi } from './kube-api.js';
import type { NodeLike } from './placement.js';
import type { Nodes } from './readiness.js';

export type Live = {
  metadata?: {
    name?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    ownerReferences?: { uid?: string; controller?: boolean }[];
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

type ListBody = { metadata?: { resourceVersion?: string }; items: Live[] };

/** One kind, listed then followed. */
class Followed {
  readonly items = new Map<string, Live>();
  resourceVersion = '';
  /** Settles when the first LIST answered (rejects when it failed for good, e.g. RBAC). */
  readonly listed: Promise<void>;
  private settleListed!: (e?: unknown) => void;

  constructor() {
    this.listed = new Promise<void>((resolve, reject) => {
      this.settleListed = (e) => (e === undefined ? resolve() : reject(e));
    });
    // A kind nobody awaits yet must not turn its failure into an unhandled rejection.
    this.listed.catch(() => undefined);
  }

  replace(body: ListBody): void {
    this.items.clear();
    for (const o of body.items) if (o.metadata?.name) this.items.set(o.metadata.name, o);
    this.resourceVersion = body.metadata?.resourceVersion ?? '';
    this.settleListed();
  }

  fail(e: unknown): void {
    this.settleListed(e);
  }
}

const API_GROUP: Record<string, string> = {
  Deployment: 'apps/v1',
  StatefulSet: 'apps/v1',
  DaemonSet: 'apps/v1',
  Job: 'batch/v1',
  Pod: 'v1',
};

export class WorkloadWatch {
  private readonly kinds = new Map<string, Followed>();
  private nodes: Followed | undefined;
  /** Why nodes cannot be followed (RBAC), when they cannot. */
  private nodesUnknown: string | undefined;
  private nodeList: NodeLike[] | undefined;
  /** The pods of the cloud's Jobs; undefined when they cannot be followed (Jobs then wait for their condition). */
  private jobPods: Followed | undefined;
  private jobPodsUnknown = false;
  /** Bumped on every change a waiter may care about. */
  private version = 0;
  private wakers: (() => void)[] = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly api: KubeApi,
    readonly ns: string,
    private readonly cloud: string,
  ) {}

  /** A count of the changes seen so far: pass it to `changed` to wait for the next one. */
  get seen(): number {
    return this.version;
  }

  /**
   * Starts following these kinds now (with the nodes for DaemonSets and the pods for Jobs), so
   * the first question about them need not wait for their LIST. A failure here is the first
   * waiter's to see.
   */
  prime(kinds: Iterable<string>): void {
    for (const kind of kinds) {
      this.follow(kind);
      if (kind === 'DaemonSet') this.currentNodes().catch(() => undefined);
      if (kind === 'Job') void this.currentJobPods();
    }
  }

  /** The live object as of the latest event (absent: undefined). */
  async live(kind: string, name: string): Promise<Live | undefined> {
    const followed = this.follow(kind);
    await followed.listed;
    return followed.items.get(name);
  }

  /**
   * The live object as `live` has it, but only while the kind's watch is current: not while it
   * is being listed again after a dropped watch (an apiserver restart), when what it holds may
   * be old. Then `stale`, and the caller asks the apiserver itself.
   */
  async current(kind: string, name: string): Promise<{ live: Live | undefined } | 'stale'> {
    const live = await this.live(kind, name);
    return this.follow(kind).resourceVersion ? { live } : 'stale';
  }

  /**
   * The live object as of the latest event, the nodes when a DaemonSet is asked for, and the
   * pods of the cloud's Jobs when a Job is (readiness.ts: a Job is done once its pod succeeded).
   */
  async get(
    kind: string,
    name: string,
  ): Promise<{ live: Live | undefined; nodes: Nodes | undefined; jobPods?: Live[] | undefined }> {
    const live = await this.live(kind, name);
    let nodes: Nodes | undefined;
    if (kind === 'DaemonSet') nodes = await this.currentNodes();
    const jobPods = kind === 'Job' ? await this.currentJobPods() : undefined;
    return { live, nodes, jobPods };
  }

  /** Resolves once anything changed after `seen`, or after `ms` at the latest. */
  changed(seen: number, ms: number): Promise<void> {
    if (this.version > seen) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wakers.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  /** Ends every watch. */
  close(): void {
    this.abort.abort();
  }

  private notify(): void {
    this.version++;
    const wakers = this.wakers;
    this.wakers = [];
    for (const w of wakers) w();
  }

  private follow(kind: string): Followed {
    let followed = this.kinds.get(kind);
    if (!followed) {
      followed = new Followed();
      this.kinds.set(kind, followed);
      void this.run(followed, kind, { labelSelector: `app.kubernetes.io/instance=${this.cloud}` }, () => true);
    }
    return followed;
  }

  private async currentNodes(): Promise<Nodes> {
    if (!this.nodes) {
      this.nodes = new Followed();
      // Node heartbeats modify nodes all the time; only nodes coming and going wake waiters
      // (a label or taint change is seen at the next wake-up or within the waiters' timeout).
      void this.run(this.nodes, 'Node', {}, (type) => type !== 'MODIFIED');
    }
    try {
      await this.nodes.listed;
    } catch (e) {
      if (e instanceof KubeApiError && (e.status === 403 || e.status === 401)) {
        this.nodesUnknown = 'osk may not list nodes to count them';
      } else throw e;
    }
    if (this.nodesUnknown) return { unknown: this.nodesUnknown };
    this.nodeList ??= [...this.nodes.items.values()] as NodeLike[];
    return { list: this.nodeList };
  }

  private async currentJobPods(): Promise<Live[] | undefined> {
    if (!this.jobPods && !this.jobPodsUnknown) {
      this.jobPods = new Followed();
      // Only Jobs' pods (the Job controller labels them): at 1000 nodes the DaemonSets' pods
      // would be thousands of objects and events nobody waits for.
      const labelSelector = `app.kubernetes.io/instance=${this.cloud},batch.kubernetes.io/job-name`;
      void this.run(this.jobPods, 'Pod', { labelSelector }, () => true);
    }
    try {
      await this.jobPods?.listed;
    } catch {
      // Pods are a shortcut only (RBAC may forbid listing them): the Jobs' own status still says.
      this.jobPodsUnknown = true;
      this.jobPods = undefined;
    }
    return this.jobPods ? [...this.jobPods.items.values()] : undefined;
  }

  private async path(kind: string): Promise<string> {
    return kind === 'Node' ? '/api/v1/nodes' : this.api.path(API_GROUP[kind]!, kind, this.ns);
  }

  /** LIST, then WATCH from its resourceVersion; again from a fresh LIST when the watch ends badly. */
  private async run(
    f: Followed,
    kind: string,
    query: Record<string, string>,
    wakes: (type: string) => boolean,
  ): Promise<void> {
    const signal = this.abort.signal;
    let everListed = false;
    while (!signal.aborted) {
      try {
        const path = await this.path(kind);
        if (!f.resourceVersion) {
          const r = await this.api.request<ListBody>('GET', path, { query, what: `list ${kind}` });
          f.replace(r.body);
          everListed = true;
          if (kind === 'Node') this.nodeList = undefined;
          this.notify();
        }
        await this.api.watch(
          path,
          { ...query, resourceVersion: f.resourceVersion, allowWatchBookmarks: 'true', timeoutSeconds: '300' },
          (event) => {
            const o = event.object as Live;
            if (event.type === 'ERROR') {
              // Most often 410 Gone: the resourceVersion is too old. List again.
              f.resourceVersion = '';
              return;
            }
            f.resourceVersion = o.metadata?.resourceVersion ?? f.resourceVersion;
            if (event.type === 'BOOKMARK' || !o.metadata?.name) return;
            if (event.type === 'DELETED') f.items.delete(o.metadata.name);
            else f.items.set(o.metadata.name, o);
            if (kind === 'Node') this.nodeList = undefined;
            if (wakes(event.type)) this.notify();
          },
          signal,
        );
      } catch (e) {
        if (signal.aborted) return;
        if (!everListed) {
          // The first LIST failed after the client's own retries: its waiters get the error, and
          // the next question about this kind lists again (nodes: unless RBAC forbids them; Jobs'
          // pods: never, their waiters go on without them).
          f.fail(e);
          if (kind === 'Pod') return;
          if (kind !== 'Node') this.kinds.delete(kind);
          else if (!(e instanceof KubeApiError && (e.status === 403 || e.status === 401))) this.nodes = undefined;
          return;
        }
        // A dropped watch or a restarting apiserver: list afresh after a pause.
        f.resourceVersion = '';
        await sleep(1000);
      }
    }
  }
}
