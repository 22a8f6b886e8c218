/**
 * osk's rendered pods in real containers: a cloud (Keystone, Glance, Placement, Neutron with OVN,
 * Nova with its fake driver, Cinder) and its infrastructure, its images built by `osk images
 * build` from Debian 13 and imported into a real node's containerd (`images.source: debian`),
 * applied by `osk apply` on the test cluster's real node (docs/test-cluster.md), its storage a
 * Ceph cluster the test runs on the host (test/cluster/ceph.ts). MariaDB, Memcached and RabbitMQ
 * really start, the db-init, db-sync, bootstrap and ks Jobs really run their commands, and the
 * real openstack CLI on the host, pointed at the cloud by `osk env -f`, works through the
 * NodePorts (endpoints.nodePorts): a token, an image stored in Ceph, a network in OVN, a server
 * ACTIVE, a volume in Ceph attached to it. Needs root, the tools of scripts/install-test-tools.sh
 * and the network to Debian's mirror (the first build takes minutes; later runs reuse the image
 * cache). OSK_SKIP_CLUSTER_TESTS=1 skips it.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { TestCeph } from '../cluster/ceph.js';
import type { Cluster } from '../cluster/control-plane.js';
import { nodeCommand } from '../cluster/node-host.js';
import {
  issueToken,
  NS,
  openstackEnv,
  realNodeCloudSkipReason,
  runCommand,
  startRealNodeCloud,
} from './real-node-cloud.js';

test('Keystone, Glance, Placement, Neutron with OVN, Nova and Cinder on Ceph from Debian-built images converge on a real node and serve the openstack CLI on the host', {
  skip: realNodeCloudSkipReason(),
  timeout: 90 * 60_000,
}, async (t) => {
  const cloud = await startRealNodeCloud((l) => t.diagnostic(l));
  t.after(() => cloud.stop());
  const { cluster, node, ceph, cloudFile, osk, dir } = cloud;

  const built = await osk(['images', 'build', '-f', cloudFile, '--import-containerd', node.socket]);
  assert.equal(built.code, 0, built.stderr);

  const applied = await osk(['apply', '-f', cloudFile, '--timeout', '1500']);
  assert.equal(applied.code, 0, `osk apply failed:\n${applied.stderr.slice(-6000)}`);

  // The real openstack CLI on the host, pointed at the cloud by osk env -f: Keystone's NodePort.
  const { run: envRun, env: cliEnv } = await openstackEnv(cloud);
  assert.equal(envRun.code, 0, envRun.stderr);
  assert.equal(cliEnv.OS_CLOUD, 'rn');
  const issued = await issueToken(cliEnv);
  assert.equal(issued.code, 0, `openstack token issue failed:\n${issued.stderr}`);
  assert.ok((JSON.parse(issued.stdout) as { id: string }).id.length > 20);
  const endpoints = runCommand('openstack', ['endpoint', 'list', '--interface', 'public', '-f', 'json'], cliEnv);
  assert.equal(endpoints.code, 0, endpoints.stderr);
  assert.deepEqual((JSON.parse(endpoints.stdout) as { URL: string }[]).map((e) => e.URL).sort(), [
    `http://${node.net.nodeIP}:30292`,
    `http://${node.net.nodeIP}:30500/v3`,
    `http://${node.net.nodeIP}:30696`,
    `http://${node.net.nodeIP}:30774/v2.1`,
    `http://${node.net.nodeIP}:30776/v3/%(project_id)s`,
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

  // Placement: its API through the catalog's public URL, with a token of the admin. nova-compute
  // (host network: the host's name) registered its compute node as the one resource provider.
  const token = (JSON.parse(issued.stdout) as { id: string }).id;
  const providers = await fetch(`http://${node.net.nodeIP}:30778/resource_providers`, {
    headers: { 'x-auth-token': token, 'openstack-api-version': 'placement 1.39' },
  });
  assert.equal(providers.status, 200, await providers.clone().text());
  const { resource_providers } = (await providers.json()) as { resource_providers: { name: string }[] };
  assert.deepEqual(
    resource_providers.map((p) => p.name),
    [hostname()],
  );

  // Neutron (ML2/OVN) through its NodePort: a network, a subnet and a port, each written by
  // neutron-server into the OVN northbound database of the ovn-nb pod, read back with the host's
  // ovn-nbctl from that pod's own ovsdb-server (its port 6641 on the pod network).
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

  // osk's NetworkPolicies are enforced on this node (real-node-cloud.ts): the NB database admits
  // neutron-server and northd, not the host, whose ovn-nbctl is refused; the node itself (whose
  // kubelet probes the pods) still reaches it, so the checks below run in its network namespace.
  const nb = `tcp:${await podIP(cluster, 'ovn-nb-0')}:6641`;
  const fromHost = runCommand('ovn-nbctl', [`--db=${nb}`, '--timeout=5', 'ls-list'], cliEnv);
  assert.notEqual(fromHost.code, 0, "the host is not let through the NB database's policy");
  const onNode = (cmd: string, args: string[]) => {
    const [c, ...a] = nodeCommand(node.net, [cmd, ...args]);
    return runCommand(c!, a, cliEnv);
  };
  const switches = onNode('ovn-nbctl', [`--db=${nb}`, '--timeout=10', 'ls-list']);
  assert.equal(switches.code, 0, switches.stderr);
  assert.match(switches.stdout, new RegExp(`\\(neutron-${netId}\\)`), 'the network is a logical switch in OVN NB');
  const lsps = onNode('ovn-nbctl', [`--db=${nb}`, '--timeout=10', 'lsp-list', `neutron-${netId}`]);
  assert.equal(lsps.code, 0, lsps.stderr);
  assert.match(lsps.stdout, new RegExp(`\\(${portInfo.id}\\)`), 'the port is a logical switch port in OVN NB');

  // ovn-controller on the node (Open vSwitch with the userspace datapath) is a chassis in SB,
  // under the system-id ovs-ctl gave it, with its Geneve endpoint on the node's IP.
  const sb = `tcp:${await podIP(cluster, 'ovn-sb-0')}:6642`;
  const encaps = onNode('ovn-sbctl', [`--db=${sb}`, '--timeout=10', '--bare', '--columns=ip', 'list', 'Encap']);
  assert.equal(encaps.code, 0, encaps.stderr);
  assert.deepEqual(encaps.stdout.split(/\s+/).filter(Boolean), [node.net.nodeIP]);

  // Glance stores on the cloud's Ceph (rbd_store): the uploaded image is an RBD image named by its id.
  const imageId = (JSON.parse(shown.stdout) as { id: string }).id;
  assert.ok(ceph.rbd(['ls', 'images']).stdout.split('\n').includes(imageId), 'the image is in the Ceph pool images');

  await serverAndVolume(cliEnv, ceph, (l) => t.diagnostic(l));
});

/**
 * Nova (the fake driver in nova-compute, registered and mapped to the cell) and Cinder (RBD on
 * the test Ceph) through their NodePorts: a server on the Neutron network reaches ACTIVE, a
 * volume becomes available as an RBD image in the pool volumes, and attached to the server it
 * is in-use (Cinder handed Nova the RBD connection; the fake driver opens nothing).
 */
async function serverAndVolume(cliEnv: NodeJS.ProcessEnv, ceph: TestCeph, log: (l: string) => void): Promise<void> {
  const cli = (...args: string[]) => {
    const r = runCommand('openstack', [...args, '-f', 'json'], cliEnv);
    assert.equal(r.code, 0, `openstack ${args.join(' ')}:\n${r.stderr}`);
    return JSON.parse(r.stdout || 'null') as Record<string, unknown>;
  };
  const computes = cli('compute', 'service', 'list', '--service', 'nova-compute') as unknown as { State: string }[];
  assert.deepEqual(
    computes.map((c) => c.State),
    ['up'],
    'one nova-compute, up',
  );

  cli('flavor', 'create', '--vcpus', '1', '--ram', '64', '--disk', '1', 'rn.tiny');
  const t0 = Date.now();
  const server = cli(
    'server',
    'create',
    '--flavor',
    'rn.tiny',
    '--image',
    'rn-image',
    '--network',
    'rn-net',
    '--wait',
    'rn-server',
  );
  assert.equal(server.status, 'ACTIVE', JSON.stringify(server));
  log(`server ACTIVE in ${Date.now() - t0} ms`);

  const volume = cli('volume', 'create', '--size', '1', 'rn-volume');
  const volumeId = String(volume.id);
  await until(() => cli('volume', 'show', volumeId).status, 'available', 'the volume becomes available');
  assert.ok(
    ceph.rbd(['ls', 'volumes']).stdout.split('\n').includes(`volume-${volumeId}`),
    'the volume is an RBD image',
  );
  const attached = runCommand('openstack', ['server', 'add', 'volume', 'rn-server', volumeId], cliEnv);
  assert.equal(attached.code, 0, attached.stderr);
  await until(() => cli('volume', 'show', volumeId).status, 'in-use', 'the attached volume is in-use');
  log(`volume available, attached and in-use ${Date.now() - t0} ms after the server was asked for`);
}

/** Polls `read` every 2 s for up to 3 minutes until it gives `want`; fails with the last value otherwise. */
async function until(read: () => unknown, want: string, what: string): Promise<void> {
  let last: unknown;
  for (let i = 0; i < 90; i++) {
    last = read();
    if (last === want) return;
    if (last === 'error') break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  assert.fail(`${what}: still ${String(last)}, not ${want}`);
}

/** The pod network address of one pod of the cloud's namespace (the host routes that range to the node). */
async function podIP(cluster: Cluster, name: string): Promise<string> {
  const pod = await cluster.client.get<{ status: { podIP?: string } }>(`/api/v1/namespaces/${NS}/pods/${name}`);
  assert.ok(pod.status.podIP, `${name} has no pod IP`);
  return pod.status.podIP;
}
