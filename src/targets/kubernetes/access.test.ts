/**
 * Public endpoints on NodePorts (spec.endpoints.nodePorts) and `osk env -f`'s clouds.yaml: the
 * Services, the catalog's public URLs and the clouds.yaml all name the same address and ports.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseCloudFile } from '../../spec/load.js';
import { SecretStore } from '../../state/secret-store.js';
import { kubeCloudsYaml } from './access.js';
import { allObjects } from './objects.js';
import { render } from './render.js';

const cloud = (endpoints: string) =>
  parseCloudFile(
    `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: np}\nspec:\n  services: {octavia: {enabled: true}}\n  endpoints: ${endpoints}\n`,
    'np.yaml',
  );

type Obj = { kind: string; metadata: { name: string }; spec?: any; data?: Record<string, string> };

test('nodePorts: each public API is a NodePort on its fixed port, and the catalog and configs name that URL', () => {
  const store = SecretStore.memory('np');
  const { groups, model } = render(cloud('{nodePorts: {address: 10.250.0.2}}'), store);
  const objects = allObjects(groups) as Obj[];
  const nodePorts = Object.fromEntries(
    objects
      .filter((o) => o.kind === 'Service' && o.spec.type === 'NodePort')
      .map((o) => [o.metadata.name, o.spec.ports.map((p: { nodePort: number }) => p.nodePort)]),
  );
  assert.deepEqual(nodePorts, {
    'keystone-api': [30500],
    'nova-api': [30774],
    'placement-api': [30778],
    'glance-api': [30292],
    'neutron-server': [30696],
    'cinder-api': [30776],
    'octavia-api': [30876],
    'nova-novncproxy': [30680],
  });
  const env = (prefix: string, name: string) =>
    objects
      .find((o) => o.kind === 'Job' && o.metadata.name.startsWith(prefix))!
      .spec.template.spec.containers[0].env.find((e: { name: string }) => e.name === name)?.value;
  assert.equal(env('cinder-ks-register', 'ENDPOINT_PUBLIC'), 'http://10.250.0.2:30776/v3/%(project_id)s');
  assert.equal(env('octavia-ks-register', 'ENDPOINT_PUBLIC'), 'http://10.250.0.2:30876');
  assert.equal(env('keystone-bootstrap', 'PUBLIC_URL'), 'http://10.250.0.2:30500/v3');
  const policy = objects.find((o) => o.kind === 'NetworkPolicy' && o.metadata.name === 'keystone-api')!;
  assert.ok(
    policy.spec.ingress.some(
      (r: { from?: { ipBlock?: unknown }[]; ports: { port: number }[] }) =>
        r.ports.some((p) => p.port === 5000) && r.from?.some((f) => f.ipBlock),
    ),
    'the NodePort is reachable from outside the cluster',
  );

  store.replace('keystone-admin-password', 'pw');
  const yaml = parse(kubeCloudsYaml(model, store, '/s')) as { clouds: Record<string, any> };
  assert.deepEqual(yaml.clouds.np.auth, {
    auth_url: 'http://10.250.0.2:30500/v3',
    username: 'admin',
    password: 'pw',
    project_name: 'admin',
    user_domain_name: 'Default',
    project_domain_name: 'Default',
  });
  assert.equal(yaml.clouds.np.interface, 'public');
});

test('osk env -f: a cloud that publishes nothing, or a store without the admin password, is bad input with what to do', () => {
  const internalOnly = render(
    parseCloudFile('apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: in}\n'),
    SecretStore.memory('in'),
  );
  assert.throws(
    () => kubeCloudsYaml(internalOnly.model, SecretStore.memory('in', { 'keystone-admin-password': 'x' }), '/s'),
    (e: Error & { exitCode?: number; hint?: string }) =>
      e.exitCode === 2 && /publishes no API outside its cluster/.test(e.message) && /nodePorts/.test(e.hint ?? ''),
  );
  const { model } = render(cloud('{nodePorts: {address: node1.example.org}}'), SecretStore.memory('np'));
  assert.throws(
    () => kubeCloudsYaml(model, SecretStore.memory('np'), '/s/secrets.yaml'),
    (e: Error & { exitCode?: number }) =>
      e.exitCode === 2 && /\/s\/secrets\.yaml has no admin password/.test(e.message),
  );
});

test('nodePorts and publicDomain together are refused at the field', () => {
  assert.throws(
    () => cloud('{publicDomain: x.example.org, nodePorts: {address: 10.0.0.1}}'),
    (e: Error & { exitCode?: number }) =>
      e.exitCode === 2 && /spec\.endpoints\.nodePorts: nodePorts and publicDomain/.test(e.message),
  );
});
