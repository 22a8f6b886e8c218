// A real Kubernetes control plane on 127.0.0.1 for osk's tests: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and the kwok controller (which plays kubelet for fake
// Nodes: pods become Running/Ready, Job pods Succeeded). With realNode, one real node beside them
// runs pods in containers (real-node.ts).
//
//   const c = await startCluster({ nodes: 5, dir });   // -> { kubeconfig, client, stop(), ... }
//   ...
//   await c.stop();
//
// The processes are detached (they outlive the caller, as `npm run cluster:up` needs); their PIDs,
// ports and logs are kept in `dir` (state.json, pids/, logs/), so stopCluster(dir) can end exactly
// those processes from another process later.
import { spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer, type Server } from 'node:net';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ensureBinaries,
  ensureCoreDNS,
  ensureKubeRouter,
  ensureNodeBinaries,
  ensureRegistry,
  type Binaries,
  type Versions,
} from './build.js';
import { KubeClient, waitFor, type KubeObject } from './kube.js';
import { joinCgroup, mountsUnder } from './node-host.js';
import { networkPoliciesUnsupported, startPolicyEnforcer } from './network-policies.js';
import { ensureNodeImages } from './node-images.js';
import {
  cleanUpRealNode,
  prepareRealNode,
  REAL_NODE_NAME,
  type RealNodeState,
  realNodeApiserverFlags,
  realNodeUnsupported,
  restoreHost,
  startRealNode,
  writeNodeKubeconfig,
} from './real-node.js';
import {
  createDefaultStorageClass,
  DEFAULT_STORAGE_CLASS,
  HOSTPATH_PROVISIONER_FLAG,
  provisionedVolumeDirs,
  removeVolumeDirs,
} from './storage.js';

const HERE = dirname(fileURLToPath(import.meta.url));

export const CONTROL_PLANE_LABEL = 'openstack-control-plane';
export const COMPUTE_LABEL = 'openstack-compute-node';
export const GPU_LABEL = 'nvidia.com/gpu.present';
export const GPU_RESOURCE = 'nvidia.com/gpu';
export const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';

const SERVICE_CIDR = '10.96.0.0/16';
const POD_CIDR = '10.244.0.0/16';

/** Default state directory of `npm run cluster:up`: ${OSK_STATE_DIR:-$HOME/.local/state/osk}/cluster */
export function defaultClusterDir(): string {
  return join(process.env.OSK_STATE_DIR || join(homedir(), '.local', 'state', 'osk'), 'cluster');
}

interface StartOptions {
  /** number of fake Nodes: the first min(3, nodes) are control plane, the rest compute (0 allowed with realNode) */
  nodes: number;
  /**
   * Add one real node (kubelet, kube-proxy, containerd; real-node.ts) labelled for both roles,
   * with CoreDNS. Needs root and the packages of scripts/install-test-tools.sh.
   */
  realNode?: boolean;
  /**
   * With realNode: enforce NetworkPolicies on it (kube-router's policy controller,
   * network-policies.ts), which the CNI bridge plugin alone does not. Off by default: every pod of
   * a namespace with osk's default-deny is then really cut off from what its policies do not allow.
   */
  networkPolicies?: boolean;
  /** state directory (pki, logs, pids, etcd data, kubeconfig); created if missing */
  dir: string;
  /** how many compute nodes also get a GPU (default: max(1, floor(compute / 4)) when there are compute nodes) */
  gpuNodes?: number;
  /** Pending -> Running/Ready delay (default: env OSK_POD_READY_DELAY_MS or 0); per pod: annotation pod-ready.stage.kwok.x-k8s.io/delay */
  podReadyDelayMs?: number;
  /** Running -> Succeeded delay for Job pods (default: env OSK_JOB_COMPLETE_DELAY_MS or 0); per pod: annotation pod-complete.stage.kwok.x-k8s.io/delay */
  jobCompleteDelayMs?: number;
  /** how long to wait for each readiness step (default 180 s) */
  timeoutMs?: number;
  /** progress lines (default: stderr) */
  log?: (line: string) => void;
  /**
   * How the build of the binaries reports progress: "live" redraws one line on stderr, "lines"
   * writes a line through log at least every 10 s. Default: live when log is not given and stderr
   * is a terminal ($CI unset), else lines.
   */
  progress?: 'live' | 'lines';
  /**
   * Kill the cluster's processes when this Node.js process exits or gets SIGINT/SIGTERM before
   * stop() was called (for tests: a crashed or timed-out test run leaves nothing behind).
   * Default false: `cluster:up` wants them to outlive it.
   */
  stopOnExit?: boolean;
}

interface NodeSpec {
  name: string;
  role: 'control-plane' | 'compute';
  gpu: boolean;
}

interface ProcessRecord {
  name: string;
  pid: number;
  /** the executable path it runs as: checked against /proc/PID/cmdline before a signal */
  argv0: string;
  log: string;
}

interface ClusterState {
  version: 1;
  dir: string;
  kubeconfig: string;
  server: string;
  ports: Record<string, number>;
  nodes: NodeSpec[];
  processes: ProcessRecord[];
  versions: Versions;
  binDir: string;
  podReadyDelayMs: number;
  jobCompleteDelayMs: number;
  startedAt: string;
  /** provisioned volume directories seen by a `down --keep`, so a later `down` can remove them */
  volumeDirs?: string[];
  /** the real node, when there is one: what it changed on the host, to undo */
  realNode?: RealNodeState;
  /** true when the real node enforces NetworkPolicies (kube-network-policies runs on it) */
  networkPolicies?: boolean;
}

export interface Cluster {
  dir: string;
  kubeconfig: string;
  server: string;
  state: ClusterState;
  /** an API client with the admin certificate (close() it when done if you keep the process alive) */
  client: KubeClient;
  /** true when a healthy cluster already running in dir was reused */
  reused: boolean;
  /** seconds per phase of this start (empty when reused) */
  timings: Record<string, number>;
  stop(opts?: StopOptions): Promise<StopResult>;
}

interface StopOptions {
  /** keep the state directory (logs, etcd data, pki) instead of removing it */
  keep?: boolean;
  /** ms between SIGTERM and SIGKILL (default 10 s) */
  graceMs?: number;
  log?: (line: string) => void;
}

export interface StopResult {
  terminated: string[];
  killed: string[];
  /** recorded but no longer running (or the PID now belongs to another program) */
  notRunning: string[];
  /** directories of provisioned volumes removed (see storage.ts) */
  volumesRemoved: string[];
  /** why the provisioned volumes could not be found (the apiserver did not answer), if so */
  volumesProblem?: string;
  /** what the real node changed on the host and could not be undone (empty: all undone) */
  hostProblems?: string[];
}

/** Entries this harness creates in a state directory; nothing else there is ever removed. */
const OWN_ENTRIES = [
  'state.json',
  'pids',
  'logs',
  'pki',
  'certs',
  'kubeconfig',
  'kubeconfigs',
  'etcd-data',
  'kwok-stages.yaml',
  'node',
];

const stderrLog = (l: string): void => {
  process.stderr.write(`${l}\n`);
};

function planNodes(nodes: number, gpuNodes?: number, realNode = false): NodeSpec[] {
  if (!Number.isInteger(nodes) || nodes < (realNode ? 0 : 1)) {
    throw new Error(`nodes must be a ${realNode ? 'non-negative' : 'positive'} integer, not ${nodes}`);
  }
  const cp = Math.min(3, nodes);
  const compute = nodes - cp;
  const gpus = Math.min(compute, gpuNodes ?? (compute > 0 ? Math.max(1, Math.floor(compute / 4)) : 0));
  const out: NodeSpec[] = [];
  for (let i = 1; i <= cp; i++) out.push({ name: `cp-${i}`, role: 'control-plane', gpu: false });
  // GPUs on the last compute nodes, so compute-1 is always a plain one.
  for (let i = 1; i <= compute; i++) out.push({ name: `compute-${i}`, role: 'compute', gpu: i > compute - gpus });
  return out;
}

function nodeObject(n: NodeSpec): KubeObject {
  const labels: Record<string, string> = {
    'kubernetes.io/hostname': n.name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    type: 'kwok',
  };
  if (n.role === 'control-plane') labels[CONTROL_PLANE_LABEL] = 'enabled';
  else labels[COMPUTE_LABEL] = 'enabled';
  if (n.gpu) labels[GPU_LABEL] = 'true';
  const resources: Record<string, string> = { cpu: '32', memory: '128Gi', pods: '110', 'ephemeral-storage': '500Gi' };
  if (n.gpu) resources[GPU_RESOURCE] = '4';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      labels,
      annotations: { [KWOK_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: {},
    status: { allocatable: resources, capacity: resources },
  };
}

function envMs(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === '') return undefined;
  return parseDurationMs(v);
}

/** "250" (ms), "250ms", "2s", "1m", "1.5s" -> milliseconds */
export function parseDurationMs(v: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m?.[1]) throw new Error(`not a duration: ${JSON.stringify(v)} (use e.g. 500, 500ms, 2s, 1m)`);
  const n = Number(m[1]);
  return Math.round(m[2] === 's' ? n * 1000 : m[2] === 'm' ? n * 60_000 : n);
}

/**
 * Starts a cluster in opts.dir, or reuses the healthy one already running there (same node count).
 * Builds the binaries first when the pinned versions have no cached build.
 */
export async function startCluster(opts: StartOptions): Promise<Cluster> {
  const log = opts.log ?? stderrLog;
  const dir = resolve(opts.dir);
  const timeoutMs = opts.timeoutMs ?? 180_000;
  const nodes = planNodes(opts.nodes, opts.gpuNodes, opts.realNode);
  if (opts.realNode) {
    const why = realNodeUnsupported();
    if (why) throw new Error(why);
  }
  if (opts.networkPolicies) {
    if (!opts.realNode) throw new Error('networkPolicies needs realNode: only a real node has traffic to police');
    const why = networkPoliciesUnsupported();
    if (why) throw new Error(why);
  }

  const existing = readState(dir);
  if (existing) {
    const health = await clusterHealth(existing);
    if (health.healthy) {
      const differs: string[] = [];
      const describe = (ns: NodeSpec[]): string => ns.map((n) => `${n.name}${n.gpu ? '+gpu' : ''}`).join(',');
      if (describe(existing.nodes) !== describe(nodes)) {
        differs.push(`nodes ${describe(existing.nodes)} (asked: ${describe(nodes)})`);
      }
      if (!!existing.realNode !== !!opts.realNode) {
        differs.push(`${existing.realNode ? 'a' : 'no'} real node (asked: ${opts.realNode ? 'one' : 'none'})`);
      }
      if (!!existing.networkPolicies !== !!opts.networkPolicies) {
        const say = (on: boolean | undefined): string => (on ? 'enforced' : 'not enforced');
        differs.push(`NetworkPolicies ${say(existing.networkPolicies)} (asked: ${say(opts.networkPolicies)})`);
      }
      const delays: [string, number, number | undefined][] = [
        ['pod-ready delay', existing.podReadyDelayMs, opts.podReadyDelayMs ?? envMs('OSK_POD_READY_DELAY_MS')],
        [
          'job-complete delay',
          existing.jobCompleteDelayMs,
          opts.jobCompleteDelayMs ?? envMs('OSK_JOB_COMPLETE_DELAY_MS'),
        ],
      ];
      for (const [what, has, asked] of delays) {
        if (asked !== undefined && asked !== has) differs.push(`${what} ${has} ms (asked: ${asked} ms)`);
      }
      if (differs.length > 0) {
        throw new Error(
          `a healthy cluster is already running in ${dir} with other settings: ${differs.join('; ')}; ` +
            `stop it first (npm run cluster:down${dir === defaultClusterDir() ? '' : ` -- --dir ${dir}`})`,
        );
      }
      log(`reusing the healthy cluster already running in ${dir} (${existing.nodes.length} nodes, ${existing.server})`);
      const reused = handle(existing, true, {});
      const sc = await reused.client.request('GET', `/apis/storage.k8s.io/v1/storageclasses/${DEFAULT_STORAGE_CLASS}`);
      if (sc.status === 404) {
        log(
          `warning: this cluster has no StorageClass ${DEFAULT_STORAGE_CLASS} (started by an older osk, or deleted): ` +
            `claims without a storageClassName stay Pending; restart it (cluster:down, then cluster:up) to get it`,
        );
      }
      return reused;
    }
    const running = health.processes.filter((p) => p.running);
    if (running.length > 0) {
      throw new Error(
        `a cluster in ${dir} is not healthy (${health.problems.join('; ')}) but some of its processes are running ` +
          `(${running.map((p) => `${p.name} pid ${p.pid}`).join(', ')}); see ${join(dir, 'logs')}, then run cluster:down`,
      );
    }
    log(`the cluster recorded in ${dir} is not running any more; starting a new one there`);
    if (existing.realNode) {
      const left = await cleanUpRealNode(existing.realNode);
      if (left.length > 0) throw new Error(`could not undo the old real node's host changes: ${left.join('; ')}`);
    }
    removeVolumeDirs(existing.volumeDirs ?? []); // its etcd data, which knew them, goes too
    removeOwnEntries(dir);
  }

  const timings: Record<string, number> = {};
  const t0 = Date.now();
  let tPhase = t0;
  const phase = (name: string): void => {
    const now = Date.now();
    timings[name] = (now - tPhase) / 1000;
    tPhase = now;
  };

  const buildOpts = { ...(opts.log ? { log } : {}), ...(opts.progress ? { progress: opts.progress } : {}) };
  const bins = await ensureBinaries(buildOpts);
  const nodeParts = opts.realNode
    ? await (async () => {
        const nodeBins = await ensureNodeBinaries(buildOpts);
        const images = ensureNodeImages(await ensureCoreDNS(buildOpts), log);
        const registry = await ensureRegistry(buildOpts);
        const kubeRouter = opts.networkPolicies ? (await ensureKubeRouter(buildOpts)).binary : undefined;
        return { nodeBins, images, registry, kubeRouter };
      })()
    : undefined;
  phase('build');

  mkdirSync(dir, { recursive: true });
  for (const d of ['pids', 'logs', 'certs', 'kubeconfigs']) mkdirSync(join(dir, d), { recursive: true });
  const pki = join(dir, 'pki');
  await runToEnd(bins.kubecp, ['pki', pki]);
  phase('pki');

  const ports = await freePorts(['etcdClient', 'etcdPeer', 'apiserver', 'controllerManager', 'scheduler']);
  const server = `https://127.0.0.1:${ports.apiserver}`;
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, server, pki, 'admin');
  for (const c of ['controller-manager', 'scheduler', 'kwok']) {
    writeKubeconfig(join(dir, 'kubeconfigs', `${c}.kubeconfig`), server, pki, c);
  }
  const podReadyDelayMs = opts.podReadyDelayMs ?? envMs('OSK_POD_READY_DELAY_MS') ?? 0;
  const jobCompleteDelayMs = opts.jobCompleteDelayMs ?? envMs('OSK_JOB_COMPLETE_DELAY_MS') ?? 0;
  writeStages(join(dir, 'kwok-stages.yaml'), podReadyDelayMs, jobCompleteDelayMs);

  const state: ClusterState = {
    version: 1,
    dir,
    kubeconfig,
    server,
    ports,
    nodes,
    processes: [],
    versions: bins.versions,
    binDir: bins.binDir,
    podReadyDelayMs,
    jobCompleteDelayMs,
    startedAt: new Date().toISOString(),
    ...(opts.networkPolicies ? { networkPolicies: true } : {}),
  };
  saveState(state);

  const client = KubeClient.fromKubeconfig(kubeconfig);
  const disarm = opts.stopOnExit ? killOnExit(state) : () => undefined;
  try {
    if (nodeParts) {
      // Before the apiserver: its advertise address is the node network's host end.
      state.realNode = prepareRealNode(dir);
      saveState(state);
    }
    const etcdURL = `http://127.0.0.1:${ports.etcdClient}`;
    const peerURL = `http://127.0.0.1:${ports.etcdPeer}`;
    start(state, bins, 'etcd', [
      '--name=osk',
      `--data-dir=${join(dir, 'etcd-data')}`,
      `--listen-client-urls=${etcdURL}`,
      `--advertise-client-urls=${etcdURL}`,
      `--listen-peer-urls=${peerURL}`,
      `--initial-advertise-peer-urls=${peerURL}`,
      `--initial-cluster=osk=${peerURL}`,
      '--unsafe-no-fsync=true', // a throw-away test cluster: no fsync
      '--auto-compaction-retention=1',
      '--quota-backend-bytes=4294967296',
      '--log-level=warn',
    ]);
    await waitAlive(state, 'etcd /health', timeoutMs, async () => {
      const r = await plainGet(`${etcdURL}/health`);
      return r.status === 200 && r.body.includes('"health":"true"');
    });
    phase('etcd');

    const p = (f: string): string => join(pki, f);
    start(state, bins, 'kube-apiserver', [
      `--etcd-servers=${etcdURL}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.apiserver}`,
      ...(state.realNode ? realNodeApiserverFlags(state.realNode) : advertiseFlags()),
      `--tls-cert-file=${p('apiserver.crt')}`,
      `--tls-private-key-file=${p('apiserver.key')}`,
      `--client-ca-file=${p('ca.crt')}`,
      `--service-account-issuer=https://kubernetes.default.svc.cluster.local`,
      `--service-account-key-file=${p('sa.pub')}`,
      `--service-account-signing-key-file=${p('sa.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--authorization-mode=Node,RBAC',
      '--allow-privileged=true',
      `--requestheader-client-ca-file=${p('front-proxy-ca.crt')}`,
      '--requestheader-allowed-names=front-proxy-client',
      '--requestheader-username-headers=X-Remote-User',
      '--requestheader-group-headers=X-Remote-Group',
      '--requestheader-extra-headers-prefix=X-Remote-Extra-',
      `--proxy-client-cert-file=${p('front-proxy-client.crt')}`,
      `--proxy-client-key-file=${p('front-proxy-client.key')}`,
      `--cert-dir=${join(dir, 'certs', 'kube-apiserver')}`,
      '--profiling=false',
    ]);
    await waitAlive(state, 'kube-apiserver /readyz', timeoutMs, async () => {
      const r = await client.request<string>('GET', '/readyz', undefined, { timeoutMs: 5000 });
      return r.status === 200;
    });
    // The default StorageClass: claims without a class (examples/minimal.yaml) bind.
    await createDefaultStorageClass(client, !state.realNode);
    phase('apiserver');

    const kc = (c: string): string => join(dir, 'kubeconfigs', `${c}.kubeconfig`);
    const allowPaths = '--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics';
    start(state, bins, 'kube-controller-manager', [
      `--kubeconfig=${kc('controller-manager')}`,
      `--authentication-kubeconfig=${kc('controller-manager')}`,
      `--authorization-kubeconfig=${kc('controller-manager')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.controllerManager}`,
      `--cert-dir=${join(dir, 'certs', 'kube-controller-manager')}`,
      allowPaths,
      '--leader-elect=false',
      '--use-service-account-credentials=true',
      `--root-ca-file=${p('ca.crt')}`,
      `--service-account-private-key-file=${p('sa.key')}`,
      `--cluster-signing-cert-file=${p('ca.crt')}`,
      `--cluster-signing-key-file=${p('ca.key')}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      HOSTPATH_PROVISIONER_FLAG,
      '--kube-api-qps=100',
      '--kube-api-burst=200',
      '--profiling=false',
    ]);
    start(state, bins, 'kube-scheduler', [
      `--kubeconfig=${kc('scheduler')}`,
      `--authentication-kubeconfig=${kc('scheduler')}`,
      `--authorization-kubeconfig=${kc('scheduler')}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${ports.scheduler}`,
      `--cert-dir=${join(dir, 'certs', 'kube-scheduler')}`,
      allowPaths,
      '--leader-elect=false',
      '--profiling=false',
    ]);
    start(state, bins, 'kwok', [
      `--kubeconfig=${kc('kwok')}`,
      `--config=${join(dir, 'kwok-stages.yaml')}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_ANNOTATION}=fake`,
      '--node-lease-duration-seconds=40',
      `--cidr=${POD_CIDR}`,
    ]);

    for (const n of nodes) await client.create('/api/v1/nodes', nodeObject(n));

    await waitAlive(state, 'kube-controller-manager /healthz', timeoutMs, async () => {
      return (await insecureGet(`https://127.0.0.1:${ports.controllerManager}/healthz`)).status === 200;
    });
    await waitAlive(state, 'kube-scheduler /healthz', timeoutMs, async () => {
      return (await insecureGet(`https://127.0.0.1:${ports.scheduler}/healthz`)).status === 200;
    });
    // Pods can only be created once the ServiceAccount controller made "default" (ServiceAccount admission).
    await waitAlive(state, 'ServiceAccount default/default', timeoutMs, async () => {
      return (await client.request('GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200;
    });
    await waitAlive(state, `${nodes.length} Ready nodes`, timeoutMs, async () => {
      const items = await client.list('/api/v1/nodes');
      return items.filter(isNodeReady).length >= nodes.length;
    });
    phase('components+nodes');
    if (state.realNode && nodeParts) {
      const node = state.realNode;
      await startRealNode({
        node,
        apiserverPort: ports.apiserver,
        pki,
        client,
        images: nodeParts.images,
        kubelet: nodeParts.nodeBins.kubelet,
        kubeProxy: nodeParts.nodeBins.kubeProxy,
        registryBinary: nodeParts.registry,
        labels: `${CONTROL_PLANE_LABEL}=enabled,${COMPUTE_LABEL}=enabled`,
        start: (name, argv, argv0, leaf) => startArgv(state, name, argv, argv0, leaf),
        waitAlive: (what, check) => waitAlive(state, what, timeoutMs, check),
        log,
      });
      phase('real node');
      if (nodeParts.kubeRouter) {
        await startPolicyEnforcer({
          net: node.net,
          nodeName: node.name,
          dir: node.dir,
          binary: nodeParts.kubeRouter,
          serviceCIDR: SERVICE_CIDR,
          // The test PKI has no certificate of its own for it (a new one would rebuild the
          // control plane's binary): the admin's, on the node's route to the API server.
          writeKubeconfig: (path) =>
            writeNodeKubeconfig(path, `https://${node.net.hostIP}:${ports.apiserver}`, pki, 'admin'),
          start: (name, argv, argv0, leaf) => startArgv(state, name, argv, argv0, leaf),
          waitAlive: (what, check) => waitAlive(state, what, timeoutMs, check),
        });
        phase('policy enforcer');
      }
    }
    timings.total = (Date.now() - t0) / 1000;
    log(
      `cluster up in ${timings.total.toFixed(1)}s (${Object.entries(timings)
        .filter(([k]) => k !== 'total')
        .map(([k, v]) => `${k} ${v.toFixed(1)}s`)
        .join(', ')}): Kubernetes ${bins.versions.kubernetes}, ${nodes.length} nodes${
        state.realNode
          ? ` and the real node ${REAL_NODE_NAME}${state.networkPolicies ? ' (NetworkPolicies enforced)' : ''}`
          : ''
      }, ${server}`,
    );
    return handle(state, false, timings, client, disarm);
  } catch (e) {
    disarm();
    client.close();
    const tails = state.processes.map((pr) => `--- ${pr.log} (last lines)\n${tail(pr.log, 15)}`).join('\n');
    log(`cluster start failed: ${String(e)}; stopping what was started (logs kept in ${join(dir, 'logs')})`);
    const stopped = await stopProcesses(state, { graceMs: 5000, log });
    for (const p of stopped.hostProblems ?? []) log(`warning: ${p}`);
    throw new Error(`${String(e instanceof Error ? e.message : e)}\n${tails}`);
  }
}

function handle(
  state: ClusterState,
  reused: boolean,
  timings: Record<string, number>,
  client?: KubeClient,
  disarm: () => void = () => undefined,
): Cluster {
  const c = client ?? KubeClient.fromKubeconfig(state.kubeconfig);
  return {
    dir: state.dir,
    kubeconfig: state.kubeconfig,
    server: state.server,
    state,
    client: c,
    reused,
    timings,
    stop: async (o: StopOptions = {}) => {
      disarm();
      c.close();
      return stopCluster(state.dir, o);
    },
  };
}

export function isNodeReady(n: KubeObject): boolean {
  const conds = (n.status?.conditions ?? []) as { type: string; status: string }[];
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

// ---------------------------------------------------------------------------------------------
// processes

function start(state: ClusterState, bins: Binaries, name: string, args: string[]): void {
  const argv0 = name === 'kwok' ? bins.kwok : join(bins.binDir, name); // symlinks -> kubecp (argv[0] dispatch)
  record(state, spawnLogged(state, name, [argv0, ...args], argv0));
}

/**
 * Starts argv as a recorded process whose /proc/PID/cmdline[0] will be argv0 (argv may go through
 * nsenter, which execs it in the same PID), in cgroup /<realNode.cgroup>/<leaf> when leaf is given.
 */
async function startArgv(
  state: ClusterState,
  name: string,
  argv: string[],
  argv0: string,
  leaf?: string,
): Promise<void> {
  const p = spawnLogged(state, name, argv, argv0);
  // Until nsenter has exec'd, the PID still shows nsenter.
  await waitFor(`${name} to exec`, async () => isOurProcess(p) || undefined, { timeoutMs: 5000, intervalMs: 10 });
  if (leaf && state.realNode) joinCgroup(p.pid, state.realNode.cgroup, leaf);
  record(state, p);
}

/** Spawns argv detached, its output appended to logs/<name>.log. */
function spawnLogged(state: ClusterState, name: string, argv: string[], argv0: string): ProcessRecord {
  const [cmd, ...args] = argv;
  const logPath = join(state.dir, 'logs', `${name}.log`);
  const fd = openSync(logPath, 'a');
  try {
    writeFileSync(fd, `# ${new Date().toISOString()} ${argv.join(' ')}\n`);
    const child = spawn(cmd as string, args, { cwd: state.dir, detached: true, stdio: ['ignore', fd, fd] });
    if (!child.pid) throw new Error(`could not start ${cmd}`);
    child.on('error', () => undefined); // reported through the readiness checks and the log
    child.unref();
    return { name, pid: child.pid, argv0, log: logPath };
  } finally {
    closeSync(fd);
  }
}

/** Records a started process in the state (and its pid file). */
function record(state: ClusterState, p: ProcessRecord): void {
  state.processes.push(p);
  writeFileSync(join(state.dir, 'pids', `${p.name}.pid`), `${p.pid}\n`);
  saveState(state);
}

/** Like waitFor, but fails at once (with the log's tail) when a recorded process has exited. */
async function waitAlive(
  state: ClusterState,
  what: string,
  timeoutMs: number,
  check: () => Promise<boolean>,
): Promise<void> {
  await waitFor(
    what,
    async () => {
      for (const p of state.processes) {
        if (!isOurProcess(p)) {
          throw new FatalError(`${p.name} (pid ${p.pid}) exited; ${p.log}:\n${tail(p.log, 25)}`);
        }
      }
      return check();
    },
    { timeoutMs, intervalMs: 200, fatal: (e) => e instanceof FatalError },
  );
}

class FatalError extends Error {}

/** True while pid runs the recorded executable (not a zombie, not a recycled PID). */
export function isOurProcess(p: ProcessRecord): boolean {
  try {
    const stat = readFileSync(`/proc/${p.pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    const argv0 = readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').split('\0')[0];
    return argv0 === p.argv0;
  } catch {
    return false;
  }
}

/** Stops the processes recorded in dir/state.json and removes the state unless keep. */
export async function stopCluster(dir: string, opts: StopOptions = {}): Promise<StopResult> {
  const state = readState(resolve(dir));
  if (!state) return { terminated: [], killed: [], notRunning: [], volumesRemoved: [] };
  // The volumes' directories are only known from their PersistentVolumes: read them while the
  // apiserver still answers, remove them once the controller-manager can make no new ones. A
  // `--keep` records them in state.json, for the `down` that removes the state later.
  let volumes: string[] = state.volumeDirs ?? [];
  let volumesProblem: string | undefined;
  if (state.processes.some(isOurProcess)) {
    let client: KubeClient | undefined;
    try {
      client = KubeClient.fromKubeconfig(state.kubeconfig);
      volumes = [...new Set([...volumes, ...(await provisionedVolumeDirs(client))])];
    } catch (e) {
      volumesProblem = `could not list the PersistentVolumes (${e instanceof Error ? e.message : String(e)}); directories this cluster provisioned under /tmp/hostpath_pv may remain`;
    } finally {
      client?.close();
    }
  } else if (state.volumeDirs === undefined) {
    volumesProblem =
      "the cluster's processes were not running, so its PersistentVolumes could not be listed; directories it provisioned under /tmp/hostpath_pv may remain";
  }
  if (opts.keep) {
    state.volumeDirs = volumes;
    saveState(state);
  }
  const result = await stopProcesses(state, opts);
  if (!opts.keep) removeOwnEntries(state.dir);
  if (opts.keep) return { ...result, ...(volumesProblem ? { volumesProblem } : {}) };
  return { ...result, volumesRemoved: removeVolumeDirs(volumes), ...(volumesProblem ? { volumesProblem } : {}) };
}

async function stopProcesses(state: ClusterState, opts: StopOptions): Promise<StopResult> {
  const log = opts.log ?? (() => undefined);
  const graceMs = opts.graceMs ?? 10_000;
  const result: StopResult = { terminated: [], killed: [], notRunning: [], volumesRemoved: [] };
  // The real node's agents first; then its runtime, shims and pods (through their cgroup) and
  // the host put back; then the control plane's clients, the apiserver, etcd.
  const order = ['kwok', 'kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
  const procs = [...state.processes].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
  const nodeAgents = ['kubelet', 'kube-proxy', 'kube-router'];
  const groups = [
    procs.filter((p) => nodeAgents.includes(p.name)),
    procs.filter((p) => ![...nodeAgents, 'containerd', 'kube-apiserver', 'etcd'].includes(p.name)),
    procs.filter((p) => p.name === 'kube-apiserver'),
    procs.filter((p) => p.name === 'etcd'),
  ];
  for (const [i, group] of groups.entries()) {
    if (i === 1 && state.realNode) {
      const containerd = procs.filter((p) => p.name === 'containerd');
      const wasRunning = containerd.filter(isOurProcess);
      result.hostProblems = await cleanUpRealNode(state.realNode);
      for (const p of containerd) {
        const what = `${p.name} (pid ${p.pid})`;
        if (!wasRunning.includes(p)) result.notRunning.push(what);
        else (isOurProcess(p) ? result.killed : result.terminated).push(what);
      }
    }
    const live = group.filter((p) => {
      if (isOurProcess(p)) return true;
      result.notRunning.push(`${p.name} (pid ${p.pid})`);
      return false;
    });
    for (const p of live) signal(p, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (live.some(isOurProcess) && Date.now() < deadline) await sleep(100);
    for (const p of live) {
      if (isOurProcess(p)) {
        log(`${p.name} (pid ${p.pid}) did not stop within ${graceMs} ms: SIGKILL`);
        signal(p, 'SIGKILL');
        result.killed.push(`${p.name} (pid ${p.pid})`);
      } else {
        result.terminated.push(`${p.name} (pid ${p.pid})`);
      }
    }
    const killDeadline = Date.now() + 5000;
    while (live.some(isOurProcess) && Date.now() < killDeadline) await sleep(50);
  }
  return result;
}

/**
 * SIGKILLs the processes in state.processes (read when it fires, so later starts count) on exit,
 * SIGINT or SIGTERM of this process; the returned function removes the hooks.
 */
function killOnExit(state: ClusterState): () => void {
  const killAll = (): void => {
    for (const p of state.processes) if (isOurProcess(p)) signal(p, 'SIGKILL');
    if (state.realNode) restoreHost(state.realNode);
  };
  const onSignal = (sig: NodeJS.Signals): void => {
    killAll();
    disarm();
    process.kill(process.pid, sig); // default action now that our handler is gone
  };
  const disarm = (): void => {
    process.off('exit', killAll);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  process.on('exit', killAll);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return disarm;
}

function signal(p: ProcessRecord, sig: NodeJS.Signals): void {
  try {
    process.kill(p.pid, sig);
  } catch {
    // gone meanwhile
  }
}

interface ClusterHealth {
  healthy: boolean;
  processes: (ProcessRecord & { running: boolean })[];
  problems: string[];
}

export async function clusterHealth(state: ClusterState): Promise<ClusterHealth> {
  const processes = state.processes.map((p) => ({ ...p, running: isOurProcess(p) }));
  const problems = processes.filter((p) => !p.running).map((p) => `${p.name} (pid ${p.pid}) is not running`);
  const expected = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'kwok'];
  if (state.realNode) expected.push('apiserver-forwarder', 'registry', 'containerd', 'kubelet', 'kube-proxy');
  if (state.networkPolicies) expected.push('kube-router');
  for (const name of expected) if (!processes.some((p) => p.name === name)) problems.push(`${name} was never started`);
  if (problems.length === 0) {
    let client: KubeClient | undefined;
    try {
      client = KubeClient.fromKubeconfig(state.kubeconfig);
      const r = await client.request('GET', '/readyz', undefined, { timeoutMs: 5000 });
      if (r.status !== 200) problems.push(`kube-apiserver /readyz answered ${r.status}`);
    } catch (e) {
      problems.push(`kube-apiserver /readyz: ${String(e)}`);
    } finally {
      client?.close();
    }
  }
  return { healthy: problems.length === 0, processes, problems };
}

export function readState(dir: string): ClusterState | undefined {
  const f = join(dir, 'state.json');
  if (!existsSync(f)) return undefined;
  return JSON.parse(readFileSync(f, 'utf8')) as ClusterState;
}

function saveState(state: ClusterState): void {
  const f = join(state.dir, 'state.json');
  writeFileSync(`${f}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${f}.tmp`, f);
}

function removeOwnEntries(dir: string): void {
  // Never delete through a mount point (a pod's hostPath volume, a kubelet tmpfs).
  const mounted = mountsUnder(dir);
  if (mounted.length > 0) throw new Error(`not removing ${dir}: still mounted there: ${mounted.join(', ')}`);
  for (const e of OWN_ENTRIES) rmSync(join(dir, e), { recursive: true, force: true });
  try {
    if (readdirSync(dir).length === 0) rmdirSync(dir);
  } catch {
    // not there
  }
}

// ---------------------------------------------------------------------------------------------
// files

function writeKubeconfig(path: string, server: string, pki: string, user: string): void {
  const b64 = (f: string): string => readFileSync(join(pki, f)).toString('base64');
  writeFileSync(
    path,
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: osk-test',
      '  cluster:',
      `    server: ${server}`,
      `    certificate-authority-data: ${b64('ca.crt')}`,
      'users:',
      `- name: ${user}`,
      '  user:',
      `    client-certificate-data: ${b64(`${user}.crt`)}`,
      `    client-key-data: ${b64(`${user}.key`)}`,
      'contexts:',
      '- name: osk-test',
      '  context:',
      '    cluster: osk-test',
      `    user: ${user}`,
      'current-context: osk-test',
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
}

function writeStages(path: string, podReadyDelayMs: number, jobCompleteDelayMs: number): void {
  const tmpl = readFileSync(join(HERE, 'kwok-stages.yaml'), 'utf8');
  const body = tmpl
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .join('\n')
    .replaceAll('${POD_READY_DELAY_MS}', String(podReadyDelayMs))
    .replaceAll('${JOB_COMPLETE_DELAY_MS}', String(jobCompleteDelayMs));
  writeFileSync(path, body);
}

// ---------------------------------------------------------------------------------------------
// small helpers

/** Distinct free TCP ports on 127.0.0.1 (all held open together, then released). */
export async function freePorts<K extends string>(names: K[]): Promise<Record<K, number>> {
  const servers: Server[] = [];
  const out = {} as Record<K, number>;
  try {
    for (const n of names) {
      const s = createServer();
      servers.push(s);
      await new Promise<void>((res, rej) => {
        s.once('error', rej);
        s.listen(0, '127.0.0.1', () => res());
      });
      const addr = s.address();
      if (!addr || typeof addr === 'string') throw new Error('no port');
      out[n] = addr.port;
    }
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(() => r(undefined)))));
  }
  return out;
}

/**
 * kube-apiserver derives its advertise address from the default route when bound to 127.0.0.1,
 * and refuses to start on a host without one. There, advertise a documentation address
 * (192.0.2.1, TEST-NET-1: never routed, nothing is ever sent to it) and write no Endpoints for it.
 */
function advertiseFlags(): string[] {
  try {
    const routes = readFileSync('/proc/net/route', 'utf8').split('\n').slice(1);
    if (routes.some((l) => l.split(/\s+/)[1] === '00000000')) return [];
  } catch {
    return [];
  }
  return ['--advertise-address=192.0.2.1', '--endpoint-reconciler-type=none'];
}

function plainGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = httpGet(url, { timeout: 3000 }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
  });
}

/** GET on a component's own self-signed serving port (only /healthz-like paths). */
function insecureGet(url: string): Promise<{ status: number; body: string }> {
  return new Promise((res, rej) => {
    const req = httpsGet(url, { timeout: 3000, rejectUnauthorized: false }, (r) => {
      let body = '';
      r.on('data', (c: Buffer) => (body += c.toString()));
      r.on('end', () => res({ status: r.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', rej);
  });
}

function runToEnd(cmd: string, args: string[]): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', rej);
    child.on('close', (code) =>
      code === 0 ? res() : rej(new Error(`${cmd} ${args.join(' ')}: exit ${code}: ${err}`)),
    );
  });
}

function tail(path: string, lines: number): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
