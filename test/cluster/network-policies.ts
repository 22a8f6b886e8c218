// What enforces NetworkPolicies on the real node, when the cluster is started with networkPolicies:
// the CNI bridge plugin does not, so kube-router (build.ts) runs there with only its
// network-policy controller, as a process of the node in its network namespace, beside
// kube-proxy. It writes iptables chains (KUBE-ROUTER-*, KUBE-POD-FW-*, KUBE-NWPLCY-*) and ipsets
// there; both belong to that namespace (ipsets are per network namespace), so the host's own
// tables and sets are never touched, and deleting the namespace at teardown removes them. Its
// process is recorded by PID and stopped with the node's agents, and it runs in the node's cgroup,
// so the node's cgroup kill ends it too.
//
// Bridged pod-to-pod traffic passes iptables because node-host.ts switches
// bridge-nf-call-iptables on in the namespace; kube-router matches it with -m physdev.
//
// Tried first: kube-network-policies v0.8.0 (Kubernetes SIG Network), which reports no security
// flaws. It sends the first packet of each connection to userspace with nftables' queue
// expression, which this kernel lacks (CONFIG_NFT_QUEUE is not set): every sync of its rules
// failed with "netlink receive: no such file or directory", and no policy was enforced.
import { join } from 'node:path';
import { commandExists, succeeds } from './exec.js';
import { type NodeNetwork, nodeCommand } from './node-host.js';

/** The port of kube-router's /healthz in the node's namespace (its default). */
const HEALTH_PORT = 20244;

/** Why this host cannot enforce NetworkPolicies on a real node, or undefined when it can. */
export function networkPoliciesUnsupported(): string | undefined {
  for (const cmd of ['ipset', 'iptables-save', 'iptables-restore']) {
    if (!commandExists(cmd))
      return `enforcing NetworkPolicies needs ${cmd}: apt-get install ipset iptables (or run scripts/install-test-tools.sh as root)`;
  }
  return undefined;
}

export interface EnforcerContext {
  net: NodeNetwork;
  nodeName: string;
  /** where its kubeconfig is written */
  dir: string;
  /** the kube-router binary */
  binary: string;
  /** the cluster's Service range: kube-router refuses to start without it */
  serviceCIDR: string;
  /** writes a kubeconfig that reaches the API server from the node's namespace */
  writeKubeconfig(path: string): void;
  start(name: string, argv: string[], recordedArgv0: string, cgroupLeaf?: string): Promise<void>;
  waitAlive(what: string, check: () => Promise<boolean>): Promise<void>;
}

/** Starts kube-router's network-policy controller on the node and waits for its /healthz. */
export async function startPolicyEnforcer(ctx: EnforcerContext): Promise<void> {
  const kubeconfig = join(ctx.dir, 'kube-router.kubeconfig');
  ctx.writeKubeconfig(kubeconfig);
  await ctx.start(
    'kube-router',
    nodeCommand(ctx.net, [
      ctx.binary,
      `--kubeconfig=${kubeconfig}`,
      `--hostname-override=${ctx.nodeName}`,
      '--run-firewall=true',
      '--run-router=false',
      '--run-service-proxy=false',
      // The CNI configuration is the node's own (real-node.ts): kube-router must not write one.
      '--enable-cni=false',
      `--service-cluster-ip-range=${ctx.serviceCIDR}`,
      `--health-port=${HEALTH_PORT}`,
      '--v=2',
    ]),
    ctx.binary,
    'kube-router',
  );
  // Alive (/healthz: 200 while its controllers' heartbeats are fresh) and through its first sync
  // (its chain hooked into FORWARD exists in the node's namespace).
  const [iptables, ...args] = nodeCommand(ctx.net, ['iptables', '-w', '-S', 'KUBE-ROUTER-FORWARD']);
  await ctx.waitAlive('kube-router /healthz and its first sync on the real node', async () => {
    try {
      const r = await fetch(`http://${ctx.net.nodeIP}:${HEALTH_PORT}/healthz`, { signal: AbortSignal.timeout(2000) });
      return r.status === 200 && succeeds(iptables as string, args);
    } catch {
      return false;
    }
  });
}
