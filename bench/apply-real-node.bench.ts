/**
 * npm run bench:apply -- --real-node — the cloud of the real-node e2e (real-node-cloud.ts:
 * Keystone, Glance, Placement, Neutron with OVN, Nova's fake driver, Cinder on a Ceph cluster on
 * the host, images built from Debian) on the test cluster's real node (kubelet + containerd),
 * measured:
 *  - `osk images build --import-containerd` (cached or not: said), `osk apply` to converged, and
 *    from the start of `osk apply` to a working cloud: the first `openstack token issue` that
 *    works, an image, a network and a flavor made with the openstack CLI, a server ACTIVE (fake
 *    driver) and a volume available (on Ceph), the last two timed as bench:up times its server;
 *  - summed RSS and PSS of the processes in the node's pod cgroups, per pod, per service and in
 *    total, beside the node's own agents, the control plane and Ceph on the host;
 *  - a second `osk apply` on the converged cloud;
 *  - beside it, measured in the same run first: the all-in-one (`osk up`, fake driver) of
 *    bench:up, with the ratios (`--no-allinone` leaves it out).
 * Needs root, the tools of scripts/install-test-tools.sh, `npm run build`, ports of 127.0.0.1
 * free for the all-in-one, and the host's real-node lock: run it as
 *   flock /work/realnode.lock flock /work/cloud.lock npm run bench:apply -- --real-node
 * where others share the host.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { OpenStackClient } from '../src/openstack/index.js';
import { cgroupDirs, cgroupPids } from '../test/cluster/node-host.js';
import {
  issueToken,
  NS,
  openstackEnv,
  type RealNodeCloud,
  realNodeCloudSkipReason,
  runCommand,
  startRealNodeCloud,
} from '../test/kubernetes/real-node-cloud.js';
import { measureUp, type UpFigures } from './all-in-one.js';
import { purgeLocalCloud } from './local-cloud.js';
import { allPids, gib, type Memory, mib, secs as s, sumMemory } from './memory.js';

const { values } = parseArgs({
  options: { 'real-node': { type: 'boolean' }, 'no-allinone': { type: 'boolean' }, verbose: { type: 'boolean' } },
});

const skip = realNodeCloudSkipReason();
if (skip) {
  console.error(`bench:apply --real-node cannot run here: ${skip}`);
  process.exit(2);
}

const t00 = Date.now();
/** Progress on stderr with the minutes since the start: the run takes a quarter of an hour or more. */
const progress = (line: string) =>
  process.stderr.write(`[${((Date.now() - t00) / 60_000).toFixed(1).padStart(5)} min] ${line}\n`);
// osk's own progress lines are many; only --verbose passes them on.
const oskLog = values.verbose ? progress : () => undefined;

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
console.log(`bench:apply --real-node, ${new Date().toISOString()}, load average at the start ${load()}`);

// ---------------------------------------------------------------------------------------------
// the all-in-one, first: it needs the host's ports and Open vSwitch directories, which the real
// node's pods then use; its cloud is purged before the cluster starts.

let allInOne: UpFigures | undefined;
if (!values['no-allinone']) {
  const state = await mkdtemp(join(tmpdir(), 'osk-bench-apply-aio-'));
  process.env.OSK_STATE_DIR = state;
  progress('osk up (all-in-one, fake driver)');
  try {
    allInOne = await measureUp('fake');
  } catch (e) {
    console.log(`the all-in-one failed, the real node is measured alone: ${(e as Error).message}`);
  } finally {
    await purgeLocalCloud();
    await rm(state, { recursive: true, force: true });
    delete process.env.OSK_STATE_DIR;
  }
  const after = realNodeCloudSkipReason();
  if (after) throw new Error(`after the all-in-one: ${after}`);
}

// ---------------------------------------------------------------------------------------------
// the real node

/** ms a step took, or why it failed. */
type Step = { ms: number } | { error: string };
const steps = new Map<string, Step>();
/** Steps whose failure leaves the cloud unusable: nothing after them is run. */
const gates = new Set<string>();
/**
 * Runs and times one step. A gate's failure stops the steps after it; a failure of one that is
 * not a gate (the server, the volume) is reported, and the next ones still run: what converged
 * is measured even when one service does not work.
 */
async function step<T>(name: string, f: () => Promise<T>, gate = true): Promise<T | undefined> {
  if ([...gates].some((g) => 'error' in (steps.get(g) ?? {}))) return undefined;
  if (gate) gates.add(name);
  const t = Date.now();
  progress(name);
  try {
    const r = await f();
    steps.set(name, { ms: Date.now() - t });
    return r;
  } catch (e) {
    const error = (e as Error).message.slice(-2000);
    steps.set(name, { error });
    progress(`${name} FAILED: ${error}`);
    return undefined;
  }
}
const ms = (name: string) => {
  const v = steps.get(name);
  return v && 'ms' in v ? v.ms : undefined;
};

/** The openstack CLI's JSON, or an error with its stderr. */
function cli(cliEnv: NodeJS.ProcessEnv, ...args: string[]): Record<string, unknown> {
  const r = runCommand('openstack', [...args, '-f', 'json'], cliEnv);
  if (r.code !== 0) throw new Error(`openstack ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout || 'null') as Record<string, unknown>;
}

progress('starting the test cluster with its real node, and Ceph on the host');
const tCluster = Date.now();
const cloud = await startRealNodeCloud(oskLog);
const clusterMs = Date.now() - tCluster;
let mem: Awaited<ReturnType<typeof nodeMemory>> | undefined;
let imagesCached = '';
let secondApply: string | undefined;
try {
  const { node, cloudFile } = cloud;
  await step('osk images build', async () => {
    const r = await cloud.osk(['images', 'build', '-f', cloudFile, '--import-containerd', node.socket, '-o', 'json']);
    if (r.code !== 0) throw new Error(r.stderr.slice(-2000));
    const out = JSON.parse(r.stdout) as { base: { built: boolean }; images: { cached: boolean }[] };
    const cached = out.images.filter((i) => i.cached).length;
    imagesCached =
      cached === out.images.length && !out.base.built
        ? `cached: all ${cached} images and the base from the cache; the time is resolving their packages and importing them into containerd`
        : `${cached} of ${out.images.length} images from the cache, the base ${out.base.built ? 'built' : 'cached'}`;
  });
  const t0 = Date.now();
  await step('osk apply', async () => {
    const r = await cloud.osk(['apply', '-f', cloudFile, '--timeout', '1500']);
    if (r.code !== 0) throw new Error(r.stderr.slice(-2000));
  });
  const cliEnv = await step('osk env', async () => {
    const { run, env } = await openstackEnv(cloud);
    if (run.code !== 0) throw new Error(run.stderr);
    return env;
  });
  await step('first openstack token issue', async () => {
    const r = await issueToken(cliEnv!);
    if (r.code !== 0) throw new Error(r.stderr);
  });
  const tokenAt = Date.now() - t0;
  let serverAt: number | undefined;
  // What the all-in-one's bootstrap makes (an image, a network, a flavor), made as the e2e does.
  await step('image, network, subnet, flavor (openstack CLI)', async () => {
    const image = join(cloud.dir, 'image.raw');
    runCommand('truncate', ['-s', '1M', image], cliEnv!);
    cli(cliEnv!, 'image', 'create', '--disk-format', 'raw', '--container-format', 'bare', '--file', image, 'rn-image');
    cli(cliEnv!, 'network', 'create', 'rn-net');
    cli(cliEnv!, 'subnet', 'create', '--network', 'rn-net', '--subnet-range', '192.168.77.0/24', 'rn-subnet');
    cli(cliEnv!, 'flavor', 'create', '--vcpus', '1', '--ram', '64', '--disk', '1', 'rn.tiny');
  });
  // Server and volume through osk's own client, polled every 250 ms as bench:up polls its server.
  const os = cliEnv ? OpenStackClient.fromCloudsYaml({ env: cliEnv }) : undefined;
  try {
    await step(
      'server create → ACTIVE',
      async () => {
        const flavor = (await os!.compute.flavors.find('rn.tiny'))!;
        const image = (await os!.image.images.find('rn-image'))!;
        const net = (await os!.network.networks.find('rn-net'))!;
        const created = await os!.compute.servers.create({
          name: 'bench-vm',
          flavorRef: flavor.id,
          imageRef: image.id,
          networks: [{ uuid: net.id }],
        });
        await os!.compute.servers.waitForStatus(created.id, 'ACTIVE', { timeoutMs: 300_000, intervalMs: 250 });
        serverAt = Date.now() - t0;
      },
      false,
    );
    await step(
      'volume create → available',
      async () => {
        const v = await os!.blockStorage.volumes.create({ size: 1, name: 'bench-volume' });
        await os!.blockStorage.volumes.waitForStatus(v.id, 'available', { timeoutMs: 300_000, intervalMs: 250 });
      },
      false,
    );
  } finally {
    await os?.close();
  }
  const workingAt = Date.now() - t0;

  mem = await nodeMemory(cloud);

  await step('second osk apply', async () => {
    const r = await cloud.osk(['apply', '-f', cloudFile, '--timeout', '600']);
    if (r.code !== 0) throw new Error(r.stderr.slice(-2000));
    secondApply = r.stdout.trim().split('\n').at(-1);
  });

  report(tokenAt, serverAt, workingAt);
  if ([...steps.values()].some((v) => 'error' in v)) process.exitCode = 1;
} finally {
  progress('stopping the cluster and Ceph');
  await cloud.stop();
}
console.log(`load average at the end ${load()}`);

// ---------------------------------------------------------------------------------------------

interface Row extends Memory {
  id: string;
  procs: number;
}

/**
 * The node's processes by the cgroup each is in (the kubelet's cgroupRoot is /<node.cgroup>,
 * cgroupfs driver: a pod's containers are in …/kubepods[/burstable|/besteffort]/pod<uid>/<id>;
 * containerd and its shims in /<node.cgroup>/runtime, the kubelet and kube-proxy in leaves of
 * their own, real-node.ts), then the host's programs of the test: the control plane and Ceph.
 */
async function nodeMemory(c: RealNodeCloud) {
  type Pod = { metadata: { uid: string; name: string; namespace: string; labels?: Record<string, string> } };
  const pods = new Map(
    (await c.cluster.client.get<{ items: Pod[] }>('/api/v1/pods')).items.map((p) => [p.metadata.uid, p.metadata]),
  );
  const byPod = new Map<string, number[]>();
  const agents = new Map<string, number[]>();
  const nodePids = cgroupPids(c.node.cgroup);
  for (const pid of nodePids) {
    let line: string | undefined;
    try {
      line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => l.split(':')[1] === 'memory');
    } catch {
      continue; // gone
    }
    const uid = /\/pod([0-9a-f-]{36})(\/|$)/.exec(line ?? '')?.[1];
    if (uid) byPod.set(uid, [...(byPod.get(uid) ?? []), pid]);
    else {
      const leaf = /\/(runtime|kubelet|kube-proxy)(\/|$)/.exec(line ?? '')?.[1] ?? 'other';
      const id = leaf === 'runtime' ? 'containerd + shims' : leaf;
      agents.set(id, [...(agents.get(id) ?? []), pid]);
    }
  }
  const cloudPods: (Row & { service: string })[] = [];
  const otherPods: Row[] = [];
  for (const [uid, pids] of byPod) {
    const meta = pods.get(uid);
    const row = { id: meta ? `${meta.namespace}/${meta.name}` : `pod ${uid}`, ...sumMemory(pids) };
    if (meta?.namespace === NS)
      cloudPods.push({ ...row, id: meta.name, service: meta.labels?.['app.kubernetes.io/name'] ?? meta.name });
    else otherPods.push(row);
  }
  const services = new Map<string, Row>();
  for (const p of cloudPods) {
    const t = services.get(p.service) ?? { id: p.service, rss: 0, pss: 0, procs: 0 };
    services.set(p.service, { id: p.service, rss: t.rss + p.rss, pss: t.pss + p.pss, procs: t.procs + p.procs });
  }
  const node = [...agents].map(([id, pids]) => ({ id, ...sumMemory(pids) }));
  const onNode = new Set(nodePids);
  const controlPlane = c.cluster.state.processes
    .filter((p) => !onNode.has(p.pid))
    .map((p) => ({ id: p.name, ...sumMemory([p.pid]) }));
  // Ceph's programs are the ones started with the test's conf.
  const cephConf = join(c.dir, 'ceph');
  const cephPids = allPids().filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return /^ceph-/.test(argv[0]?.split('/').at(-1) ?? '') && argv.some((a) => a.startsWith(cephConf));
    } catch {
      return false;
    }
  });
  // The kernel's own count for the pods' cgroup, as a check on the sums: anonymous memory
  // (total_rss) and page cache (total_cache) charged to …/kubepods.
  const stat = cgroupDirs(`${c.node.cgroup}/kubepods`).find((d) => /\/memory\//.test(d));
  const kernel = stat ? readFileSync(join(stat, 'memory.stat'), 'utf8') : '';
  const kb = (k: string) => Math.round(Number(new RegExp(`^${k} (\\d+)`, 'm').exec(kernel)?.[1] ?? 0) / 1024);
  const byRss = <R extends Row>(rows: R[]) => rows.sort((a, b) => b.rss - a.rss);
  return {
    cloudPods: byRss(cloudPods),
    services: byRss([...services.values()]),
    otherPods: byRss(otherPods),
    node: byRss(node),
    controlPlane: byRss(controlPlane),
    ceph: { id: 'Ceph (mon, mgr, OSD)', ...sumMemory(cephPids) },
    kubepods: { rss: kb('total_rss'), cache: kb('total_cache') },
  };
}

function total(id: string, rows: Row[]): Row {
  return rows.reduce((a, b) => ({ id, rss: a.rss + b.rss, pss: a.pss + b.pss, procs: a.procs + b.procs }), {
    id,
    rss: 0,
    pss: 0,
    procs: 0,
  });
}

function printRows(title: string, rows: Row[], extra?: (r: Row) => string): void {
  console.log(title);
  for (const r of rows)
    console.log(`  ${r.id.padEnd(48)} ${mib(r.rss)} ${mib(r.pss)}  ${String(r.procs).padStart(4)}${extra?.(r) ?? ''}`);
}

function report(tokenAt: number, serverAt: number | undefined, workingAt: number): void {
  const failed = [...steps].filter(([, v]) => 'error' in v);
  console.log('');
  console.log(
    "osk apply on a real node (test cluster: kubelet + containerd; Keystone, Glance, Placement, Neutron + OVN, Nova's fake driver, Cinder on Ceph; images from Debian)",
  );
  console.log(`  test cluster + real node + Ceph on the host up      ${s(clusterMs)} s   (the test's, not a user's)`);
  for (const [name, v] of steps) {
    const note = name === 'osk images build' && imagesCached ? `   (${imagesCached})` : '';
    console.log(
      `  ${name.padEnd(50)} ${'ms' in v ? `${s(v.ms)} s${note}` : `FAILED: ${v.error.trim().split('\n')[0]}`}`,
    );
  }
  if (ms('first openstack token issue') !== undefined)
    console.log(`  osk apply start → first token                      ${s(tokenAt)} s`);
  if (serverAt !== undefined) console.log(`  osk apply start → server ACTIVE                    ${s(serverAt)} s`);
  if (failed.length === 0) console.log(`  osk apply start → working cloud (volume available) ${s(workingAt)} s`);
  else console.log(`  no working cloud: ${failed.map(([n]) => n).join(', ')} failed`);
  if (secondApply) console.log(`  second osk apply: ${secondApply}`);
  if (!mem) return;
  const cloudTotal = total('cloud pods', mem.cloudPods);
  const agents = total('node agents and other pods', [...mem.node, ...mem.otherPods]);
  console.log(`memory on the real node (MiB; processes by cgroup, summed):`);
  printRows(`  ${'pod (namespace rn)'.padEnd(48)}    RSS    PSS procs  service`, mem.cloudPods, (r) => {
    const svc = (r as Row & { service: string }).service;
    return `  ${svc}`;
  });
  printRows('  per service', mem.services);
  printRows('  the node itself', [...mem.node, ...mem.otherPods]);
  printRows('  on the host besides (not the cloud on the node)', [...mem.controlPlane, mem.ceph]);
  console.log(
    `  cloud pods total ${mib(cloudTotal.rss)} ${mib(cloudTotal.pss)}   summed RSS ${gib(cloudTotal.rss)}, PSS ${gib(cloudTotal.pss)} (${mem.cloudPods.length} pods, ${cloudTotal.procs} processes)`,
  );
  console.log(
    `  with the node's agents and other pods: RSS ${gib(cloudTotal.rss + agents.rss)}, PSS ${gib(cloudTotal.pss + agents.pss)}`,
  );
  console.log(
    `  the kernel's count for the pods' cgroup (memory.stat): anonymous ${gib(mem.kubepods.rss)}, page cache ${gib(mem.kubepods.cache)}`,
  );
  if (!allInOne) return;
  const a = allInOne;
  const ratio = (x: number | undefined, y: number) =>
    x === undefined ? '     –' : `${(x / y).toFixed(2)}×`.padStart(6);
  const col = (x: number | undefined, f: (n: number) => string) =>
    x === undefined ? 'failed'.padStart(10) : f(x).padStart(10);
  const sec = (n: number) => `${(n / 1000).toFixed(1)} s`;
  const gb = (n: number) => gib(n);
  const applyMs = ms('osk apply');
  const serverMs = ms('server create → ACTIVE');
  console.log('');
  console.log('real node beside the all-in-one (osk up, fake driver), this run:');
  console.log(`  ${''.padEnd(44)} ${'real node'.padStart(10)} ${'all-in-one'.padStart(10)}  ratio`);
  const line = (what: string, x: number | undefined, y: number, f: (n: number) => string) =>
    console.log(`  ${what.padEnd(44)} ${col(x, f)} ${f(y).padStart(10)} ${ratio(x, y)}`);
  line('osk apply → converged / osk up → answers', applyMs, a.upMs, sec);
  line('server create → ACTIVE', serverMs, a.activeMs, sec);
  line('apply / up start → ACTIVE server', serverAt, a.bootedMs, sec);
  line('summed RSS of the cloud', cloudTotal.rss, a.rss, gb);
  line('summed PSS of the cloud', cloudTotal.pss, a.pss, gb);
  line('  + node agents and other pods: RSS', cloudTotal.rss + agents.rss, a.rss, gb);
  line('  + node agents and other pods: PSS', cloudTotal.pss + agents.pss, a.pss, gb);
  // The built-in all-in-one runs Octavia too, which the real node's cloud file leaves out.
  const noOctavia = total(
    'all-in-one without Octavia',
    a.mem.filter((m) => !m.id.startsWith('octavia')),
  );
  line('summed RSS, all-in-one without Octavia', cloudTotal.rss, noOctavia.rss, gb);
  line('summed PSS, all-in-one without Octavia', cloudTotal.pss, noOctavia.pss, gb);
  console.log(
    "  (the all-in-one's figures include its supervisor and bootstrap (flavor, network, image); its Cinder has the fake backend, the real node's Ceph runs on the host and is not summed above)",
  );
}
