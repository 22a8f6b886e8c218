/**
 * osk cluster create/delete/status against the fake cloud's in-memory Nova, Neutron, Octavia,
 * Glance, Cinder and Keystone (fake-cluster-cloud.ts): what create makes, that a second create
 * makes no change, that an interrupted create continues, and that delete leaves nothing, also of
 * what the in-cluster cloud controller made.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import type { OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { FakeCloud, fakeAdminClient } from '../../openstack/testing/fake-cloud.js';
import { serveClusterApis, type ClusterCloudState } from '../../openstack/testing/fake-cluster-cloud.js';
import { parseClusterFile } from '../../spec/load-cluster.js';
import { SecretStore } from '../../state/secret-store.js';
import { addonInputs, findClusterIds } from './addons.js';
import { createCluster } from './create.js';
import { deleteCluster } from './delete.js';
import { clusterStatus } from './inspect.js';
import { clusterKubeconfig } from './kubeconfig.js';
import { quietReporter } from '../../../test/support/reporter.js';

const FILE = parseClusterFile(
  `apiVersion: osk.dev/v1alpha1
kind: KubernetesCluster
metadata: {name: demo}
spec:
  image: node-image
  controlPlane: {flavor: m1.small, count: 1}
  workers: {flavor: m1.small, count: 2, labels: {example.com/pool: general}}
  network: {cidr: 10.6.0.0/24, mtu: 1442, dnsServers: [10.0.0.53]}
  storageClasses: [{name: standard, volumeType: standard, default: true}]
`,
  'cluster.yaml',
);

const quiet = quietReporter;
const opts = { timeoutMs: 5_000, reporter: quiet };

let cloud: FakeCloud;
let s: ClusterCloudState;
let os: OpenStackClient;
let dir: string;
let storePath: string;
const store = () => SecretStore.open(storePath, 'cluster/demo');
const changes = () => cloud.requests.filter((r) => r.method !== 'GET' && !r.path.endsWith('/auth/tokens'));

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'osk-cluster-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});
beforeEach(async () => {
  await os?.close();
  await cloud?.stop();
  cloud = await FakeCloud.start();
  s = serveClusterApis(cloud);
  os = fakeAdminClient(cloud);
  storePath = join(dir, `${Math.random()}`, 'secrets.yaml');
});
after(async () => {
  await os.close();
  await cloud.stop();
});

test('create makes the network with its MTU, the router, groups, ports, load balancer and ACTIVE servers in one server group', async () => {
  const r = await createCluster(os, FILE, await store(), opts);
  assert.equal(r.changed, 0, r.actions.join('; '));
  assert.deepEqual(
    s.networks.map((x) => [x.name, x.mtu, x.tags]),
    [['osk-demo-net', 1442, ['osk-cluster=demo']]],
  );
  assert.deepEqual(s.subnets[0]!.dns_nameservers, ['10.0.0.53']);
  assert.ok(s.ports.some((p) => p.device_owner === 'network:router_interface' && p.device_id === s.routers[0]!.id));
  assert.deepEqual(s.security_groups.map((g) => g.name).sort(), [
    'osk-demo-control-plane',
    'osk-demo-nodes',
    'osk-demo-workers',
  ]);
  const rule = s.security_group_rules.find((x) => x.port_range_min === 30000 && x.protocol === 'tcp')!;
  assert.equal(rule.remote_ip_prefix, '0.0.0.0/0', 'NodePorts open to clients: the OVN provider does not SNAT');
  assert.deepEqual(
    s.serverGroups.map((g) => [g.name, g.policy, (g.members as string[]).length]),
    [['osk-demo-nodes', 'soft-anti-affinity', 3]],
  );
  assert.deepEqual(
    s.servers.map((v) => [v.name, v.status]),
    [
      ['osk-demo-control-plane-0', 'ACTIVE'],
      ['osk-demo-worker-0', 'ACTIVE'],
      ['osk-demo-worker-1', 'ACTIVE'],
    ],
  );
  const lb = s.loadbalancers[0]!;
  assert.equal(lb.provider, 'ovn');
  assert.equal(s.listeners[0]!.protocol_port, 6443);
  const cp = s.ports.find((p) => p.name === 'osk-demo-control-plane-0')!;
  assert.deepEqual(
    s.members.map((m) => m.address),
    [(cp.fixed_ips as { ip_address: string }[])[0]!.ip_address],
  );
  assert.equal(r.apiEndpoint, lb.vip_address);

  // The first control-plane node runs kubeadm init against the VIP; workers join with the pinned CA.
  const data = (v: (typeof s.servers)[number]) =>
    parse(Buffer.from(String(v.user_data), 'base64').toString()) as {
      write_files: { path: string; content: string }[];
      runcmd: string[][];
    };
  const init = data(s.servers[0]!);
  assert.deepEqual(init.runcmd[0], [
    'kubeadm',
    'init',
    '--config',
    '/etc/kubernetes/osk/kubeadm.yaml',
    '--upload-certs',
  ]);
  const kubeadm = parseAllDocuments(init.write_files.find((f) => f.path.endsWith('kubeadm.yaml'))!.content).map((d) =>
    d.toJS(),
  );
  assert.equal(kubeadm[1].controlPlaneEndpoint, `${lb.vip_address}:6443`);
  const calico = parse(init.write_files.find((f) => f.path.endsWith('calico.yaml'))!.content);
  assert.equal(calico.spec.calicoNetwork.mtu, 1392, '1442 − 50 for VXLAN');
  const join = parse(data(s.servers[1]!).write_files[0]!.content);
  assert.match(join.discovery.bootstrapToken.caCertHashes[0], /^sha256:[0-9a-f]{64}$/);
  assert.equal(
    join.nodeRegistration.kubeletExtraArgs.find((a: { name: string }) => a.name === 'node-labels').value,
    'example.com/pool=general',
  );
  assert.ok(!data(s.servers[1]!).write_files.some((f) => f.path.endsWith('ca.key')), 'workers never get the CA key');
  // The add-ons the first control plane applies name what create made: credential, network, subnet.
  const addons = parseAllDocuments(init.write_files.find((f) => f.path.endsWith('addons.yaml'))!.content).map((d) =>
    d.toJS(),
  );
  const conf: string = addons.find((o) => o.kind === 'Secret').stringData['cloud.conf'];
  assert.match(conf, new RegExp(`application-credential-id = "${s.appCreds[0]!.id}"`));
  assert.match(conf, new RegExp(`subnet-id = "${s.subnets[0]!.id}"\n`));
  assert.match(conf, new RegExp(`network-id = "${s.networks.find((n) => n.name === 'osk-demo-net')!.id}"`));
  assert.deepEqual(
    addons.filter((o) => o.kind === 'StorageClass').map((o) => [o.metadata.name, o.parameters.type]),
    [['standard', 'standard']],
  );
  assert.ok(
    !data(s.servers[1]!).write_files.some((f) => f.path.endsWith('addons.yaml')),
    'only the first control plane',
  );

  // The application credential's secret is kept in the cluster's store, 0600.
  assert.equal((await store()).get('application-credential-secret'), `secret-of-${s.appCreds[0]!.id}`);
  assert.equal((await stat(storePath)).mode & 0o077, 0);
  const st = await clusterStatus(os, FILE, await store());
  assert.equal(st.ready, true, JSON.stringify(st.objects.filter((o) => o.state !== 'ok')));
});

test('a second create changes nothing: no call but reads', async () => {
  await createCluster(os, FILE, await store(), opts);
  cloud.requests.length = 0;
  const again = await createCluster(os, FILE, await store(), opts);
  assert.deepEqual([again.created, again.changed], [0, 0]);
  assert.deepEqual(
    changes().map((r) => `${r.method} ${r.path}`),
    [],
  );
});

test('an interrupted create continues: what is missing is made, nothing else', async () => {
  await createCluster(os, FILE, await store(), opts);
  // As if create had stopped before the last worker and the members.
  const last = s.servers.pop()!;
  for (const g of s.serverGroups) g.members = (g.members as string[]).filter((m) => m !== last.id);
  s.members.length = 0;
  cloud.requests.length = 0;
  const r = await createCluster(os, FILE, await store(), opts);
  assert.equal(r.created, 2, r.actions.join('; '));
  assert.deepEqual(
    changes().map((x) => `${x.method} ${x.path.replace(/[0-9a-f-]{36}/g, 'ID')}`),
    ['POST /compute/v2.1/servers', 'POST /load-balancer/v2/lbaas/pools/ID/members'],
  );
  assert.equal(s.servers.length, 3);
});

test('delete removes everything in dependency order, also the cloud controller’s load balancer and floating IP', async () => {
  await createCluster(os, FILE, await store(), opts);
  // What OCCM makes for a Service of type LoadBalancer: an Octavia LB on the subnet with a floating IP.
  const extra = await os.loadBalancer.loadBalancers.create({
    name: 'kube_service_demo_default_web',
    vip_subnet_id: s.subnets[0]!.id,
  });
  await os.network.floatingIps.create({ floating_network_id: 'ext', port_id: extra.vip_port_id });
  const stray = await os.network.ports.create({ network_id: s.networks[0]!.id, name: 'left-by-someone' });
  cloud.requests.length = 0;
  const r = await deleteCluster(os, 'demo', storePath, opts);
  for (const k of [
    'networks',
    'subnets',
    'ports',
    'routers',
    'security_groups',
    'floatingips',
    'servers',
    'serverGroups',
    'appCreds',
    'loadbalancers',
    'listeners',
    'pools',
  ] as const)
    assert.deepEqual(s[k], [], `${k} left behind`);
  assert.ok(r.removed['load-balancers']!.includes('kube_service_demo_default_web'));
  assert.ok(r.removed.ports!.includes('left-by-someone') && stray.id);
  await assert.rejects(stat(storePath), /ENOENT/);
  const order = changes()
    .filter((x) => x.method === 'DELETE' || x.path.endsWith('remove_router_interface'))
    .map((x) => (x.path.endsWith('remove_router_interface') ? 'router-interface' : x.path.split('/').at(-2)));
  assert.deepEqual(
    [...new Set(order)],
    [
      'servers',
      'loadbalancers',
      'floatingips',
      'ports',
      'router-interface',
      'routers',
      'subnets',
      'networks',
      'security-groups',
      'os-server-groups',
      'application_credentials',
    ],
  );
  // Nothing left: a second delete finds nothing and succeeds.
  const again = await deleteCluster(os, 'demo', storePath, opts);
  assert.deepEqual(Object.values(again.removed).flat(), []);
});

test("delete also removes what Cluster API's OpenStack provider left, found by the cluster's tag (osk cluster render tags it)", async () => {
  const tags = ['osk-cluster=demo'];
  const net = await os.network.networks.create({ name: 'k8s-clusterapi-cluster-ns-demo', mtu: 1400 });
  await os.network.networks.setTags(net.id, tags);
  const sub = await os.network.subnets.create({
    network_id: net.id,
    cidr: '10.7.0.0/24',
    ip_version: 4,
    name: 'capo-subnet',
  });
  const router = await os.network.routers.create({ name: 'k8s-clusterapi-cluster-ns-demo' });
  await os.network.routers.setTags(router.id, tags);
  await os.network.routers.addInterface(router.id, { subnet_id: sub.id });
  for (const name of ['k8s-cluster-ns-demo-secgroup-controlplane', 'k8s-cluster-ns-demo-secgroup-worker']) {
    const g = await os.network.securityGroups.create({ name });
    await os.network.securityGroups.setTags(g.id, tags);
  }
  const untagged = await os.network.securityGroups.create({ name: 'someone-else' });
  const r = await deleteCluster(os, 'demo', storePath, opts);
  for (const k of ['networks', 'subnets', 'routers'] as const) assert.deepEqual(s[k], [], `${k} left behind`);
  assert.deepEqual(
    s.security_groups.map((g) => g.id),
    [untagged.id],
    'only the tagged groups go',
  );
  assert.match(r.removed.router!.join(' '), /^interface 10\.7\.0\.\d+ k8s-clusterapi-cluster-ns-demo$/);
  assert.deepEqual(r.removed.network, ['capo-subnet', 'k8s-clusterapi-cluster-ns-demo']);
});

test('hard anti-affinity with more nodes than compute hosts is refused before anything is made', async () => {
  const hard = parseClusterFile(
    'apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: demo}\nspec:\n  image: node-image\n  serverGroupPolicy: anti-affinity\n  controlPlane: {flavor: m1.small}\n  workers: {flavor: m1.small, count: 2}\n',
  );
  await assert.rejects(createCluster(os, hard, await store(), opts), (e: OskError) => {
    assert.equal(e.exitCode, 2);
    assert.match(
      e.message,
      /spec.serverGroupPolicy: anti-affinity needs one compute host per node: 3 nodes .* 1 compute host up/,
    );
    return true;
  });
  assert.deepEqual(changes(), []);
  s.computeHosts = 3;
  await createCluster(os, hard, await store(), opts);
  assert.equal(s.serverGroups[0]!.policy, 'anti-affinity');
});

test('a flavor or image the cloud does not have is named with its field', async () => {
  const bad = parseClusterFile(
    'apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: demo}\nspec:\n  image: nope\n  controlPlane: {flavor: m9.huge}\n  workers: {flavor: m1.small}\n',
  );
  await assert.rejects(
    createCluster(os, bad, await store(), opts),
    /spec.controlPlane.flavor: there is no flavor "m9.huge"[\s\S]*spec.image: there is no image "nope"/,
  );
  assert.deepEqual(changes(), []);
});

test('the add-ons name what create made; before create they are refused (exit 2), naming what is missing', async () => {
  const early = await findClusterIds(os, FILE).catch((e: OskError) => e);
  assert.equal((early as OskError).exitCode, 2);
  assert.match((early as OskError).message, /cluster demo has no network osk-demo-net/);
  await createCluster(os, FILE, await store(), opts);
  const ids = await findClusterIds(os, FILE);
  assert.deepEqual(ids, {
    networkId: s.networks.find((n) => n.name === 'osk-demo-net')!.id,
    subnetId: s.subnets[0]!.id,
    externalNetworkId: undefined,
  });
  const inputs = await addonInputs(os, FILE, await store(), ids);
  assert.deepEqual(inputs.applicationCredential, {
    id: s.appCreds[0]!.id,
    secret: `secret-of-${s.appCreds[0]!.id}`,
  });
  assert.equal(inputs.authUrl, cloud.authUrl);
  assert.equal(inputs.loadBalancerService, true, 'the fake catalog has Octavia');
  const empty = await SecretStore.open(join(dir, 'empty', 'secrets.yaml'), 'cluster/demo');
  await assert.rejects(addonInputs(os, FILE, empty, ids), /no application credential in osk's state/);
});

test("kubeconfig: the API's address from the cloud, the cluster's CA, a client certificate the CA signed in kubeadm's admin group; refused before create and for a user name that could add a group", async () => {
  const early = await clusterKubeconfig(os, FILE, await store(), { user: 'osk-admin', days: 1 }).catch(
    (e: OskError) => e,
  );
  assert.equal((early as OskError).exitCode, 2);
  assert.match((early as OskError).message, /cluster demo has no CA in osk's state/);
  await createCluster(os, FILE, await store(), opts);
  const k = await clusterKubeconfig(os, FILE, await store(), { user: 'osk-admin', days: 30 });
  const doc = k.kubeconfig as any;
  const lb = s.loadbalancers.find((l) => l.name === 'osk-demo-api')!;
  assert.equal(doc.clusters[0].cluster.server, `https://${lb.vip_address}:6443`);
  assert.match(k.via, /VIP of load balancer osk-demo-api/);
  const ca = (await store()).get('ca-crt');
  assert.equal(Buffer.from(doc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), ca);
  assert.equal(doc['current-context'], 'osk-admin@demo');
  const cert = new X509Certificate(Buffer.from(doc.users[0].user['client-certificate-data'], 'base64'));
  const key = createPrivateKey(Buffer.from(doc.users[0].user['client-key-data'], 'base64'));
  assert.ok(cert.verify(new X509Certificate(ca).publicKey), 'signed by the cluster CA');
  assert.ok(cert.checkPrivateKey(key), "the key is the certificate's");
  assert.equal(cert.subject, 'O=kubeadm:cluster-admins\nCN=osk-admin');
  assert.equal(cert.ca, false);
  const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
  assert.ok(days > 29 && days <= 30, `${days} days`);
  const hostile = await clusterKubeconfig(os, FILE, await store(), { user: 'x/O=system:masters', days: 1 }).catch(
    (e: OskError) => e,
  );
  assert.equal((hostile as OskError).exitCode, 2);
  assert.match((hostile as OskError).message, /--user "x\/O=system:masters": a user name is letters/);
});
