/**
 * Secondary networks against the fake cloud (fake-cluster-cloud.ts): provider networks an admin
 * made, the ports osk adds to every node on them (vnic type, port security, security groups, the
 * tag), the groups of spec.securityGroups kept equal to the file, the preflight's refusals, and a
 * delete that leaves only what was the cloud's before.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import type { OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { FakeCloud, fakeAdminClient } from '../../openstack/testing/fake-cloud.js';
import { serveClusterApis, type ClusterCloudState } from '../../openstack/testing/fake-cluster-cloud.js';
import { parseClusterFile } from '../../spec/load-cluster.js';
import { SecretStore } from '../../state/secret-store.js';
import { createCluster } from './create.js';
import { deleteCluster } from './delete.js';
import { clusterStatus } from './inspect.js';
import { secondaryAttachments } from './addons.js';
import { quietReporter } from '../../../test/support/reporter.js';

const HEAD = `apiVersion: osk.dev/v1alpha1
kind: KubernetesCluster
metadata: {name: demo}
spec:
  image: node-image
  apiLoadBalancer: {enabled: false}
  controlPlane: {flavor: m1.small, count: 1}
`;
const TELCO = `${HEAD}  securityGroups:
    - name: n2
      rules:
        - {protocol: sctp, ports: "38412", from: 10.20.0.0/16}
        - {protocol: icmp, from: 10.20.0.0/16}
  workers:
    flavor: m1.small
    count: 2
    secondaryNetworks:
      - {name: n2, network: telco-n2, subnet: telco-n2-v4, securityGroups: [n2, ran-ops], mtu: 1500}
      - {name: fh, network: telco-fh, vnicType: direct, portSecurity: false}
`;

const opts = { timeoutMs: 5_000, reporter: quietReporter };
let cloud: FakeCloud;
let s: ClusterCloudState;
let os: OpenStackClient;
let dir: string;
let storePath: string;
const store = () => SecretStore.open(storePath, 'cluster/demo');
const changes = () => cloud.requests.filter((r) => r.method !== 'GET' && !r.path.endsWith('/auth/tokens'));

/** What an admin made before the cluster: two provider networks and a group of the project. */
function adminMade(): void {
  const provider = (id: string, name: string, type: string, mtu: number) =>
    s.networks.push({
      id,
      name,
      mtu,
      tags: [],
      shared: true,
      'router:external': false,
      'provider:network_type': type,
      'provider:physical_network': 'physnet-telco',
    });
  provider('net-n2', 'telco-n2', 'flat', 1500);
  provider('net-fh', 'telco-fh', 'vlan', 9000);
  s.subnets.push({ id: 'sub-n2', name: 'telco-n2-v4', network_id: 'net-n2', cidr: '10.30.0.0/24', tags: [] });
  s.security_groups.push({ id: 'sg-ran-ops', name: 'ran-ops', security_group_rules: [], tags: [] });
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'osk-secondary-'));
});
after(async () => {
  await os.close();
  await cloud.stop();
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await os?.close();
  await cloud?.stop();
  cloud = await FakeCloud.start();
  s = serveClusterApis(cloud);
  adminMade();
  os = fakeAdminClient(cloud);
  storePath = join(dir, `${Math.random()}`, 'secrets.yaml');
});

const portOf = (name: string) => s.ports.find((p) => p.name === name)!;

test('every worker gets a port per secondary network, attached at server create after its node port; the groups are the policy', async () => {
  s.sriov = true;
  const file = parseClusterFile(TELCO, 'cluster.yaml');
  await createCluster(os, file, await store(), opts);
  const own = s.security_groups.find((g) => g.name === 'osk-demo-sg-n2')!;
  assert.deepEqual(own.tags, ['osk-cluster=demo']);
  assert.deepEqual(
    (own.security_group_rules as Record<string, unknown>[]).map((r) => [
      r.direction,
      r.protocol,
      r.port_range_min,
      r.remote_ip_prefix,
    ]),
    [
      ['ingress', 'sctp', 38412, '10.20.0.0/16'],
      ['ingress', 'icmp', null, '10.20.0.0/16'],
    ],
  );
  for (const w of ['osk-demo-worker-0', 'osk-demo-worker-1']) {
    const server = s.servers.find((v) => v.name === w)!;
    const n2 = portOf(`${w}-n2`);
    const fh = portOf(`${w}-fh`);
    assert.deepEqual(
      (server.networks as { port: string }[]).map((x) => x.port),
      [portOf(w).id, n2.id, fh.id],
      'the node network is the first NIC',
    );
    assert.deepEqual(
      [n2.network_id, n2['binding:vnic_type'], n2.port_security_enabled, n2.security_groups, n2.tags],
      ['net-n2', 'normal', true, [own.id, 'sg-ran-ops'], ['osk-cluster=demo']],
    );
    assert.match((n2.fixed_ips as { ip_address: string }[])[0]!.ip_address, /^10\.30\.0\.\d+$/);
    assert.deepEqual(
      [fh.network_id, fh['binding:vnic_type'], fh.port_security_enabled, fh.security_groups, fh.fixed_ips],
      ['net-fh', 'direct', false, [], []],
    );
  }
  assert.ok(!s.ports.some((p) => p.name === 'osk-demo-control-plane-0-n2'), 'only the role that names them');
  const st = await clusterStatus(os, file, await store());
  assert.equal(st.ready, true, JSON.stringify(st.objects.filter((o) => o.state !== 'ok')));
  assert.ok(st.objects.some((o) => o.name === 'osk-demo-worker-1-fh' && /telco-fh .*direct/.test(o.detail)));
  assert.ok(st.objects.some((o) => o.name === 'osk-demo-sg-n2' && o.detail === '2 rules'));

  cloud.requests.length = 0;
  const again = await createCluster(os, file, await store(), opts);
  assert.deepEqual([again.created, again.changed, changes().length], [0, 0, 0], again.actions.join('; '));

  // A rule taken out of the file is taken out of the group; one put back is made again.
  const fewer = parseClusterFile(TELCO.replace('        - {protocol: icmp, from: 10.20.0.0/16}\n', ''));
  const r = await createCluster(os, fewer, await store(), opts);
  assert.deepEqual(r.actions, ['removed a rule from osk-demo-sg-n2 that the file no longer has']);
  assert.deepEqual(
    s.security_group_rules.filter((x) => x.security_group_id === own.id).map((x) => x.protocol),
    ['sctp'],
  );
});

test('delete removes the secondary ports (found by the tag) before the groups they use; the provider networks and the project’s group stay', async () => {
  s.sriov = true;
  await createCluster(os, parseClusterFile(TELCO), await store(), opts);
  const r = await deleteCluster(os, 'demo', storePath, opts);
  assert.ok(r.removed.ports!.includes('osk-demo-worker-0-n2') && r.removed.ports!.includes('osk-demo-worker-1-fh'));
  assert.ok(r.removed['security-groups']!.includes('osk-demo-sg-n2'));
  assert.deepEqual(s.ports, []);
  assert.deepEqual(
    s.networks.map((n) => n.name),
    ['telco-n2', 'telco-fh'],
  );
  assert.deepEqual(
    s.security_groups.map((g) => g.name),
    ['ran-ops'],
  );
});

test('the preflight names every problem of the secondary networks with its field and creates nothing', async () => {
  s.networks.push({ id: 'net-gen', name: 'tenant', mtu: 1442, tags: [], 'provider:network_type': 'geneve' });
  // An admin sees every project's groups: a name two projects use is ambiguous.
  s.security_groups.push({ id: 'sg-a', name: 'default', security_group_rules: [], tags: [] });
  s.security_groups.push({ id: 'sg-b', name: 'default', security_group_rules: [], tags: [] });
  const bad = parseClusterFile(
    `${HEAD}  workers:
    flavor: m1.small
    secondaryNetworks:
      - {name: n2, network: telco-n2, subnet: nope, securityGroups: [missing], mtu: 9000}
      - {name: fh, network: tenant, vnicType: direct, portSecurity: false}
      - {name: x, network: absent, portSecurity: false}
      - {name: l2, network: telco-fh, securityGroups: [ran-ops]}
      - {name: d, network: telco-n2, securityGroups: [default]}
`,
  );
  const e = (await createCluster(os, bad, await store(), opts).catch((x: unknown) => x)) as OskError;
  assert.equal(e.exitCode, 2);
  assert.deepEqual(e.message.split('\n').slice(1), [
    "  spec.workers.secondaryNetworks.0.mtu: 9000 does not fit network telco-n2: its MTU is 1500 (9000 > 1500, and the pod's interface is the port itself, with no header of its own); set mtu to 1500 or less, or leave it out (the network's MTU is the default)",
    '  spec.workers.secondaryNetworks.0.subnet: network telco-n2 has no subnet "nope" (it has: telco-n2-v4)',
    '  spec.workers.secondaryNetworks.0.securityGroups.0: there is no security group "missing" in spec.securityGroups or in the cloud (openstack security group list)',
    '  spec.workers.secondaryNetworks.1.vnicType: direct (SR-IOV) needs a flat or VLAN network: a VF sits on a physical network, and tenant is a geneve network',
    '  spec.workers.secondaryNetworks.2.network: there is no network "absent" (openstack network list)',
    '  spec.workers.secondaryNetworks.3.network: telco-fh has no subnet, and Neutron applies security groups only to a port with an address; give the network a subnet, or set portSecurity: false for a port without an address',
    `  spec.workers.secondaryNetworks.4.securityGroups.0: there are several security groups named "default" (this user sees more than one project's): give its id`,
  ]);
  assert.deepEqual(changes(), []);
});

test('on a cloud without SR-IOV a direct port fails its server as Nova does; a server made without its secondary port is refused, not changed', async () => {
  await assert.rejects(
    createCluster(os, parseClusterFile(TELCO), await store(), opts),
    /osk-demo-worker-0\) went to ERROR: Binding failed for port [0-9a-f-]+, please check neutron logs/,
  );
  await deleteCluster(os, 'demo', storePath, opts);
  s.sriov = true;
  await createCluster(os, parseClusterFile(`${HEAD}  workers: {flavor: m1.small, count: 1}\n`), await store(), opts);
  const e = (await createCluster(
    os,
    parseClusterFile(TELCO.replace('count: 2', 'count: 1')),
    await store(),
    opts,
  ).catch((x: unknown) => x)) as OskError;
  assert.equal(e.exitCode, 2);
  assert.match(
    e.message,
    /^server osk-demo-worker-0 exists without its secondary ports osk-demo-worker-0-n2, osk-demo-worker-0-fh: osk attaches secondary ports only when it makes a server$/,
  );
});

test("osk cluster addons: each node's attachment from the port Neutron made (MAC, fixed IP with the subnet's prefix) and the MTU, the network's by default", async () => {
  s.sriov = true;
  const file = parseClusterFile(TELCO);
  await assert.rejects(secondaryAttachments(os, file), /cluster demo has no port osk-demo-worker-0-n2/);
  await createCluster(os, file, await store(), opts);
  const a = await secondaryAttachments(os, file);
  const port = portOf('osk-demo-worker-1-n2');
  assert.deepEqual(
    a.map((x) => [x.node, x.network, x.vnicType, x.mtu, x.address?.replace(/\.\d+\//, '.N/')]),
    [
      ['osk-demo-worker-0', 'n2', 'normal', 1500, '10.30.0.N/24'],
      ['osk-demo-worker-0', 'fh', 'direct', 9000, undefined],
      ['osk-demo-worker-1', 'n2', 'normal', 1500, '10.30.0.N/24'],
      ['osk-demo-worker-1', 'fh', 'direct', 9000, undefined],
    ],
  );
  assert.deepEqual(
    [a[2]!.mac, a[2]!.address],
    [port.mac_address, `${(port.fixed_ips as { ip_address: string }[])[0]!.ip_address}/24`],
  );
});
