/**
 * osk's rendered pods in real containers: a cloud with Keystone and its infrastructure, its
 * images built by `osk images build` from Debian 13 and imported into a real node's containerd
 * (`images.source: debian`), applied by `osk apply` on the test cluster's real node
 * (docs/test-cluster.md). MariaDB, Memcached and RabbitMQ really start, the db-init, db-sync,
 * bootstrap and ks Jobs really run their commands, and the real openstack CLI on the host, pointed
 * at the cloud by `osk env -f`, gets a token through Keystone's NodePort (endpoints.nodePorts). Needs root, the tools of scripts/install-test-tools.sh and the network to Debian's
 * mirror (the first build takes minutes; later runs reuse the image cache).
 * OSK_SKIP_CLUSTER_TESTS=1 skips it.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Cluster, startCluster } from '../cluster/control-plane.js';
import { commandExists } from '../cluster/exec.js';
import { realNodeUnsupported } from '../cluster/real-node.js';
import { clusterSkipReason, runOsk } from './support.js';

const NS = 'rn';

/**
 * The host directories the openvswitch and ovn-controller pods share through hostPath (the
 * catalog's, as on a user's node): the node's network is a namespace of its own, its files are
 * the host's.
 */
const OVS_HOST_DIRS = ['/run/openvswitch', '/var/lib/openvswitch', '/run/ovn'];

function skipReason(): string | undefined {
  return (
    clusterSkipReason() ??
    realNodeUnsupported() ??
    (commandExists('debootstrap') ? undefined : 'debootstrap is missing (scripts/install-test-tools.sh installs it)') ??
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

// Keystone, Glance, Placement and Neutron with its OVN (databases, northd, and Open vSwitch with
// ovn-controller as the node's chassis) and what they need; the other services are switched off
// (each needs images and agents that are the next steps of issue 14). Open vSwitch runs the
// userspace datapath: this VM has no openvswitch kernel module. Monitoring and backups are off:
// their images are not all buildable from Debian yet.
// The public endpoints are NodePorts of the node (endpoints.nodePorts), so the openstack CLI on
// the host reaches the cloud through osk env -f as a user's workstation would.
const cloudYaml = (nodeIP: string) => `apiVersion: osk.dev/v1alpha1
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
  # The node has 2 CPUs: the default requests of this set (MariaDB 500m, RabbitMQ and each API
  # 250m, OVN's 100m each) sum to more, and the scheduler leaves pods Pending ("Insufficient cpu").
  infra:
    mariadb: {resources: {requests: {cpu: 100m}}}
    rabbitmq: {resources: {requests: {cpu: 100m}}}
  services:
    keystone: {api: {resources: {requests: {cpu: 100m}}}}
    glance: {api: {resources: {requests: {cpu: 100m}}}}
    placement: {api: {resources: {requests: {cpu: 100m}}}}
    neutron: {server: {resources: {requests: {cpu: 100m}}}}
    nova: {enabled: false}
    cinder: {enabled: false}
    horizon: {enabled: false}
  monitoring:
    enabled: false
  backup:
    enabled: false
`;

test('Keystone, Glance, Placement and Neutron with OVN from Debian-built images converge on a real node and serve the openstack CLI on the host', {
  skip: skipReason(),
  timeout: 90 * 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'osk-real-node-e2e-'));
  let cluster: Cluster | undefined;
  const hostDirs = hostDirsBefore();
  t.after(async () => {
    await cluster?.stop({ graceMs: 5000 });
    restoreHostDirs(hostDirs);
    rmSync(dir, { recursive: true, force: true });
  });
  cluster = await startCluster({ nodes: 0, realNode: true, dir, stopOnExit: true, log: (l) => t.diagnostic(l) });
  const node = cluster.state.realNode;
  assert.ok(node);
  const env = { ...process.env, KUBECONFIG: cluster.kubeconfig, OSK_STATE_DIR: join(dir, 'state'), CI: 'true' };
  const osk = (args: string[]) => runOsk(args, env, (l) => t.diagnostic(l));
  const cloudFile = join(dir, 'cloud.yaml');
  writeFileSync(cloudFile, cloudYaml(node.net.nodeIP));

  const built = await osk(['images', 'build', '-f', cloudFile, '--import-containerd', node.socket]);
  assert.equal(built.code, 0, built.stderr);

  const applied = await osk(['apply', '-f', cloudFile, '--timeout', '1500']);
  assert.equal(applied.code, 0, `osk apply failed:\n${applied.stderr.slice(-6000)}`);

  // The real openstack CLI on the host, pointed at the cloud by osk env -f: Keystone's NodePort.
  const envRun = await osk(['env', '-f', cloudFile]);
  assert.equal(envRun.code, 0, envRun.stderr);
  const cliEnv: NodeJS.ProcessEnv = { ...env };
  for (const m of envRun.stdout.matchAll(/^export (\w+)=(.*)$/gm)) cliEnv[m[1]!] = m[2]!;
  assert.equal(cliEnv.OS_CLOUD, 'rn');
  // kube-proxy programs a new NodePort within seconds: retry only while nothing answers.
  let issued: ReturnType<typeof runCommand> | undefined;
  for (let i = 0; i < 30; i++) {
    issued = runCommand('openstack', ['token', 'issue', '-f', 'json'], cliEnv);
    if (issued.code === 0 || !/Unable to establish connection|Connection refused/.test(issued.stderr)) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  assert.equal(issued?.code, 0, `openstack token issue failed:\n${issued?.stderr}`);
  assert.ok((JSON.parse(issued!.stdout) as { id: string }).id.length > 20);
  const endpoints = runCommand('openstack', ['endpoint', 'list', '--interface', 'public', '-f', 'json'], cliEnv);
  assert.equal(endpoints.code, 0, endpoints.stderr);
  assert.deepEqual((JSON.parse(endpoints.stdout) as { URL: string }[]).map((e) => e.URL).sort(), [
    `http://${node.net.nodeIP}:30292`,
    `http://${node.net.nodeIP}:30500/v3`,
    `http://${node.net.nodeIP}:30696`,
    `http://${node.net.nodeIP}:30778`,
  ]);

  // Glance: an image uploaded through its NodePort is stored on its claim and comes back the same.
  const imageFile = join(dir, 'image.raw');
  const bytes = Buffer.alloc(1 << 20, 0x5a);
  writeFileSync(imageFile, bytes);
  const created = runCommand(
    'openstack',
    [
      'image',
      'create',
      '--disk-format',
      'raw',
      '--container-format',
      'bare',
      '--file',
      imageFile,
      '-f',
      'json',
      'rn-image',
    ],
    cliEnv,
  );
  assert.equal(created.code, 0, created.stderr);
  // The openstack CLI prints the image as created, before its upload ('queued'): Glance's own
  // view after the upload is what counts.
  const shown = runCommand('openstack', ['image', 'show', '-f', 'json', 'rn-image'], cliEnv);
  assert.equal(shown.code, 0, shown.stderr);
  assert.equal((JSON.parse(shown.stdout) as { status: string }).status, 'active');
  const saved = join(dir, 'saved.raw');
  const save = runCommand('openstack', ['image', 'save', '--file', saved, 'rn-image'], cliEnv);
  assert.equal(save.code, 0, save.stderr);
  assert.ok(readFileSync(saved).equals(bytes), 'the image read back is the one uploaded');

  // Placement: its API through the catalog's public URL, with a token of the admin.
  const token = (JSON.parse(issued!.stdout) as { id: string }).id;
  const providers = await fetch(`http://${node.net.nodeIP}:30778/resource_providers`, {
    headers: { 'x-auth-token': token, 'openstack-api-version': 'placement 1.39' },
  });
  assert.equal(providers.status, 200, await providers.clone().text());
  assert.deepEqual(await providers.json(), { resource_providers: [] });

  // Neutron (ML2/OVN) through its NodePort: a network, a subnet and a port, each written by
  // neutron-server into the OVN northbound database of the ovn-nb pod, read back here with the
  // host's ovn-nbctl from that pod's own ovsdb-server (its port 6641 on the pod network).
  const net = runCommand('openstack', ['network', 'create', '-f', 'json', 'rn-net'], cliEnv);
  assert.equal(net.code, 0, net.stderr);
  const netId = (JSON.parse(net.stdout) as { id: string }).id;
  const subnet = runCommand(
    'openstack',
    ['subnet', 'create', '--network', 'rn-net', '--subnet-range', '192.168.77.0/24', '-f', 'json', 'rn-subnet'],
    cliEnv,
  );
  assert.equal(subnet.code, 0, subnet.stderr);
  const port = runCommand('openstack', ['port', 'create', '--network', 'rn-net', '-f', 'json', 'rn-port'], cliEnv);
  assert.equal(port.code, 0, port.stderr);
  const portInfo = JSON.parse(port.stdout) as { id: string; fixed_ips: { ip_address: string }[] };
  assert.match(portInfo.fixed_ips[0]?.ip_address ?? '', /^192\.168\.77\./);

  const nb = `tcp:${await podIP(cluster, 'ovn-nb-0')}:6641`;
  const switches = runCommand('ovn-nbctl', [`--db=${nb}`, '--timeout=10', 'ls-list'], cliEnv);
  assert.equal(switches.code, 0, switches.stderr);
  assert.match(switches.stdout, new RegExp(`\\(neutron-${netId}\\)`), 'the network is a logical switch in OVN NB');
  const lsps = runCommand('ovn-nbctl', [`--db=${nb}`, '--timeout=10', 'lsp-list', `neutron-${netId}`], cliEnv);
  assert.equal(lsps.code, 0, lsps.stderr);
  assert.match(lsps.stdout, new RegExp(`\\(${portInfo.id}\\)`), 'the port is a logical switch port in OVN NB');

  // ovn-controller on the node (Open vSwitch with the userspace datapath) is a chassis in SB,
  // under the system-id ovs-ctl gave it, with its Geneve endpoint on the node's IP.
  const sb = `tcp:${await podIP(cluster, 'ovn-sb-0')}:6642`;
  const encaps = runCommand(
    'ovn-sbctl',
    [`--db=${sb}`, '--timeout=10', '--bare', '--columns=ip', 'list', 'Encap'],
    cliEnv,
  );
  assert.equal(encaps.code, 0, encaps.stderr);
  assert.deepEqual(encaps.stdout.split(/\s+/).filter(Boolean), [node.net.nodeIP]);
});

/** The pod network address of one pod of the cloud's namespace (the host routes that range to the node). */
async function podIP(cluster: Cluster, name: string): Promise<string> {
  const pod = await cluster.client.get<{ status: { podIP?: string } }>(`/api/v1/namespaces/${NS}/pods/${name}`);
  assert.ok(pod.status.podIP, `${name} has no pod IP`);
  return pod.status.podIP;
}

/** A command's exit code and output (argv only, never a shell; the openstack CLI takes seconds). */
function runCommand(cmd: string, args: string[], env: NodeJS.ProcessEnv) {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'pipe'] });
  return { code: r.status ?? 1, stdout: r.stdout ?? '', stderr: r.stderr ?? String(r.error ?? '') };
}
