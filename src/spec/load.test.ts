import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SpecError } from '../errors.js';
import { parseCloudFile } from './load.js';

function problemsOf(text: string) {
  try {
    parseCloudFile(text, 'cloud.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected SpecError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected the file to be rejected');
}

const head = 'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: demo\n';

test('the examples are valid cloud files', () => {
  for (const f of ['examples/minimal.yaml', 'examples/ha.yaml']) {
    const cloud = parseCloudFile(readFileSync(f, 'utf8'), f);
    assert.equal(cloud.kind, 'Cloud');
  }
});

test('a cloud file with only metadata gets the schema defaults', () => {
  const c = parseCloudFile(head);
  assert.equal(c.spec.profile, 'minimal');
  assert.equal(c.spec.region, 'RegionOne');
  assert.equal(c.spec.release, '2025.1');
});

test('every problem of a file is reported at once, each with line, column and field path', () => {
  const text = `${head}spec:\n  profile: hA\n  replcias: 3\n  infra:\n    mariadb:\n      replicas: 2\n  services:\n    nova:\n      api:\n        replicas: "three"\n  network:\n    mtu: 100\n`;
  const p = problemsOf(text);
  const byPath = Object.fromEntries(p.map((x) => [x.path, x]));
  assert.equal(p.length, 5, p.map((x) => x.message).join('\n'));
  assert.deepEqual([byPath['spec.profile']!.line, byPath['spec.profile']!.col], [6, 12]);
  assert.match(byPath['spec.profile']!.message, /did you mean "ha"/);
  assert.equal(byPath['spec.replcias']!.line, 7);
  assert.match(byPath['spec.replcias']!.message, /unknown field "replcias"/);
  assert.match(byPath['spec.infra.mariadb.replicas']!.message, /odd number/);
  assert.match(byPath['spec.services.nova.api.replicas']!.message, /expected a number, found "three"/);
  assert.equal(byPath['spec.services.nova.api.replicas']!.line, 14);
  assert.match(byPath['spec.network.mtu']!.message, /≥ 1280, found 100/);
  for (const x of p) assert.equal(x.file, 'cloud.yaml');
});

test('an unknown key gets a did-you-mean from the keys allowed at its place', () => {
  const p = problemsOf(`${head}spec:\n  infra:\n    mariadb:\n      innodbBufferPolSize: 1G\n`);
  assert.equal(p.length, 1);
  assert.match(p[0]!.message, /did you mean "innodbBufferPoolSize"/);
  assert.deepEqual([p[0]!.line, p[0]!.col], [8, 7]);
});

test('duplicate keys, YAML syntax errors, empty files and wrong kinds are caught', () => {
  assert.match(problemsOf(`${head}spec:\n  region: A\n  region: B\n`)[0]!.message, /duplicate key/);
  assert.match(problemsOf('apiVersion: [1,\n')[0]!.message, /YAML syntax error/);
  assert.match(problemsOf('')[0]!.message, /empty/);
  assert.match(problemsOf('# only a comment\n')[0]!.message, /empty/);
  const kinds = problemsOf('apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n');
  assert.deepEqual(kinds.map((k) => k.path), ['apiVersion', 'kind']);
  assert.match(problemsOf('- a\n- b\n')[0]!.message, /expected a mapping/);
  assert.match(problemsOf(`${head}---\n${head}`)[0]!.message, /second YAML document/);
});

test('values of the wrong type name what was expected and what was found', () => {
  const p = problemsOf(`${head}spec:\n  monitoring:\n    enabled: "yes"\n  infra:\n    rabbitmq:\n      memoryHighWatermark: 2\n  storage:\n    backend: nfs\n`);
  const msgs = p.map((x) => `${x.path}: ${x.message}`).join('\n');
  assert.match(msgs, /spec.monitoring.enabled: expected true or false, found "yes"/);
  assert.match(msgs, /memoryHighWatermark: expected a number ≤ 0.9, found 2/);
  assert.match(msgs, /storage.backend: expected one of "ceph", "lvm", "local", found "nfs"/);
});

test('cross-field rules name the field to fix', () => {
  const p = problemsOf(`${head}spec:\n  storage:\n    backend: ceph\n  services:\n    horizon:\n      expose: ingress\n  endpoints:\n    tls:\n      enabled: true\n`);
  const paths = p.map((x) => x.path).sort();
  assert.deepEqual(paths, ['spec.endpoints.tls', 'spec.endpoints.tls', 'spec.services.horizon.expose', 'spec.storage.ceph']);
});

test('a missing required field says so', () => {
  const p = problemsOf('apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {}\n');
  assert.equal(p[0]!.path, 'metadata.name');
  assert.match(p[0]!.message, /required field is missing/);
});
