/**
 * osk's NetworkPolicies hold against real traffic: a cluster whose real node enforces them
 * (kube-router's policy controller, test/cluster/network-policies.ts), the policies osk renders for
 * examples/minimal.yaml created as they are (only their namespace changed), and busybox pods
 * wearing the labels of osk's components. Before the policies every probe connects; after them
 * the keystone-api pod still reaches the mariadb pod on 3306 and nothing else does: not on
 * another port of the same pod, not a pod osk allows no such edge (horizon), not a pod with
 * keystone's labels in another namespace (ingress), and keystone-api not a server outside its
 * namespace (egress); the cluster DNS still answers it (allow-dns). A refused connection is
 * refused at once: kube-router REJECTs (ICMP port unreachable), it does not drop. Its iptables
 * chains and ipsets live in the node's network namespace only,
 * and go with it. Needs root and the packages of scripts/install-test-tools.sh; the first run
 * compiles kube-router (build.ts). OSK_SKIP_CLUSTER_TESTS=1 skips it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseCloudFile } from '../../src/spec/load.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { allObjects } from '../../src/targets/kubernetes/objects.js';
import { render } from '../../src/targets/kubernetes/render.js';
import { type Cluster, isOurProcess, startCluster } from '../cluster/control-plane.js';
import { outputOf } from '../cluster/exec.js';
import type { KubeClient, KubeObject } from '../cluster/kube.js';
import { waitFor } from '../cluster/kube.js';
import { networkPoliciesUnsupported } from '../cluster/network-policies.js';
import { cgroupPids, nodeCommand } from '../cluster/node-host.js';
import { realNodeUnsupported } from '../cluster/real-node.js';
import { clusterSkipReason } from './support.js';

const NS = 'np';
const OUTSIDE = 'np-outside';
const EXAMPLE = join(import.meta.dirname, '..', '..', 'examples', 'minimal.yaml');

type Policy = KubeObject & {
  spec: { podSelector: { matchLabels?: Record<string, string> }; ingress?: { from?: unknown[] }[] };
};

/** The NetworkPolicies osk renders for the example, by name. */
function renderedPolicies(): Map<string, Policy> {
  const file = parseCloudFile(readFileSync(EXAMPLE, 'utf8'), 'minimal');
  const { groups } = render(file, SecretStore.memory(file.metadata.name));
  const policies = allObjects(groups).filter((o) => (o as KubeObject).kind === 'NetworkPolicy') as Policy[];
  return new Map(policies.map((p) => [p.metadata.name, p]));
}

/**
 * A prober: every round, one HTTP GET per target (name=ip:port), or a lookup through the cluster
 * DNS (name=dns), each bounded by `timeout`, and one line with each target's exit code (0:
 * answered). Debian's busybox-static wget crashes with -T.
 */
const PROBER = `
n=0
while :; do
  n=$((n+1)); line="round $n"
  for t in "$@"; do
    name=\${t%%=*}; addr=\${t#*=}
    if [ "$addr" = dns ]; then timeout 3 nslookup kubernetes.default.svc.cluster.local >/dev/null 2>&1
    else timeout 3 wget -q -O /dev/null "http://$addr/" 2>/dev/null; fi
    line="$line $name=$?"
  done
  echo "$line"; sleep 1
done
`;

/** Starts busybox httpd (it forks into the background) on each port, serving one page. */
const serve = (ports: number[]): string =>
  `mkdir -p /www && echo ok > /www/index.html && ${ports.map((p) => `httpd -p ${p} -h /www`).join(' && ')}\n`;

type Pod = KubeObject & { status: { phase?: string; podIP?: string } };

async function pod(
  client: KubeClient,
  image: string,
  ns: string,
  name: string,
  labels: Record<string, string>,
  command: string[],
): Promise<string> {
  await client.create(`/api/v1/namespaces/${ns}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels },
    spec: {
      terminationGracePeriodSeconds: 0,
      containers: [{ name, image, imagePullPolicy: 'Never', command }],
    },
  });
  return waitFor(
    `pod ${ns}/${name} running`,
    async () => {
      const p = await client.get<Pod>(`/api/v1/namespaces/${ns}/pods/${name}`);
      return p.status.phase === 'Running' && p.status.podIP ? p.status.podIP : undefined;
    },
    { timeoutMs: 120_000 },
  );
}

/** The prober's rounds, each as target -> exit code. */
async function rounds(client: KubeClient, ns: string, name: string): Promise<Map<number, Record<string, number>>> {
  const r = await client.request<string>('GET', `/api/v1/namespaces/${ns}/pods/${name}/log`);
  assert.equal(r.status, 200, String(r.body));
  const out = new Map<number, Record<string, number>>();
  for (const line of String(r.body).split('\n')) {
    const m = /^round (\d+) (.*)$/.exec(line);
    if (!m?.[1] || m[2] === undefined) continue;
    out.set(
      Number(m[1]),
      Object.fromEntries(m[2].split(' ').map((kv) => [kv.split('=')[0], Number(kv.split('=')[1])])),
    );
  }
  return out;
}

interface Prober {
  ns: string;
  name: string;
  /** target -> whether it must answer */
  expect: Record<string, boolean>;
}

/**
 * Waits until each prober has 3 rounds in a row, all begun after round `after[prober]`, whose
 * results are what expect says (0 where it must answer, anything else where it must not).
 */
async function settle(
  client: KubeClient,
  probers: Prober[],
  after: Map<string, number>,
  what: string,
  explain: () => string,
): Promise<string> {
  const seen: string[] = [];
  await waitFor(
    what,
    async () => {
      seen.length = 0;
      for (const p of probers) {
        const rs = [...(await rounds(client, p.ns, p.name))].filter(([n]) => n > (after.get(p.name) ?? 0) + 1);
        const last = rs.slice(-3);
        seen.push(`${p.name}: ${last.map(([n, r]) => `#${n} ${JSON.stringify(r)}`).join(' ')}`);
        const good = (r: Record<string, number>) =>
          Object.entries(p.expect).every(([t, ok]) => r[t] !== undefined && (r[t] === 0) === ok);
        if (last.length < 3 || !last.every(([, r]) => good(r))) return undefined;
      }
      return true;
    },
    { timeoutMs: 120_000, intervalMs: 2000 },
  ).catch((e) => {
    throw new Error(`${String(e)}; last rounds:\n${seen.join('\n')}\n${explain()}`);
  });
  return seen.join('\n');
}

function skipReason(): string | undefined {
  return clusterSkipReason() ?? realNodeUnsupported() ?? networkPoliciesUnsupported();
}

test("osk's NetworkPolicies on a node that enforces them: default deny, the allowed edge only", {
  skip: skipReason(),
  timeout: 60 * 60_000,
}, async (t) => {
  const policies = renderedPolicies();
  const hostSets = ipsets();
  const dir = mkdtempSync(join(tmpdir(), 'osk-netpol-test-'));
  let cluster: Cluster | undefined;
  t.after(async () => {
    await cluster?.stop({ graceMs: 5000 });
    rmSync(dir, { recursive: true, force: true });
  });
  const started = Date.now();
  const explain = () => enforcerLog(cluster);
  cluster = await startCluster({
    nodes: 0,
    realNode: true,
    networkPolicies: true,
    dir,
    stopOnExit: true,
    log: (l) => t.diagnostic(l),
  });
  t.diagnostic(`cluster with the enforcer up in ${((Date.now() - started) / 1000).toFixed(1)}s`);
  const { client } = cluster;
  const node = cluster.state.realNode;
  assert.ok(node, 'the cluster has a real node');
  const busybox = await nodeImage(client, node.name, 'localhost/osk-test/busybox');
  assert.ok(busybox, 'the node has the busybox image');

  const labels = (name: string): Record<string, string> => {
    const l = policies.get(name)?.spec.podSelector.matchLabels;
    assert.ok(l, `osk renders a NetworkPolicy ${name} with a pod selector`);
    return l;
  };
  // The edge under test, as osk renders it: mariadb admits keystone-api on 3306, not horizon.
  const mariadbSources = JSON.stringify(policies.get('mariadb')?.spec.ingress);
  assert.ok(mariadbSources.includes('"keystone-api"'), 'mariadb admits keystone-api');
  assert.ok(!mariadbSources.includes('"horizon"'), 'mariadb does not admit horizon');

  for (const name of [NS, OUTSIDE])
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  const db = await pod(client, busybox, NS, 'db', labels('mariadb'), [
    'sh',
    '-c',
    `${serve([3306, 8080])}exec sleep 1000000`,
  ]);
  // A server outside the namespace (for keystone's egress) that probes the database (its ingress).
  const out = await pod(client, busybox, OUTSIDE, 'out', labels('keystone-api'), [
    'sh',
    '-c',
    serve([3306]) + PROBER,
    'prober',
    `db-3306=${db}:3306`,
  ]);
  const probe = (targets: string[]) => ['sh', '-c', PROBER, 'prober', ...targets];
  await pod(
    client,
    busybox,
    NS,
    'keystone',
    labels('keystone-api'),
    probe([`db-3306=${db}:3306`, `db-8080=${db}:8080`, `out-3306=${out}:3306`, 'dns=dns']),
  );
  await pod(client, busybox, NS, 'horizon', labels('horizon'), probe([`db-3306=${db}:3306`]));

  const open: Prober[] = [
    { ns: NS, name: 'keystone', expect: { 'db-3306': true, 'db-8080': true, 'out-3306': true, dns: true } },
    { ns: NS, name: 'horizon', expect: { 'db-3306': true } },
    { ns: OUTSIDE, name: 'out', expect: { 'db-3306': true } },
  ];
  t.diagnostic(
    `without policies:\n${await settle(client, open, new Map(), 'every probe to connect without policies', explain)}`,
  );

  // osk's policies, as rendered, in the test namespace.
  const applied = Date.now();
  const before = new Map<string, number>();
  for (const p of open) before.set(p.name, Math.max(0, ...(await rounds(client, p.ns, p.name)).keys()));
  for (const p of policies.values()) {
    await client.create(`/apis/networking.k8s.io/v1/namespaces/${NS}/networkpolicies`, {
      ...p,
      metadata: { ...p.metadata, namespace: NS },
    });
  }
  const enforced: Prober[] = [
    // The allowed edge, the same pods on a port osk allows no one, a server outside the namespace
    // (keystone's egress), and the cluster DNS every pod may reach (allow-dns).
    { ns: NS, name: 'keystone', expect: { 'db-3306': true, 'db-8080': false, 'out-3306': false, dns: true } },
    // A component osk allows no edge to the database.
    { ns: NS, name: 'horizon', expect: { 'db-3306': false } },
    // keystone's labels, but outside the namespace: its pod selector does not reach there.
    { ns: OUTSIDE, name: 'out', expect: { 'db-3306': false } },
  ];
  t.diagnostic(
    `with osk's ${policies.size} policies:\n${await settle(client, enforced, before, 'the policies to hold', explain)}`,
  );
  t.diagnostic(`held 3 rounds in a row ${((Date.now() - applied) / 1000).toFixed(1)}s after the policies were created`);

  // kube-router's sets are the node's: its namespace has them, the host's are as they were.
  const nodeSets = ipsets(nodeCommand(node.net, ['ipset', 'list', '-n']));
  assert.ok(
    nodeSets.some((n) => n.startsWith('KUBE-')),
    `kube-router's ipsets are in the node's namespace (${nodeSets.join(' ')})`,
  );
  assert.deepEqual(ipsets(), hostSets, "the host's ipsets are untouched");

  // Stop: kube-router by its recorded PID with the node's agents; its chains and sets go with the
  // node's network namespace.
  const kubeRouter = cluster.state.processes.find((p) => p.name === 'kube-router');
  assert.ok(kubeRouter, 'kube-router is a recorded process of the cluster');
  const stopped = await cluster.stop({ graceMs: 5000 });
  cluster = undefined;
  assert.deepEqual(stopped.hostProblems, []);
  assert.ok(stopped.terminated.includes(`kube-router (pid ${kubeRouter.pid})`), 'kube-router stopped on SIGTERM');
  assert.equal(isOurProcess(kubeRouter), false, 'kube-router is gone');
  assert.equal(existsSync(`/run/netns/${node.net.netns}`), false, 'the network namespace is gone');
  assert.deepEqual(cgroupPids(node.cgroup), [], 'no process of the node is left');
  assert.deepEqual(ipsets(), hostSets, "the host's ipsets are as they were");
});

/** The reference of an image the node reports, by its name without the tag. */
async function nodeImage(client: KubeClient, nodeName: string, name: string): Promise<string | undefined> {
  const n = await client.get(`/api/v1/nodes/${nodeName}`);
  const images = (n.status?.images ?? []) as { names: string[] }[];
  return images.flatMap((i) => i.names).find((r) => r.startsWith(`${name}:`));
}

/** The enforcer's log, for a failure's message. */
function enforcerLog(cluster: Cluster | undefined): string {
  const p = cluster?.state.processes.find((x) => x.name === 'kube-router');
  if (!p) return 'no kube-router process recorded';
  return `${p.log} (last lines):\n${readFileSync(p.log, 'utf8').split('\n').slice(-40).join('\n')}`;
}

/** The names of the ipsets in the host's network namespace, or in the node's. */
function ipsets(argv: string[] = ['ipset', 'list', '-n']): string[] {
  const [cmd, ...args] = argv;
  return outputOf(cmd as string, args)
    .split('\n')
    .filter(Boolean)
    .sort();
}
