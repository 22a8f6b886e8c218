import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { main, type Io } from './main.js';

async function run(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdin: async () => stdin };
  const code = await main(args, io);
  return { code, out, err };
}

async function stateDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'osk-cli-'));
  process.env.OSK_STATE_DIR = d;
  return d;
}

test('validate: exit 0 for the examples, 2 with every problem and no stack trace for a bad file', async () => {
  assert.equal((await run(['validate', '-f', 'examples/ha.yaml'])).code, 0);
  const bad = await run(['validate', '-f', '-'], 'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: x}\nspec: {profile: big, regoin: R}\n');
  assert.equal(bad.code, 2);
  assert.match(bad.err, /<stdin>:4:17: spec.profile: expected one of "minimal", "ha", found "big"/);
  assert.match(bad.err, /unknown field "regoin"; did you mean "region"\?/);
  assert.doesNotMatch(bad.err, /at .*\.ts:\d+/);
});

test('a missing file or flag is bad input (exit 2)', async () => {
  const missing = await run(['plan', '-f', 'nope.yaml']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /cannot read cloud file nope.yaml: no such file/);
  assert.equal((await run(['plan'])).code, 2);
  assert.equal((await run(['frobnicate'])).code, 2);
  assert.equal((await run(['plan', '-f', 'examples/minimal.yaml', '-o', 'xml'])).code, 2);
});

test('plan: waves with reasons as text, and the same as JSON', async () => {
  const text = await run(['plan', '-f', 'examples/minimal.yaml']);
  assert.equal(text.code, 0);
  assert.match(text.out, /Wave 1:\n/);
  assert.match(text.out, /keystone-api \(Deployment ×1\)\n(.*\n)*? {4}waits for mariadb: keystone.conf \[database\] connection/);
  const json = JSON.parse((await run(['plan', '-f', 'examples/minimal.yaml', '-o', 'json'])).out);
  assert.equal(json.cloud, 'demo');
  const ids = json.waves.flatMap((w: any) => w.components.map((c: any) => c.id));
  assert.ok(ids.includes('nova-compute') && ids.includes('horizon'));
});

test('render: multi-document YAML without Secrets unless asked, credentials stable across runs', async () => {
  await stateDir();
  const a = await run(['render', '-f', 'examples/minimal.yaml']);
  assert.equal(a.code, 0, a.err);
  const docs = parseAllDocuments(a.out).map((d) => d.toJS());
  assert.ok(docs.length > 100);
  assert.ok(!docs.some((d) => d.kind === 'Secret'));
  assert.match(a.err, /left out \d+ Secrets/);
  assert.equal(docs[0].kind, 'Namespace');
  const b = await run(['render', '-f', 'examples/minimal.yaml']);
  assert.equal(a.out, b.out, 're-render is byte-identical');
  const withSecrets = await run(['render', '-f', 'examples/minimal.yaml', '--show-secrets']);
  const secrets = parseAllDocuments(withSecrets.out).map((d) => d.toJS()).filter((d) => d.kind === 'Secret');
  assert.ok(secrets.some((s) => s.metadata.name === 'mariadb-root' && s.stringData.password.length === 32));
  const again = parseAllDocuments((await run(['render', '-f', 'examples/minimal.yaml', '--show-secrets'])).out).map((d) => d.toJS()).filter((d) => d.kind === 'Secret');
  assert.deepEqual(again, secrets, 'credentials are not rotated by re-rendering');
});

test('render -o DIR: one file per component in apply order', async () => {
  await stateDir();
  const dir = await mkdtemp(join(tmpdir(), 'osk-render-'));
  const r = await run(['render', '-f', 'examples/ha.yaml', '-o', dir]);
  assert.equal(r.code, 0, r.err);
  const files = (await readdir(dir)).sort();
  assert.equal(files[0], '000-namespace.yaml');
  assert.ok(!files.some((f) => f.includes('secrets')), 'no Secret file without --show-secrets');
  const order = files.map((f) => f.replace(/^\d+-|\.yaml$/g, ''));
  assert.ok(order.indexOf('mariadb') < order.indexOf('keystone-api'));
  assert.ok(order.indexOf('keystone-api') < order.indexOf('nova-api'));
  assert.ok(order.indexOf('nova-api') < order.indexOf('horizon'));
  const keystone = parseAllDocuments(await readFile(join(dir, files.find((f) => f.endsWith('-keystone-api.yaml'))!), 'utf8')).map((d) => d.toJS());
  assert.deepEqual(keystone.map((d) => d.kind).sort(), ['Deployment', 'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'Service']);
});

test('schema: a JSON Schema editors can use', async () => {
  const r = await run(['schema']);
  const s = JSON.parse(r.out);
  assert.equal(s.$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.ok(s.properties.spec.properties.infra.properties.mariadb.properties.innodbBufferPoolSize);
  assert.equal(s.properties.spec.additionalProperties, false);
});
