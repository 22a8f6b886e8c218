// A local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
// kwok) for trying osk and for integration tests; see test/cluster/control-plane.ts.
//
//   npm run cluster:up -- [--nodes N] [--real-node [--network-policies]] [--dir D] [--gpu-nodes N] [--pod-ready-delay 2s] [--job-complete-delay 1s]
//   npm run cluster:down -- [--dir D] [--keep] [--grace 10s]
//   node --import tsx scripts/cluster.ts status [--dir D]
//
// `up` builds the binaries when needed (cached in ${OSK_CACHE_DIR:-~/.cache/osk}/k8s-<pin>/bin),
// starts the processes detached (they keep running after this command), writes progress to stderr
// and, as its last line on stdout, `export KUBECONFIG=<path>`, so this works:
//
//   eval "$(npm run -s cluster:up | tail -n 1)"
import { parseArgs } from 'node:util';
import {
  clusterHealth,
  defaultClusterDir,
  parseDurationMs,
  readState,
  startCluster,
  stopCluster,
} from '../test/cluster/control-plane.js';
import { REAL_NODE_STORAGE_CLASS } from '../test/cluster/real-node.js';
import { DEFAULT_STORAGE_CLASS } from '../test/cluster/storage.js';

const USAGE = `usage:
  cluster.ts up     [--nodes N] [--real-node [--network-policies]] [--dir DIR] [--gpu-nodes N] [--pod-ready-delay DURATION] [--job-complete-delay DURATION]
  cluster.ts down   [--dir DIR] [--keep] [--grace DURATION]
  cluster.ts status [--dir DIR]
DIR defaults to \${OSK_STATE_DIR:-$HOME/.local/state/osk}/cluster; the kubeconfig is DIR/kubeconfig.
N defaults to 5 (3 control plane + 2 compute, one of them with GPUs), fake (kwok) nodes.
--real-node adds a real node (kubelet, kube-proxy, containerd; root) labelled for both roles, and
CoreDNS; with --nodes 0 it is the only node. --network-policies makes it enforce NetworkPolicies
(kube-network-policies runs on it; the CNI bridge plugin alone does not).
DURATION: 500 (ms), 500ms, 2s, 1m. Delays default to $OSK_POD_READY_DELAY_MS / $OSK_JOB_COMPLETE_DELAY_MS or 0.`;

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`;
}

async function main(): Promise<number> {
  const [cmd, ...rest] = process.argv.slice(2);
  const { values } = parseArgs({
    args: rest,
    options: {
      nodes: { type: 'string' },
      'real-node': { type: 'boolean' },
      'network-policies': { type: 'boolean' },
      dir: { type: 'string' },
      'gpu-nodes': { type: 'string' },
      'pod-ready-delay': { type: 'string' },
      'job-complete-delay': { type: 'string' },
      keep: { type: 'boolean' },
      grace: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help || !cmd) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const dir = values.dir ?? defaultClusterDir();
  const int = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--${name} must be a whole number, not ${v}`);
    return n;
  };
  switch (cmd) {
    case 'up': {
      const gpuNodes = int('gpu-nodes', values['gpu-nodes']);
      const cluster = await startCluster({
        nodes: int('nodes', values.nodes) ?? 5,
        dir,
        ...(values['real-node'] ? { realNode: true } : {}),
        ...(values['network-policies'] ? { networkPolicies: true } : {}),
        ...(gpuNodes === undefined ? {} : { gpuNodes }),
        ...(values['pod-ready-delay'] ? { podReadyDelayMs: parseDurationMs(values['pod-ready-delay']) } : {}),
        ...(values['job-complete-delay'] ? { jobCompleteDelayMs: parseDurationMs(values['job-complete-delay']) } : {}),
      });
      cluster.client.close();
      const s = cluster.state;
      process.stderr.write(
        `nodes: ${[
          ...s.nodes.map((n) => `${n.name} (${n.role}${n.gpu ? ', gpu' : ''})`),
          ...(s.realNode
            ? [
                `${s.realNode.name} (real: both roles, ${s.realNode.net.nodeIP}, pods ${s.realNode.net.podCIDR}${
                  s.networkPolicies ? ', NetworkPolicies enforced' : ''
                })`,
              ]
            : []),
        ].join(', ')}\n` +
          (s.realNode
            ? `storage: default StorageClass ${REAL_NODE_STORAGE_CLASS} (pre-made volumes in ${s.realNode.dir}/volumes); ${DEFAULT_STORAGE_CLASS} beside it\n`
            : `storage: default StorageClass ${DEFAULT_STORAGE_CLASS} (kube-controller-manager's host-path provisioner, volumes in /tmp/hostpath_pv)\n`) +
          (s.realNode
            ? `registry: ${s.realNode.registry} (plain HTTP; the node pulls from it): osk images build -f cloud.yaml --push ${s.realNode.registry} --push-insecure, with spec.images.registry: ${s.realNode.registry}\n`
            : '') +
          `processes: ${s.processes.map((p) => `${p.name}=${p.pid}`).join(' ')} (logs in ${s.dir}/logs)\n` +
          `stop with: npm run cluster:down${values.dir ? ` -- --dir ${shellQuote(s.dir)}` : ''}\n`,
      );
      process.stdout.write(`export KUBECONFIG=${shellQuote(cluster.kubeconfig)}\n`);
      return 0;
    }
    case 'down': {
      if (!readState(dir)) {
        process.stderr.write(`no cluster recorded in ${dir}\n`);
        return 0;
      }
      const r = await stopCluster(dir, {
        keep: values.keep ?? false,
        graceMs: values.grace ? parseDurationMs(values.grace) : 10_000,
        log: (l) => process.stderr.write(`${l}\n`),
      });
      if (r.volumesProblem) process.stderr.write(`warning: ${r.volumesProblem}\n`);
      for (const p of r.hostProblems ?? []) process.stderr.write(`warning: not undone on the host: ${p}\n`);
      process.stderr.write(
        `stopped: ${r.terminated.join(', ') || '-'}` +
          (r.killed.length ? `; killed: ${r.killed.join(', ')}` : '') +
          (r.notRunning.length ? `; already gone: ${r.notRunning.join(', ')}` : '') +
          (r.volumesRemoved.length ? `; removed ${r.volumesRemoved.length} provisioned volume directories` : '') +
          (values.keep ? `; state and volumes kept in ${dir} and /tmp/hostpath_pv` : `; removed the state in ${dir}`) +
          '\n',
      );
      return 0;
    }
    case 'status': {
      const state = readState(dir);
      if (!state) {
        process.stderr.write(`no cluster recorded in ${dir}\n`);
        return 1;
      }
      const h = await clusterHealth(state);
      for (const p of h.processes) process.stdout.write(`${p.name}\t${p.pid}\t${p.running ? 'running' : 'gone'}\n`);
      process.stdout.write(
        h.healthy
          ? `healthy: ${state.server}, KUBECONFIG=${state.kubeconfig}\n`
          : `unhealthy: ${h.problems.join('; ')}\n`,
      );
      return h.healthy ? 0 : 1;
    }
    default:
      process.stderr.write(`unknown command ${JSON.stringify(cmd)}\n${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`cluster: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
