// What the real node changes on the host, each with its undo, so that cluster:down (or a test's
// stop) leaves the host as it found it:
//   a network namespace with a veth pair to the host: the node's bridge, pod routes, kube-proxy's
//     and the kubelet's iptables rules and its per-namespace sysctls all live there and go with it
//   a cgroup /osk-<id> in every cgroup hierarchy: containerd, its shims and every pod run under
//     it, so every process of the node is found (and killed) by PID through cgroup.procs
//   the global sysctls the kubelet sets at start (recorded before, written back after)
//   mounts under the node's directory (kubelet volumes, containerd's rootfs and pod netns mounts)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './exec.js';

/** The sysctls the kubelet sets when protectKernelDefaults is false (pkg/kubelet/cm: setupKernelTunables). */
export const KUBELET_SYSCTLS = [
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
] as const;

export interface NodeNetwork {
  /** the network namespace (ip netns name) */
  netns: string;
  index: number;
  hostIf: string;
  /** the host's end of the veth: where the node reaches the API server (a forwarder listens there) */
  hostIP: string;
  /** the node's address: the kubelet's node IP, NodePorts */
  nodeIP: string;
  /** the pods' range on the node's bridge */
  podCIDR: string;
  bridge: string;
}

/**
 * A free slot i (1..250): namespace osk-node-i, veth 10.250.i.0/30 (host .1, node .2), pods
 * 10.245.i.0/24, bridge osk-br0 inside the namespace. `ip netns add` fails on a taken name, so two
 * clusters starting at once cannot take the same slot.
 */
export function createNodeNetwork(): NodeNetwork {
  for (let i = 1; i <= 250; i++) {
    const netns = `osk-node-${i}`;
    if (existsSync(`/run/netns/${netns}`)) continue;
    if (spawnSync('ip', ['netns', 'add', netns], { stdio: 'ignore' }).status !== 0) continue;
    const net: NodeNetwork = {
      netns,
      index: i,
      hostIf: `osk-node-${i}`,
      hostIP: `10.250.${i}.1`,
      nodeIP: `10.250.${i}.2`,
      podCIDR: `10.245.${i}.0/24`,
      bridge: 'osk-br0',
    };
    const peer = `osk-peer-${i}`;
    try {
      ip('link', 'add', net.hostIf, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', peer, 'netns', netns);
      ip('addr', 'add', `${net.hostIP}/30`, 'dev', net.hostIf);
      ip('link', 'set', net.hostIf, 'up');
      inNode(net, 'ip', 'link', 'set', 'lo', 'up');
      inNode(net, 'ip', 'link', 'set', peer, 'name', 'eth0');
      inNode(net, 'ip', 'addr', 'add', `${net.nodeIP}/30`, 'dev', 'eth0');
      inNode(net, 'ip', 'link', 'set', 'eth0', 'up');
      inNode(net, 'ip', 'route', 'add', 'default', 'via', net.hostIP);
      // The host reaches pods (tests, NodePorts answer from pod IPs) through the node.
      ip('route', 'add', net.podCIDR, 'via', net.nodeIP, 'dev', net.hostIf);
      // The node routes between its bridge and eth0; its own namespace's switch, not the host's.
      inNode(net, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
      // Service traffic between two pods of the bridge must pass kube-proxy's rules, when the
      // kernel has the switch in this namespace.
      inNode(net, 'sh', '-c', 'f=/proc/sys/net/bridge/bridge-nf-call-iptables; [ ! -e "$f" ] || echo 1 > "$f"');
      return net;
    } catch (e) {
      deleteNodeNetwork(net);
      throw e;
    }
  }
  throw new Error('no free slot for a real node: osk-node-1 … osk-node-250 all exist (ip netns list)');
}

/** Deleting the namespace removes the veth (both ends), the bridge, the routes and the iptables rules in it. */
export function deleteNodeNetwork(net: NodeNetwork): string[] {
  const problems: string[] = [];
  if (existsSync(`/sys/class/net/${net.hostIf}`)) {
    const r = spawnSync('ip', ['link', 'del', net.hostIf], { encoding: 'utf8' });
    if (r.status !== 0) problems.push(`ip link del ${net.hostIf}: ${r.stderr.trim()}`);
  }
  if (existsSync(`/run/netns/${net.netns}`)) {
    const r = spawnSync('ip', ['netns', 'del', net.netns], { encoding: 'utf8' });
    if (r.status !== 0) problems.push(`ip netns del ${net.netns}: ${r.stderr.trim()}`);
  }
  return problems;
}

/** argv that runs a command in the node's network namespace only (not a new mount namespace, as `ip netns exec` would). */
export function nodeCommand(net: NodeNetwork, argv: string[]): string[] {
  return ['nsenter', `--net=/run/netns/${net.netns}`, '--', ...argv];
}

function inNode(net: NodeNetwork, ...argv: string[]): void {
  const [cmd, ...args] = nodeCommand(net, argv);
  run(cmd as string, args);
}

function ip(...args: string[]): void {
  run('ip', args);
}

// ---------------------------------------------------------------------------------------------
// cgroups

/**
 * The mount points of the cgroup hierarchies: every v1 one (cpu, memory, …, name=systemd) and, on a
 * hybrid host, the unified one, where runc makes the container's path too.
 */
function cgroupHierarchies(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4] as string);
}

/** Creates /<name> in every hierarchy (the kubelet's cgroupRoot must exist before it starts). */
export function createCgroup(name: string): void {
  for (const h of cgroupHierarchies()) makeCgroup(h, name);
}

/** Moves pid into /<name>/<leaf> of every hierarchy: what it starts later is found there too. */
export function joinCgroup(pid: number, name: string, leaf: string): void {
  for (const h of cgroupHierarchies()) {
    makeCgroup(h, name);
    makeCgroup(h, join(name, leaf));
    writeFileSync(join(h, name, leaf, 'cgroup.procs'), String(pid));
  }
}

/**
 * mkdir of a cgroup. A new cpuset cgroup starts with no CPUs and no memory nodes, and a process
 * written into it is refused (ENOSPC): it gets its parent's.
 */
function makeCgroup(hierarchy: string, path: string): void {
  const d = join(hierarchy, path);
  if (existsSync(d)) return;
  mkdirSync(d);
  for (const f of ['cpuset.cpus', 'cpuset.mems']) {
    const parent = join(d, '..', f);
    if (existsSync(parent)) writeFileSync(join(d, f), readFileSync(parent, 'utf8').trim());
  }
}

/** The directories of /<name> that exist, one per hierarchy. */
export function cgroupDirs(name: string): string[] {
  return cgroupHierarchies()
    .map((h) => join(h, name))
    .filter((d) => existsSync(d));
}

/** Every PID in /<name> and below, in any hierarchy. */
export function cgroupPids(name: string): number[] {
  const pids = new Set<number>();
  const walk = (d: string): void => {
    try {
      for (const p of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n')) if (p) pids.add(Number(p));
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    } catch {
      // removed meanwhile
    }
  };
  for (const h of cgroupHierarchies()) if (existsSync(join(h, name))) walk(join(h, name));
  return [...pids];
}

/**
 * SIGKILLs every process under /<name> (the freezer holds them still, so none forks away
 * meanwhile), waits for them to go, then removes the cgroups deepest first. Returns what is left.
 * Synchronous, so a process's exit handler can run it.
 */
export function killCgroup(name: string): string[] {
  const freezer = cgroupHierarchies().find((h) => h.endsWith('/freezer'));
  const state = freezer ? join(freezer, name, 'freezer.state') : undefined;
  if (state && existsSync(state)) writeFileSync(state, 'FROZEN');
  for (const pid of cgroupPids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  if (state && existsSync(state)) writeFileSync(state, 'THAWED');
  const deadline = Date.now() + 10_000;
  while (cgroupPids(name).length > 0 && Date.now() < deadline) sleepSync(50);
  const left = cgroupPids(name);
  if (left.length > 0) return [`processes ${left.join(' ')} of cgroup /${name} did not die`];
  const problems: string[] = [];
  const remove = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) remove(join(d, e.name));
    try {
      rmdirSync(d);
    } catch (e) {
      problems.push(`rmdir ${d}: ${(e as Error).message}`);
    }
  };
  for (const h of cgroupHierarchies()) if (existsSync(join(h, name))) remove(join(h, name));
  return problems;
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

// ---------------------------------------------------------------------------------------------
// sysctls and mounts

export function readSysctls(): Record<string, string> {
  return Object.fromEntries(KUBELET_SYSCTLS.map((k) => [k, readFileSync(`/proc/sys/${k}`, 'utf8').trim()]));
}

export function restoreSysctls(values: Record<string, string>): string[] {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    try {
      if (readFileSync(`/proc/sys/${k}`, 'utf8').trim() !== v) writeFileSync(`/proc/sys/${k}`, v);
    } catch (e) {
      problems.push(`sysctl ${k}=${v}: ${(e as Error).message}`);
    }
  }
  return problems;
}

/** Mount points at or below dir, deepest first (mountinfo escapes spaces as \040). */
export function mountsUnder(dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m): m is string => !!m)
    .map((m) => m.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))))
    .filter((m) => m === dir || m.startsWith(prefix))
    .sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or below dir; what could not be unmounted is returned. */
export function unmountUnder(dir: string): string[] {
  for (let round = 0; round < 5; round++) {
    const mounts = mountsUnder(dir);
    if (mounts.length === 0) return [];
    for (const m of mounts) {
      if (spawnSync('umount', [m], { stdio: 'ignore' }).status !== 0)
        spawnSync('umount', ['-l', m], { stdio: 'ignore' });
    }
  }
  return mountsUnder(dir).map((m) => `still mounted: ${m}`);
}
