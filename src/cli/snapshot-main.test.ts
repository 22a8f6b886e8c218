import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCloudFile } from '../state/cloud-file.js';
import { SecretStore } from '../state/secret-store.js';
import { render } from '../targets/kubernetes/render.js';
import { placeholderStore } from './snapshot-main.js';

// These run the built CLI (npm run build), which starts validate, plan and render from
// dist/snapshot/osk.blob when this node built it.
const ROOT = process.cwd();
const BIN = join(ROOT, 'bin', 'osk.js');

function osk(args: string[], env: Record<string, string>, bin = BIN, input?: string) {
  const r = spawnSync(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** NODE_OPTIONS makes bin/osk.js load dist/'s modules instead of starting from the snapshot. */
const MODULES = { NODE_OPTIONS: '--no-deprecation' };

test('the build made the snapshot, for this node (the other tests would otherwise prove nothing)', () => {
  const meta = JSON.parse(readFileSync(join(ROOT, 'dist', 'snapshot', 'snapshot.json'), 'utf8')) as { node: string };
  assert.equal(meta.node, process.version);
  assert.ok(existsSync(join(ROOT, 'dist', 'snapshot', 'osk.blob')));
});

test("the warm-up's placeholder store holds every credential of the examples: the snapshot draws no random value", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'osk-snapshot-test-'));
  try {
    for (const example of ['examples/ha.yaml', 'examples/minimal.yaml']) {
      const path = join(dir, 'secrets.yaml');
      const file = await loadCloudFile(example);
      await placeholderStore(example, path);
      assert.deepEqual(render(file, await SecretStore.open(path, file.metadata.name)).created, [], example);
      rmSync(path);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('from the snapshot, validate, plan and render print what the modules print, good file or bad', () => {
  const state = mkdtempSync(join(tmpdir(), 'osk-snapshot-test-'));
  try {
    const env = { OSK_STATE_DIR: state };
    const bad = 'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: x}\nspec: {profile: big}\n';
    writeFileSync(join(state, 'bad.yaml'), bad);
    // The first render generates the store; the rest read it.
    assert.equal(osk(['render', '-f', 'examples/minimal.yaml'], env).code, 0);
    for (const args of [
      ['render', '-f', 'examples/minimal.yaml', '--show-secrets'],
      ['render', '-f', 'examples/minimal.yaml', '-o', 'json'],
      ['validate', '-f', 'examples/ha.yaml', '-o', 'yaml'],
      ['plan', '-f', 'examples/minimal.yaml'],
      ['validate', '-f', join(state, 'bad.yaml'), '-o', 'json'],
      ['render', '-f', join(state, 'bad.yaml')],
      ['render', '-f', join(state, 'missing.yaml')],
      ['render', '--bogus'],
    ]) {
      const fromSnapshot = osk(args, env);
      assert.deepEqual(fromSnapshot, osk(args, { ...env, ...MODULES }), `osk ${args.join(' ')}`);
      assert.doesNotMatch(fromSnapshot.err, /^\s+at /m, 'no stack trace');
    }
    const stdin = osk(['validate', '-f', '-'], env, BIN, bad);
    assert.equal(stdin.code, 2);
    assert.match(stdin.err, /<stdin>:4:\d+: spec\.profile/);
  } finally {
    rmSync(state, { recursive: true, force: true });
  }
});

test('from the snapshot, each new store gets credentials of its own (UUIDs included)', () => {
  const stores = [1, 2].map(() => {
    const state = mkdtempSync(join(tmpdir(), 'osk-snapshot-test-'));
    try {
      assert.equal(osk(['render', '-f', 'examples/ha.yaml'], { OSK_STATE_DIR: state }).code, 0);
      return readFileSync(join(state, 'prod', 'secrets.yaml'), 'utf8');
    } finally {
      rmSync(state, { recursive: true, force: true });
    }
  });
  const uuids = stores.map((s) => s.match(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}/)?.[0]);
  assert.ok(uuids[0] && uuids[1], 'the ha example has a UUID credential');
  assert.notEqual(uuids[0], uuids[1]);
  assert.notEqual(stores[0], stores[1]);
});

test('a snapshot of another node is not used: osk loads its modules', () => {
  const copy = mkdtempSync(join(tmpdir(), 'osk-snapshot-test-'));
  try {
    cpSync(join(ROOT, 'bin'), join(copy, 'bin'), { recursive: true });
    cpSync(join(ROOT, 'dist'), join(copy, 'dist'), { recursive: true });
    cpSync(join(ROOT, 'package.json'), join(copy, 'package.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
    const meta = join(copy, 'dist', 'snapshot', 'snapshot.json');
    writeFileSync(meta, readFileSync(meta, 'utf8').replace(process.version, 'v22.0.0'));
    // Started from a blob of another version, node would refuse and exit 14.
    const r = osk(['validate', '-f', join(ROOT, 'examples', 'minimal.yaml')], {}, join(copy, 'bin', 'osk.js'));
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /valid \(cloud demo/);
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});
