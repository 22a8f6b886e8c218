/**
 * Octavia in the catalog: opt-in, the OVN provider only, its driver agent beside the API (a
 * native sidecar in the API's pod on Kubernetes, a program of its own before the API on a host),
 * its roles created with its catalog entry.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildModel } from '../plan/model.js';
import { parseCloudFile } from '../spec/load.js';
import { statePaths } from '../state/paths.js';
import { render } from '../targets/kubernetes/render.js';
import { allObjects } from '../targets/kubernetes/objects.js';
import { schemaProblems } from '../targets/kubernetes/testing/schema.js';
import { DEFAULT_CLOUD_YAML } from '../targets/local/cloud.js';
import { localModel } from '../targets/local/up.js';
import { SecretStore } from '../state/secret-store.js';

const secrets = (n: string) => `S${n.replace(/[^A-Za-z0-9]/g, '')}`;
const cloud = (services: string) =>
  `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: lb}\nspec:\n  services: ${services}\n`;
const withOctavia = cloud('{octavia: {enabled: true}}');
const HOST = {
  distro: { id: 'debian', versionId: '12', pretty: 'Debian 12' },
  hostname: 'aio',
  root: true,
} as const;

test('Octavia is opt-in: a cloud file without it, and the examples, have no Octavia', () => {
  for (const yaml of [
    cloud('{}'),
    readFileSync('examples/minimal.yaml', 'utf8'),
    readFileSync('examples/ha.yaml', 'utf8'),
  ]) {
    const model = buildModel(parseCloudFile(yaml), { secrets });
    assert.deepEqual(
      [...model.components.keys()].filter((id) => id.startsWith('octavia')),
      [],
    );
  }
});

test('Octavia needs Neutron: refused at the field, with what to do', () => {
  assert.throws(
    () => parseCloudFile(cloud('{octavia: {enabled: true}, neutron: {enabled: false}}'), 'lb.yaml'),
    (e: Error & { exitCode?: number }) => {
      assert.equal(e.exitCode, 2);
      assert.match(e.message, /spec\.services\.octavia\.enabled/);
      assert.match(e.message, /Octavia needs Neutron/);
      return true;
    },
  );
});

test('Kubernetes: the driver agent is a native sidecar of the API pod, past its startup probe before the API starts', () => {
  const file = parseCloudFile(withOctavia, 'lb.yaml');
  const { groups, model } = render(file, SecretStore.memory('lb'));
  assert.equal(model.components.has('octavia-driver-agent'), false, 'no workload of its own');
  const objects = allObjects(groups);
  assert.deepEqual(schemaProblems(objects), []);
  const api = objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === 'octavia-api') as unknown as {
    spec: { template: { spec: Record<string, any> } };
  };
  const pod = api.spec.template.spec;
  const [agent] = pod.initContainers;
  assert.equal(agent.name, 'driver-agent');
  assert.equal(agent.restartPolicy, 'Always');
  assert.deepEqual(agent.command.slice(0, 1), ['octavia-driver-agent']);
  assert.equal(agent.startupProbe.exec.command[0], 'test');
  assert.equal(agent.image, pod.containers[0].image);
  // Both see the socket directory (the OVN driver opens octavia-lib's default paths).
  for (const c of [agent, pod.containers[0]])
    assert.ok(
      c.volumeMounts.some((m: { mountPath: string }) => m.mountPath === '/var/run/octavia'),
      c.name,
    );
  const conf = model.bundles.get('octavia')!.files.find((f) => f.name === 'octavia.conf')!;
  assert.ok('ini' in conf);
  const text = conf.ini.renderPublic();
  assert.match(text, /enabled_provider_drivers = ovn:/);
  assert.match(text, /default_provider_driver = ovn/);
  assert.match(text, /status_socket_path = \/var\/run\/octavia\/status\.sock/);
  assert.match(text, /ovn_nb_connection = tcp:ovn-nb-0\./);
  // It waits for the OVN databases it programs and for its schema.
  const needs = model.edges.filter((e) => e.from === 'octavia-api' && e.kind === 'needs').map((e) => e.to);
  for (const t of ['ovn-nb', 'ovn-sb', 'octavia-db-sync', 'keystone-api']) assert.ok(needs.includes(t), t);
});

test('one host: the driver agent is a program of its own that the API waits for; ks-register creates the roles', () => {
  const file = parseCloudFile(DEFAULT_CLOUD_YAML);
  const model = localModel(file, statePaths('default', '/var/tmp/osk-octavia-test'), HOST, secrets);
  const agent = model.components.get('octavia-driver-agent')!;
  assert.equal(agent.host?.kind, 'process');
  assert.ok(
    model.edges.some((e) => e.from === 'octavia-api' && e.to === 'octavia-driver-agent' && e.kind === 'needs'),
    'the API starts after the agent',
  );
  const register = model.components.get('octavia-ks-register')!.host;
  assert.ok(register?.kind === 'builtin' && 'keystoneEndpoint' in register.action);
  assert.equal(register.action.keystoneEndpoint.type, 'load-balancer');
  assert.ok(register.action.keystoneEndpoint.roles?.includes('load-balancer_member'));
  const api = model.components.get('octavia-api')!.host;
  assert.ok(api?.kind === 'process' && api.packages.includes('python3-ovn-octavia-provider'));
});
