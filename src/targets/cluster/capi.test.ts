/**
 * `osk cluster render`'s part in the cloud, against the fake cloud (fake-cluster-cloud.ts): it
 * makes the server group and application credential CAPO cannot, reuses them the second time,
 * hands out the credential's secret only when asked, and refuses what CAPO cannot do before any
 * call that changes the cloud.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { OskError } from '../../errors.js';
import { OpenStackClient } from '../../openstack/index.js';
import { FakeCloud } from '../../openstack/testing/fake-cloud.js';
import { type ClusterCloudState, serveClusterApis } from '../../openstack/testing/fake-cluster-cloud.js';
import { parseClusterFile } from '../../spec/load-cluster.js';
import { SecretStore } from '../../state/secret-store.js';
import { prepareClusterApi } from './capi.js';
import { quietReporter } from '../../../test/support/reporter.js';

const file = (extra: string) =>
  parseClusterFile(
    'apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: demo}\n' +
      `spec:\n  image: node-image\n  controlPlane: {flavor: m1.small}\n  workers: {flavor: m1.small}\n${extra}`,
    'cluster.yaml',
  );

const quiet = quietReporter;

let cloud: FakeCloud;
let s: ClusterCloudState;
let os: OpenStackClient;
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'osk-capi-'));
  cloud = await FakeCloud.start();
  s = serveClusterApis(cloud);
  const auth = {
    type: 'password' as const,
    authUrl: cloud.authUrl,
    username: 'demo',
    password: 'p',
    scope: { project: { name: 'demo' } },
  };
  os = new OpenStackClient(
    { auth, retryDelayMs: 1 },
    {
      name: 'demo',
      file: 'clouds.yaml',
      auth,
      region: 'RegionOne',
      interface: 'public',
      endpointOverrides: {},
      tls: {},
    },
  );
});
after(async () => {
  await os.close();
  await cloud.stop();
  await rm(dir, { recursive: true, force: true });
});

test('render makes the server group and application credential once, and gives the secret only when asked', async () => {
  const store = await SecretStore.open(join(dir, 'a', 'secrets.yaml'), 'cluster/demo');
  const f = file('');
  const first = await prepareClusterApi(os, f, store, { reporter: quiet, showSecrets: false });
  assert.deepEqual(first.made, [
    'created application credential osk-demo',
    'created server group osk-demo-nodes (soft-anti-affinity)',
  ]);
  const id = first.inputs.identity;
  assert.equal(id.applicationCredentialSecret, undefined, 'no secret without --show-secrets');
  assert.equal(id.authUrl, cloud.authUrl);
  assert.equal(id.region, 'RegionOne');
  assert.ok(first.inputs.serverGroupId);
  assert.ok(first.inputs.flavorIds.get('m1.small'));

  const second = await prepareClusterApi(os, f, store, { reporter: quiet, showSecrets: true });
  assert.deepEqual(second.made, [], 'a second render reuses both');
  assert.equal(second.inputs.serverGroupId, first.inputs.serverGroupId);
  assert.equal(second.inputs.identity.applicationCredentialId, id.applicationCredentialId);
  assert.equal(second.inputs.identity.applicationCredentialSecret, store.get('application-credential-secret'));
  assert.ok(second.inputs.identity.applicationCredentialSecret);
});

test('without a load balancer and an external network: refused (exit 2) before anything is made', async () => {
  const before = cloud.requests.length;
  const store = await SecretStore.open(join(dir, 'b', 'secrets.yaml'), 'cluster/demo');
  await assert.rejects(
    prepareClusterApi(os, file('  apiLoadBalancer: {enabled: false}\n'), store, {
      reporter: quiet,
      showSecrets: false,
    }),
    (e: OskError) => e.exitCode === 2 && /CAPO has no address for the Kubernetes API/.test(e.message),
  );
  assert.equal(cloud.requests.length, before, 'no call at all');
});

test("render resolves the secondary networks' network, subnet and groups to ids, making the groups of spec.securityGroups", async () => {
  s.networks.push({ id: 'net-n2', name: 'telco-n2', mtu: 1500, tags: [], 'provider:network_type': 'flat' });
  s.subnets.push({ id: 'sub-n2', name: 'telco-n2-v4', network_id: 'net-n2', cidr: '10.30.0.0/24', tags: [] });
  s.security_groups.push({ id: 'sg-ran-ops', name: 'ran-ops', security_group_rules: [], tags: [] });
  const store = await SecretStore.open(join(dir, 'c', 'secrets.yaml'), 'cluster/demo');
  const f = file('  securityGroups: [{name: n2, rules: [{protocol: sctp, ports: "38412", from: 10.20.0.0/16}]}]\n');
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
  ];
  const p = await prepareClusterApi(os, f, store, { reporter: quiet, showSecrets: false });
  const own = s.security_groups.find((g) => g.name === 'osk-demo-sg-n2')!;
  assert.deepEqual(own.tags, ['osk-cluster=demo'], 'osk cluster delete finds it by the tag');
  assert.deepEqual(
    [[...p.inputs.secondary.networks], [...p.inputs.secondary.subnets], [...p.inputs.secondary.groups]],
    [
      [['telco-n2', 'net-n2']],
      [['telco-n2 telco-n2-v4', 'sub-n2']],
      [
        ['ran-ops', 'sg-ran-ops'],
        ['n2', own.id],
      ],
    ],
  );
});
