import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { OskError } from '../errors.js';
import { parseCloudFile } from '../spec/load.js';
import { CycleError, waves } from './graph.js';
import { buildModel } from './model.js';

const cloud = (spec = '') =>
  parseCloudFile(
    `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: demo}\nspec:\n  profile: minimal\n${spec}`,
  );

test('waves are longest-path levels and deterministic', () => {
  const w = waves(
    ['c', 'b', 'a', 'd'],
    [
      { from: 'b', to: 'a' },
      { from: 'c', to: 'b' },
      { from: 'd', to: 'a' },
    ],
  );
  assert.deepEqual(w, [['a'], ['b', 'd'], ['c']]);
});

test('a cycle names the whole loop', () => {
  assert.throws(
    () =>
      waves(
        ['a', 'b', 'c'],
        [
          { from: 'a', to: 'b' },
          { from: 'b', to: 'c' },
          { from: 'c', to: 'a' },
        ],
      ),
    (e: unknown) => e instanceof CycleError && /a → b → c → a/.test(e.message),
  );
});

test("the plan keeps the seed's order: infra → keystone → glance/placement → nova/neutron/cinder → horizon", () => {
  for (const f of ['examples/minimal.yaml', 'examples/ha.yaml']) {
    const m = buildModel(parseCloudFile(readFileSync(f, 'utf8'), f));
    const wave = (id: string) => m.waves.findIndex((w) => w.includes(id));
    for (const infra of ['mariadb', 'rabbitmq', 'memcached', 'ovn-nb', 'ovn-sb'])
      assert.ok(wave(infra) < wave('keystone-api'), `${infra} before keystone`);
    for (const s of ['glance-api', 'placement-api']) assert.ok(wave('keystone-api') < wave(s), `keystone before ${s}`);
    for (const s of ['nova-api', 'neutron-server', 'cinder-api']) {
      assert.ok(wave('keystone-api') < wave(s));
      assert.ok(wave(s) < wave('horizon'), `${s} before horizon`);
    }
    assert.ok(wave('glance-api') < wave('nova-api') && wave('placement-api') < wave('nova-api'));
    assert.ok(wave('nova-compute') < wave('nova-cell-setup'), 'host discovery after the computes');
    // Schema syncs do not wait for Keystone: they only need their database.
    assert.equal(wave('nova-db-sync'), wave('nova-db-init') + 1);
  }
});

test('every edge says why it exists, and every component waits only for components in the cloud', () => {
  const m = buildModel(cloud());
  assert.ok(m.edges.length > 50);
  for (const e of m.edges) {
    assert.ok(m.components.has(e.from) && m.components.has(e.to), `${e.from} → ${e.to}`);
    assert.ok(e.why.length > 10, `${e.from} → ${e.to} has a reason`);
  }
  const novaApi = m.edges.filter((e) => e.from === 'nova-api' && e.kind === 'needs').map((e) => e.to);
  for (const t of ['mariadb', 'rabbitmq', 'memcached', 'keystone-api', 'nova-db-sync', 'nova-ks-user', 'placement-api'])
    assert.ok(novaApi.includes(t), `nova-api needs ${t}`);
});

test('a config edge names the file, section and option that creates it', () => {
  const m = buildModel(cloud());
  const e = m.edges.find((x) => x.from === 'nova-conductor' && x.to === 'rabbitmq');
  assert.match(e!.why, /^nova\.conf \[DEFAULT\] transport_url: host rabbitmq-0\./);
});

test('disabling a service another one needs is a clear error', () => {
  assert.throws(
    () => buildModel(cloud('  services:\n    keystone: {enabled: false}\n')),
    (e: unknown) =>
      e instanceof OskError &&
      e.exitCode === 2 &&
      /glance-api needs keystone-api/.test(e.message) &&
      /spec\.services\.keystone\.enabled is false/.test(e.message),
  );
});

test('disabling a leaf service removes it and everything only it used', () => {
  const m = buildModel(cloud('  services:\n    horizon: {enabled: false}\n    cinder: {enabled: false}\n'));
  assert.ok(!m.components.has('horizon'));
  assert.ok(![...m.components.keys()].some((k) => k.startsWith('cinder')));
  assert.ok(!m.secrets.has('rabbitmq-cinder-password'));
});

test('ha gets 3 replicas of APIs and quorum members, overridable per component', () => {
  const m = buildModel(
    parseCloudFile(
      `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: p}\nspec:\n  profile: ha\n  services:\n    nova: {scheduler: {replicas: 5}}\n`,
    ),
  );
  const r = (id: string) => m.components.get(id)!.settings.replicas;
  assert.equal(r('keystone-api'), 3);
  assert.equal(r('mariadb'), 3);
  assert.equal(r('rabbitmq'), 3);
  assert.equal(r('nova-scheduler'), 5);
  assert.equal(r('ovn-nb'), 3);
});

test('GPU nodes get their own compute agents and plain compute avoids them', () => {
  const m = buildModel(cloud('  nodes:\n    gpu:\n      selector: {gpu: "true"}\n'));
  const gpu = m.components.get('nova-compute-gpu')!;
  assert.deepEqual(gpu.settings.nodeSelector, { gpu: 'true' });
  assert.deepEqual(m.components.get('nova-compute')!.avoidNodeLabels, { gpu: 'true' });
  assert.ok(m.edges.some((e) => e.from === 'nova-compute-gpu' && e.to === 'libvirt-gpu'));
});
