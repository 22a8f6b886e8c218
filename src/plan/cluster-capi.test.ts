/**
 * The Cluster API objects as data: what the cluster file says ends up in the fields CAPO v0.14
 * and cluster-api v1.12 read, every reference names an object of the render, and the secret
 * appears only when given. (The real CRDs check the shapes: test/cluster/capi-crds.test.ts.)
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseClusterFile } from '../spec/load-cluster.js';
import { type CapiInputs, type CapiObject, capiProblems, clusterApiObjects } from './cluster-capi.js';

const file = (extra = '') =>
  parseClusterFile(
    'apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: capi-demo, labels: {team: a}}\n' +
      'spec:\n  image: img\n  controlPlane: {flavor: small, count: 3}\n  workers: {flavor: big, count: 2, labels: {pool: gp}}\n' +
      '  network: {cidr: 10.7.0.0/24, mtu: 1400, dnsServers: [10.0.0.53], externalNetwork: public}\n' +
      `  cni: {encapsulation: vxlan}\n${extra}`,
  );

const inputs = (secret?: string): CapiInputs => ({
  imageId: 'image-id',
  flavorIds: new Map([
    ['small', 'flavor-small'],
    ['big', 'flavor-big'],
  ]),
  externalNetworkId: 'ext-id',
  serverGroupId: 'group-id',
  identity: {
    authUrl: 'http://127.0.0.1:5000/v3',
    region: 'RegionOne',
    interface: 'public',
    applicationCredentialId: 'cred-id',
    applicationCredentialSecret: secret,
    cacert: undefined,
  },
  secondary: {
    networks: new Map([
      ['telco-n2', 'net-n2'],
      ['telco-fh', 'net-fh'],
    ]),
    subnets: new Map([['telco-n2 telco-n2-v4', 'sub-n2']]),
    groups: new Map([
      ['n2', 'sg-own-n2'],
      ['ran-ops', 'sg-ran-ops'],
    ]),
  },
});

const of = (objs: CapiObject[], kind: string, name?: string): any => {
  const o = objs.find((x) => x.kind === kind && (name === undefined || x.metadata.name === name));
  assert.ok(o, `${kind} ${name ?? ''} rendered`);
  return o;
};

test('OpenStackCluster: the managed subnet with the CIDR and DNS, the MTU, the external network, the OVN load balancer, the tag', () => {
  const objs = clusterApiObjects(file(), inputs());
  const spec = of(objs, 'OpenStackCluster').spec;
  assert.deepEqual(spec.managedSubnets, [{ cidr: '10.7.0.0/24', dnsNameservers: ['10.0.0.53'] }]);
  assert.equal(spec.networkMTU, 1400);
  assert.deepEqual(spec.externalNetwork, { id: 'ext-id' });
  assert.deepEqual(spec.apiServerLoadBalancer, { enabled: true, provider: 'ovn' });
  assert.deepEqual(spec.tags, ['osk-cluster=capi-demo']);
  assert.deepEqual(spec.identityRef, { type: 'Secret', name: 'capi-demo-cloud-config', cloudName: 'openstack' });
});

test("security groups: NodePorts open to anywhere for the OVN provider, Calico between nodes, none of CAPO's own rules again", () => {
  const sg = of(clusterApiObjects(file(), inputs()), 'OpenStackCluster').spec.managedSecurityGroups;
  const nodePorts = sg.workerNodesSecurityGroupRules.filter((r: { portRangeMin?: number }) => r.portRangeMin === 30000);
  assert.deepEqual(
    nodePorts.map((r: { protocol: string; remoteIPPrefix: string }) => [r.protocol, r.remoteIPPrefix]),
    [
      ['tcp', '0.0.0.0/0'],
      ['udp', '0.0.0.0/0'],
    ],
  );
  const vxlan = sg.allNodesSecurityGroupRules.find((r: { portRangeMin?: number }) => r.portRangeMin === 4789);
  assert.deepEqual(vxlan.remoteManagedGroups, ['controlplane', 'worker']);
  const all = [
    ...sg.allNodesSecurityGroupRules,
    ...sg.controlPlaneNodesSecurityGroupRules,
    ...sg.workerNodesSecurityGroupRules,
  ];
  for (const port of [6443, 2379, 10250])
    assert.ok(!all.some((r: { portRangeMin?: number }) => r.portRangeMin === port), `CAPO makes port ${port} itself`);
  assert.equal(new Set(all.map((r: { name: string }) => r.name)).size, all.length, 'rule names are unique');
  const ipip = of(clusterApiObjects(file('  keyPair: k\n'), inputs()), 'OpenStackCluster').spec.managedSecurityGroups
    .allNodesSecurityGroupRules;
  assert.ok(
    ipip.some((r: { portRangeMin?: number; remoteIPPrefix?: string }) => r.portRangeMin === 22 && r.remoteIPPrefix),
    'SSH with a keypair',
  );
});

test('machine templates: flavor ids, the image and the server group by id, the keypair, the labels as server metadata', () => {
  const objs = clusterApiObjects(file('  keyPair: mykey\n'), inputs());
  const cp = of(objs, 'OpenStackMachineTemplate', 'capi-demo-control-plane').spec.template.spec;
  const md = of(objs, 'OpenStackMachineTemplate', 'capi-demo-md-0').spec.template.spec;
  assert.equal(cp.flavorID, 'flavor-small');
  assert.equal(md.flavorID, 'flavor-big');
  for (const s of [cp, md]) {
    assert.deepEqual(s.image, { id: 'image-id' });
    assert.deepEqual(s.serverGroup, { id: 'group-id' });
    assert.equal(s.sshKeyName, 'mykey');
    assert.deepEqual(s.serverMetadata, [{ key: 'team', value: 'a' }]);
  }
});

test('kubeadm: counts, version, the external cloud provider, node labels, and Calico with the computed MTU', () => {
  const objs = clusterApiObjects(file(), inputs());
  const kcp = of(objs, 'KubeadmControlPlane').spec;
  assert.equal(kcp.replicas, 3);
  assert.equal(kcp.version, 'v1.36.3');
  const args = kcp.kubeadmConfigSpec.initConfiguration.nodeRegistration.kubeletExtraArgs;
  assert.deepEqual(args[0], { name: 'cloud-provider', value: 'external' });
  const calico = kcp.kubeadmConfigSpec.files.find((f: { path: string }) => f.path.endsWith('calico.yaml'));
  assert.equal(parse(calico.content).spec.calicoNetwork.mtu, 1350, '1400 − 50 bytes of VXLAN');
  const md = of(objs, 'MachineDeployment').spec;
  assert.equal(md.replicas, 2);
  assert.deepEqual(md.template.metadata.labels, md.selector.matchLabels);
  const kct = of(objs, 'KubeadmConfigTemplate').spec.template.spec;
  assert.deepEqual(kct.joinConfiguration.nodeRegistration.kubeletExtraArgs.at(-1), {
    name: 'node-labels',
    value: 'pool=gp',
  });
});

test('every reference names an object of the render, and the cluster network is the file’s', () => {
  const objs = clusterApiObjects(file(), inputs('s3cret'));
  const names = new Set(objs.map((o) => `${o.kind}/${o.metadata.name}`));
  const refs: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.apiGroup === 'string' && typeof o.kind === 'string') refs.push(`${o.kind}/${o.name}`);
      Object.values(o).forEach(walk);
    }
  };
  walk(objs);
  assert.equal(
    refs.length,
    5,
    'Cluster → control plane and infrastructure, control plane → template, workers → bootstrap and template',
  );
  for (const r of refs) assert.ok(names.has(r), `${r} is rendered`);
  const secretRef = of(objs, 'OpenStackCluster').spec.identityRef.name;
  assert.ok(names.has(`Secret/${secretRef}`));
  assert.deepEqual(of(objs, 'Cluster').spec.clusterNetwork.pods.cidrBlocks, ['192.168.0.0/16']);
});

test('the identity Secret: only with the secret, an application credential in clouds.yaml, never a password', () => {
  assert.ok(!clusterApiObjects(file(), inputs()).some((o) => o.kind === 'Secret'), 'no Secret without its secret');
  const secret = of(clusterApiObjects(file(), inputs('s3cret')), 'Secret');
  const clouds = parse(secret.stringData['clouds.yaml']).clouds.openstack;
  assert.equal(clouds.auth_type, 'v3applicationcredential');
  assert.deepEqual(clouds.auth, {
    auth_url: 'http://127.0.0.1:5000/v3',
    application_credential_id: 'cred-id',
    application_credential_secret: 's3cret',
  });
  assert.equal(clouds.region_name, 'RegionOne');
  assert.equal(secret.stringData.cacert, undefined);
});

test('without a load balancer and an external network CAPO has no API address: refused, with the way out', () => {
  const one = (network: string) =>
    parseClusterFile(
      'apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: x}\n' +
        `spec:\n  image: img\n  controlPlane: {flavor: small}\n  workers: {flavor: big}\n  apiLoadBalancer: {enabled: false}\n${network}`,
    );
  assert.equal(capiProblems(file()).length, 0);
  assert.match(capiProblems(one(''))[0]?.message ?? '', /no address for the Kubernetes API/);
  const floating = one('  network: {externalNetwork: public}\n');
  assert.equal(capiProblems(floating).length, 0, 'a floating IP on the first control-plane node will do');
  const spec = of(clusterApiObjects(floating, inputs()), 'OpenStackCluster').spec;
  assert.deepEqual(spec.apiServerLoadBalancer, { enabled: false });
  assert.equal(spec.disableAPIServerFloatingIP, undefined);
});

test("secondary networks: the role's machine template gets CAPO's default port first, then one port per secondary network; the other role none", () => {
  // The workers' flow mapping in file() leaves no room for a list: the parsed file is given its secondary networks.
  const f = file();
  f.spec.workers.secondaryNetworks = [
    {
      name: 'n2',
      network: 'telco-n2',
      subnet: 'telco-n2-v4',
      vnicType: 'normal',
      portSecurity: true,
      securityGroups: ['n2', 'ran-ops'],
      namespace: 'default',
    },
    {
      name: 'fh',
      network: 'telco-fh',
      vnicType: 'direct',
      portSecurity: false,
      securityGroups: [],
      namespace: 'default',
    },
  ];
  const objs = clusterApiObjects(f, inputs());
  assert.equal(of(objs, 'OpenStackMachineTemplate', 'capi-demo-control-plane').spec.template.spec.ports, undefined);
  assert.deepEqual(of(objs, 'OpenStackMachineTemplate', 'capi-demo-md-0').spec.template.spec.ports, [
    {},
    {
      nameSuffix: 'n2',
      description: 'osk cluster capi-demo: secondary network n2',
      network: { id: 'net-n2' },
      fixedIPs: [{ subnet: { id: 'sub-n2' } }],
      vnicType: 'normal',
      securityGroups: [{ id: 'sg-own-n2' }, { id: 'sg-ran-ops' }],
    },
    {
      nameSuffix: 'fh',
      description: 'osk cluster capi-demo: secondary network fh',
      network: { id: 'net-fh' },
      vnicType: 'direct',
      disablePortSecurity: true,
    },
  ]);
});
