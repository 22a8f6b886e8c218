/**
 * The cloud of the real-node e2e (real-node.e2e.test.ts) and of `npm run bench:apply --
 * --real-node`: a test cluster with a real node, a Ceph cluster on the host for the cloud's
 * storage (test/cluster/ceph.ts) with its key in the Secret the cloud file names, and the cloud
 * file itself. Building the images and `osk apply` are the caller's: the e2e checks them, the
 * bench times them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestCeph, type TestCeph } from '../cluster/ceph.js';
import { type Cluster, startCluster } from '../cluster/control-plane.js';
import { commandExists } from '../cluster/exec.js';
import { networkPoliciesUnsupported } from '../cluster/network-policies.js';
import { type RealNodeState, realNodeUnsupported } from '../cluster/real-node.js';
import { clusterSkipReason, type OskRun, runOsk } from './support.js';

export const NS = 'rn';

/**
 * The host directories the openvswitch and ovn-controller pods share through hostPath (the
 * catalog's, as on a user's node): the node's network is a namespace of its own, its files are
 * the host's.
 */
const OVS_HOST_DIRS = ['/run/openvswitch', '/var/lib/openvswitch', '/run/ovn'];

/** Why the real-node cloud cannot run on this host, or undefined. */
export function realNodeCloudSkipReason(): string | undefined {
  return (
    clusterSkipReason() ??
    realNodeUnsupported() ??
    networkPoliciesUnsupported() ??
    (commandExists('debootstrap') ? undefined : 'debootstrap is missing (scripts/install-test-tools.sh installs it)') ??
    (commandExists('ceph-mon') && commandExists('ceph-osd')
      ? undefined
      : 'ceph-mon or ceph-osd is missing (scripts/install-test-tools.sh installs them)') ??
    (commandExists('ovn-nbctl')
      ? undefined
      : 'ovn-nbctl is missing (scripts/install-test-tools.sh installs ovn-central)') ??
    // Another Open vSwitch on the host would be the one the pods join (and stop).
    (existsSync('/run/openvswitch/db.sock')
      ? 'an Open vSwitch already runs on this host (/run/openvswitch/db.sock)'
      : undefined)
  );
}

/** What the pods leave in OVS_HOST_DIRS is removed after the test: only entries it created. */
function hostDirsBefore(): Map<string, Set<string> | undefined> {
  return new Map(OVS_HOST_DIRS.map((d) => [d, existsSync(d) ? new Set(readdirSync(d)) : undefined]));
}
function restoreHostDirs(before: Map<string, Set<string> | undefined>): void {
  for (const [dir, had] of before) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) if (!had?.has(name)) rmSync(join(dir, name), { force: true, recursive: true });
    if (!had) rmSync(dir, { recursive: true, force: true });
  }
}

// Keystone, Glance, Placement, Neutron with its OVN (databases, northd, and Open vSwitch with
// ovn-controller as the node's chassis), Nova with the fake driver (servers are rows: no KVM
// here, and QEMU in a pod is the next step) and Cinder, and what they need. Horizon is off: its
// container crash-looped here (a link into Debian's root-owned package as uid 42424); the fix in
// horizon.ts has run in the image's root, not yet on this node.
// Open vSwitch runs the userspace datapath: this VM has no openvswitch kernel module. Monitoring
// and backups are off: their images are not all buildable from Debian yet.
// The public endpoints are NodePorts of the node (endpoints.nodePorts), so the openstack CLI on
// the host reaches the cloud through osk env -f as a user's workstation would.
const cloudYaml = (nodeIP: string, monitor: string) => `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: rn
  namespace: ${NS}
spec:
  profile: minimal
  release: "2025.1"
  endpoints:
    nodePorts: {address: ${nodeIP}}
  images:
    source: debian
    pullPolicy: Never
  network:
    datapath: netdev
  # The Ceph cluster the test runs on the host end of the node network (test/cluster/ceph.ts),
  # as a user's cloud connects to theirs; its key is in the Secret ceph-client-keyring.
  storage:
    backend: ceph
    ceph:
      monitors: ["${monitor}"]
  # The node has 2 CPUs: the default requests (MariaDB 500m, RabbitMQ and each API 250m, the
  # Jobs and OVN 100m each) sum to more than that, and the scheduler leaves pods Pending
  # ("Insufficient cpu"). Requests only place pods; what they use is what they use.
  infra:
    mariadb: {resources: {requests: {cpu: 50m}}}
    rabbitmq: {resources: {requests: {cpu: 50m}}}
    memcached: {resources: {requests: {cpu: 25m}}}
    ovn: {resources: {requests: {cpu: 25m}}, northd: {resources: {requests: {cpu: 25m}}}, controller: {resources: {requests: {cpu: 25m}}}}
  services:
    keystone: {api: {resources: {requests: {cpu: 50m}}}}
    glance: {api: {resources: {requests: {cpu: 50m}}}}
    placement: {api: {resources: {requests: {cpu: 50m}}}}
    neutron: {server: {resources: {requests: {cpu: 50m}}}, metadataAgent: {resources: {requests: {cpu: 25m}}}}
    nova:
      hypervisor: fake
      api: {resources: {requests: {cpu: 25m}}}
      metadata: {resources: {requests: {cpu: 25m}}}
      conductor: {resources: {requests: {cpu: 25m}}}
      scheduler: {resources: {requests: {cpu: 25m}}}
      novncproxy: {resources: {requests: {cpu: 25m}}}
      compute: {resources: {requests: {cpu: 25m}}}
    cinder:
      api: {resources: {requests: {cpu: 25m}}}
      scheduler: {resources: {requests: {cpu: 25m}}}
      volume: {resources: {requests: {cpu: 25m}}}
      backup: {resources: {requests: {cpu: 25m}}}
    horizon: {enabled: false}
  monitoring:
    enabled: false
  backup:
    enabled: false
`;

export interface RealNodeCloud {
  cluster: Cluster;
  node: RealNodeState;
  ceph: TestCeph;
  dir: string;
  cloudFile: string;
  /** KUBECONFIG, OSK_STATE_DIR and CI for osk and the openstack CLI */
  env: NodeJS.ProcessEnv;
  osk(args: string[]): Promise<OskRun>;
  /** Stops the cluster and Ceph, removes what the pods left in the host's OVS directories and the directory. */
  stop(): Promise<void>;
}

/** The cluster with its real node, the Ceph cluster and its key's Secret, and the cloud file. */
export async function startRealNodeCloud(log: (line: string) => void): Promise<RealNodeCloud> {
  const dir = mkdtempSync(join(tmpdir(), 'osk-real-node-'));
  const hostDirs = hostDirsBefore();
  let cluster: Cluster | undefined;
  let ceph: TestCeph | undefined;
  const stop = async (): Promise<void> => {
    await cluster?.stop({ graceMs: 5000 });
    await ceph?.stop();
    restoreHostDirs(hostDirs);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // osk's NetworkPolicies enforced (kube-router): the cloud must work with its own policies on,
    // as on a user's cluster whose CNI enforces them.
    cluster = await startCluster({ nodes: 0, realNode: true, networkPolicies: true, dir, stopOnExit: true, log });
    const node = cluster.state.realNode;
    if (!node) throw new Error('the cluster has no real node');
    // The cloud's storage: a Ceph cluster on the host end of the node network, its user's key in
    // the Secret the cloud file's keyringSecret names (its default), made before osk apply as a
    // user (or Rook) would.
    ceph = await startTestCeph(join(dir, 'ceph'), node.net.hostIP, log);
    await cluster.client.request('POST', '/api/v1/namespaces', { metadata: { name: NS } });
    const keySecret = await cluster.client.request('POST', `/api/v1/namespaces/${NS}/secrets`, {
      metadata: { name: 'ceph-client-keyring' },
      stringData: { key: ceph.clientKey },
    });
    if (keySecret.status !== 201) throw new Error(`creating the Ceph key's Secret: ${JSON.stringify(keySecret.body)}`);
    const cloudFile = join(dir, 'cloud.yaml');
    writeFileSync(cloudFile, cloudYaml(node.net.nodeIP, ceph.monitor));
    const env = { ...process.env, KUBECONFIG: cluster.kubeconfig, OSK_STATE_DIR: join(dir, 'state'), CI: 'true' };
    const osk = (args: string[]) => runOsk(args, env, log);
    return { cluster, node, ceph, dir, cloudFile, env, osk, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** A command's exit code and output (argv only, never a shell; the openstack CLI takes seconds). */
export function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}

/** The environment `eval "$(osk env -f cloud)"` gives a user's shell, on top of env; the osk env run too. */
export async function openstackEnv(cloud: RealNodeCloud): Promise<{ run: OskRun; env: NodeJS.ProcessEnv }> {
  const run = await cloud.osk(['env', '-f', cloud.cloudFile]);
  const env: NodeJS.ProcessEnv = { ...cloud.env };
  for (const m of run.stdout.matchAll(/^export (\w+)=(.*)$/gm)) env[m[1]!] = m[2]!;
  return { run, env };
}

/**
 * `openstack token issue` until one works: kube-proxy programs a new NodePort within seconds, so
 * it retries (every 2 s, 30 times) only while nothing answers; any other failure is the last run.
 */
export async function issueToken(cliEnv: NodeJS.ProcessEnv): Promise<ReturnType<typeof runCommand>> {
  let issued = runCommand('openstack', ['token', 'issue', '-f', 'json'], cliEnv);
  for (let i = 1; i < 30; i++) {
    if (issued.code === 0 || !/Unable to establish connection|Connection refused/.test(issued.stderr)) break;
    await new Promise((r) => setTimeout(r, 2000));
    issued = runCommand('openstack', ['token', 'issue', '-f', 'json'], cliEnv);
  }
  return issued;
}
