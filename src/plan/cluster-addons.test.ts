/** The add-ons of a user's cluster: cloud.conf, OCCM, Cinder CSI, StorageClasses, as data. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseClusterFile } from '../spec/load-cluster.js';
import { schemaProblems } from '../targets/kubernetes/testing/schema.js';
import { type AddonInputs, cloudConf, clusterAddons } from './cluster-addons.js';

const file = (extra = '') =>
  parseClusterFile(
    `apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: demo}\nspec:\n  image: i\n  controlPlane: {flavor: f}\n  workers: {flavor: f}\n${extra}`,
  );

const SECRET = 'sEcr3t;#"\\x';
const inputs = (over: Partial<AddonInputs> = {}): AddonInputs => ({
  authUrl: 'http://keystone.example:5000/v3',
  region: 'RegionOne',
  applicationCredential: { id: 'ac-id', secret: SECRET },
  networkId: 'net-id',
  subnetId: 'subnet-id',
  floatingNetworkId: undefined,
  loadBalancerService: true,
  caCert: undefined,
  ...over,
});

const classes =
  '  storageClasses:\n    - {name: fast, volumeType: ssd, default: true}\n    - {name: slow, volumeType: hdd}\n';

test('every object passes the Kubernetes schema of its kind', () => {
  const objects = clusterAddons(file(classes), inputs({ floatingNetworkId: 'ext-id', caCert: 'PEM' }));
  assert.deepEqual(schemaProblems(objects), []);
  assert.deepEqual(
    objects.map((o) => `${o.kind}/${o.metadata?.name}`),
    [
      'Secret/cloud-config',
      'ServiceAccount/cloud-controller-manager',
      'ClusterRole/system:cloud-controller-manager',
      'ClusterRoleBinding/system:cloud-controller-manager',
      'DaemonSet/openstack-cloud-controller-manager',
      'CSIDriver/cinder.csi.openstack.org',
      'ServiceAccount/csi-cinder-controller-sa',
      'ClusterRole/osk:csi-cinder-controller',
      'ClusterRoleBinding/osk:csi-cinder-controller',
      'ServiceAccount/csi-cinder-node-sa',
      'ClusterRole/osk:csi-cinder-node',
      'ClusterRoleBinding/osk:csi-cinder-node',
      'Deployment/csi-cinder-controllerplugin',
      'DaemonSet/csi-cinder-nodeplugin',
      'StorageClass/fast',
      'StorageClass/slow',
    ],
  );
});

test('cloud.conf: the application credential, the OVN provider and its method, the cluster network, every value quoted', () => {
  assert.equal(
    cloudConf(file(), inputs({ floatingNetworkId: 'ext-id' })),
    [
      '[Global]',
      'auth-url = "http://keystone.example:5000/v3"',
      'region = "RegionOne"',
      'application-credential-id = "ac-id"',
      'application-credential-secret = "sEcr3t;#\\"\\\\x"',
      '',
      '[LoadBalancer]',
      'enabled = "true"',
      'lb-provider = "ovn"',
      'lb-method = "SOURCE_IP_PORT"',
      'network-id = "net-id"',
      'subnet-id = "subnet-id"',
      'member-subnet-id = "subnet-id"',
      'floating-network-id = "ext-id"',
      'manage-security-groups = "false"',
      'create-monitor = "false"',
      '',
      '[BlockStorage]',
      'ignore-volume-az = "true"',
      '',
    ].join('\n'),
  );
});

test('cloud.conf: no floating network without an external network; the load balancer off without Octavia; the CA file', () => {
  const plain = cloudConf(file(), inputs());
  assert.doesNotMatch(plain, /floating-network-id/);
  assert.doesNotMatch(plain, /ca-file/);
  assert.match(cloudConf(file(), inputs({ loadBalancerService: false })), /\[LoadBalancer\]\nenabled = "false"\n\n/);
  assert.match(cloudConf(file(), inputs({ caCert: 'PEM' })), /ca-file = "\/etc\/config\/ca.crt"/);
  assert.match(
    cloudConf(file('  apiLoadBalancer: {provider: amphora}\n'), inputs()),
    /lb-provider = "amphora"\nlb-method = "ROUND_ROBIN"/,
  );
  assert.throws(() => cloudConf(file(), inputs({ region: 'a\nenabled = false' })), /line break/);
});

test('the credential is in the Secret only: no other object, argument or environment carries it', () => {
  const objects = clusterAddons(file(classes), inputs({ caCert: 'PEM' }));
  const secret = objects.find((o) => o.kind === 'Secret');
  assert.ok(secret && 'stringData' in secret && secret.stringData?.['cloud.conf']?.includes('ac-id'));
  assert.equal(secret.stringData?.['ca.crt'], 'PEM');
  for (const o of objects.filter((x) => x !== secret)) {
    const text = JSON.stringify(o);
    assert.doesNotMatch(text, /ac-id|sEcr3t/, `${o.kind}/${o.metadata?.name}`);
  }
});

test('OCCM names its load balancers after the cluster; the CSI controller tags its volumes with it', () => {
  const objects = clusterAddons(file(), inputs());
  const args = (kind: string, name: string, container: string) => {
    const o = objects.find((x) => x.kind === kind && x.metadata?.name === name);
    assert.ok(o && 'spec' in o && o.spec && 'template' in o.spec);
    return o.spec.template.spec?.containers.find((c) => c.name === container)?.args ?? [];
  };
  assert.ok(
    args('DaemonSet', 'openstack-cloud-controller-manager', 'openstack-cloud-controller-manager').includes(
      '--cluster-name=demo',
    ),
  );
  assert.ok(args('Deployment', 'csi-cinder-controllerplugin', 'cinder-csi-plugin').includes('--cluster=demo'));
  assert.ok(
    args('DaemonSet', 'csi-cinder-nodeplugin', 'cinder-csi-plugin').includes('--provide-controller-service=false'),
  );
});

test('one StorageClass per volume type, the default one annotated, no class without storageClasses', () => {
  const sc = clusterAddons(file(classes), inputs()).filter((o) => o.kind === 'StorageClass');
  assert.deepEqual(
    sc.map((c) => [c.metadata?.name, 'parameters' in c ? c.parameters?.type : '', c.metadata?.annotations]),
    [
      ['fast', 'ssd', { 'storageclass.kubernetes.io/is-default-class': 'true' }],
      ['slow', 'hdd', undefined],
    ],
  );
  assert.equal(clusterAddons(file(), inputs()).filter((o) => o.kind === 'StorageClass').length, 0);
});

test("OCCM runs as its image's non-root user and can read cloud.conf (group-readable through fsGroup)", () => {
  const ds = clusterAddons(file(), inputs()).find((o) => o.metadata?.name === 'openstack-cloud-controller-manager');
  assert.ok(ds && ds.kind === 'DaemonSet');
  const pod = ds.spec?.template.spec;
  assert.equal(pod?.securityContext?.runAsNonRoot, true);
  assert.equal(pod?.securityContext?.fsGroup, pod?.securityContext?.runAsUser);
  const mode = pod?.volumes?.find((v) => v.name === 'cloud-config')?.secret?.defaultMode ?? 0;
  assert.equal(mode & 0o040, 0o040, 'group-readable');
  assert.equal(mode & 0o004, 0, 'not world-readable');
});
