import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { SecretStore } from '../../state/secret-store.js';
import { statePaths, type StatePaths } from '../../state/paths.js';
import { startTimeOf } from './process-tree.js';
import {
  readKeyRotationConfig,
  rotateLocalKeys,
  startRotationTimer,
  withKeyLock,
  writeKeyRepository,
  writeKeyRotationConfig,
} from './key-rotation.js';

const names = [0, 1, 2].map((i) => `keystone-fernet-key-${i}`);

describe('key rotation on one host', () => {
  let root = '';
  let paths: StatePaths;
  let keyDir = '';
  const storeKeys = async () => {
    const s = await SecretStore.open(paths.secrets, 'c');
    return names.map((n) => s.get(n));
  };
  const fileKeys = () =>
    readdirSync(keyDir)
      .sort()
      .map((f) => readFileSync(join(keyDir, f), 'utf8'));

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'osk-keyrot-local-'));
    paths = statePaths('c', join(root, 'c'));
    keyDir = join(paths.etc, 'keystone', 'fernet-keys');
    await mkdir(paths.pids, { recursive: true });
    const store = await SecretStore.open(paths.secrets, 'c');
    store.ensure([
      ...names.map((name, i) => ({
        name,
        kind: 'fernet-key' as const,
        k8sSecret: 'keystone-fernet-keys',
        key: String(i),
        description: '',
        rotates: 'fernet' as const,
      })),
      { name: 'other', kind: 'password' as const, k8sSecret: 'x', key: 'p', description: '' },
    ]);
    await store.save();
    await writeKeyRepository(
      keyDir,
      names.map((n) => store.get(n)),
    );
    await writeKeyRotationConfig(paths, {
      cloud: 'c',
      maxActiveKeys: 3,
      repositories: [{ set: 'keystone-fernet-keys', dir: keyDir, names }],
    });
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  test('a rotation writes the store, then the repository from it; other credentials untouched; all 0600', async () => {
    const before = await storeKeys();
    const other = (await SecretStore.open(paths.secrets, 'c')).get('other');
    const r = await rotateLocalKeys(paths, 'test');
    assert.deepEqual(r.rotated, [{ set: 'keystone-fernet-keys', dir: keyDir, keys: 3 }]);
    const now = await storeKeys();
    assert.deepEqual(now.slice(1), [before[2], before[0]]);
    assert.equal(before.includes(now[0]!), false);
    assert.deepEqual(fileKeys(), now);
    assert.equal((await SecretStore.open(paths.secrets, 'c')).get('other'), other);
    assert.equal(statSync(paths.secrets).mode & 0o777, 0o600);
    for (const f of readdirSync(keyDir)) assert.equal(statSync(join(keyDir, f)).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(keyDir).sort(), ['0', '1', '2'], 'no temp files left');
  });

  test('writing a repository removes slots beyond the set', async () => {
    const dir = join(root, 'shrink');
    await writeKeyRepository(dir, ['a', 'b', 'c', 'd']);
    await writeKeyRepository(dir, ['x', 'y', 'z']);
    assert.deepEqual(readdirSync(dir).sort(), ['0', '1', '2']);
    assert.equal(readFileSync(join(dir, '2'), 'utf8'), 'z');
  });

  test('a rotation waits for the key lock of a live holder and fails naming it; a dead holder is taken over', async () => {
    const sleeper = spawn('sleep', ['30']);
    try {
      writeFileSync(
        join(paths.pids, 'keys.lock'),
        JSON.stringify({ pid: sleeper.pid, startTime: startTimeOf(sleeper.pid!) ?? 0, what: 'osk up' }),
      );
      const before = await storeKeys();
      await assert.rejects(() => rotateLocalKeys(paths, 'test', 0), /in use by osk up \(pid \d+\)/);
      assert.deepEqual(await storeKeys(), before, 'nothing rotated');
    } finally {
      sleeper.kill();
    }
    await new Promise((r) => sleeper.once('exit', r));
    await rotateLocalKeys(paths, 'test', 0);
    assert.equal(existsSync(join(paths.pids, 'keys.lock')), false, 'released');
    // The lock is exclusive inside one process too.
    await withKeyLock(paths, 'outer', 0, async () => {
      await assert.rejects(() => withKeyLock(paths, 'inner', 0, async () => undefined), /in use by outer/);
    });
  });

  test('the schedule: due when the interval has passed since the last rotation, not before', async () => {
    const config = (await readKeyRotationConfig(paths))!;
    const lines: string[] = [];
    const waitFor = async (what: () => boolean) => {
      for (let i = 0; i < 200 && !what(); i++) await new Promise((r) => setTimeout(r, 50));
    };
    // Just rotated, interval one day: a tick does nothing.
    await writeKeyRotationConfig(paths, { ...config, everySeconds: 86400 });
    const keys = await storeKeys();
    let stop = startRotationTimer(paths, (l) => lines.push(l), 60_000);
    await new Promise((r) => setTimeout(r, 300));
    stop();
    assert.deepEqual(await storeKeys(), keys);
    assert.equal(lines.length, 0, lines.join('\n'));
    // The last rotation a day ago: the first tick rotates.
    writeFileSync(join(paths.pids, 'keys-rotated-at'), `${new Date(Date.now() - 86_401_000).toISOString()}\n`);
    stop = startRotationTimer(paths, (l) => lines.push(l), 60_000);
    await waitFor(() => lines.length > 0);
    stop();
    assert.match(lines[0] ?? '', /rotated keystone keys: keystone-fernet-keys \(3 keys\)/);
    assert.deepEqual((await storeKeys()).slice(1), [keys[2], keys[0]]);
  });

  test('a rotation that starts its clock: without a record it records now and waits an interval; a failure waits retryAfterMs', async () => {
    const config = (await readKeyRotationConfig(paths))!;
    await writeKeyRotationConfig(paths, { ...config, everySeconds: undefined });
    const stamp = join(paths.pids, 'test-rotated-at');
    let calls = 0;
    let fail = false;
    const lines: string[] = [];
    const rotation = {
      stamp,
      everySeconds: () => 3600,
      rotate: async () => {
        calls++;
        if (fail) throw new Error('database is down');
        return 'rotated';
      },
      retryAfterMs: 60_000,
      startsClock: true,
    };
    const tick = async () => {
      const stop = startRotationTimer(paths, (l) => lines.push(l), 60_000, [rotation]);
      await new Promise((r) => setTimeout(r, 300));
      stop();
    };
    await tick();
    assert.equal(calls, 0, 'no record: the clock starts now');
    assert.ok(Math.abs(Date.parse(readFileSync(stamp, 'utf8').trim()) - Date.now()) < 5000);
    writeFileSync(stamp, `${new Date(Date.now() - 3_601_000).toISOString()}\n`);
    fail = true;
    // One timer, ticking every 100 ms: the failure is logged once, then waits retryAfterMs.
    const stop = startRotationTimer(paths, (l) => lines.push(l), 100, [rotation]);
    await new Promise((r) => setTimeout(r, 600));
    stop();
    assert.equal(calls, 1);
    assert.match(lines.join('\n'), /key rotation not done: database is down/);
    fail = false;
    await tick();
    assert.equal(calls, 2, 'a new timer (a restarted supervisor) tries again');
    assert.deepEqual(lines.at(-1), 'rotated');
    await writeKeyRotationConfig(paths, config);
  });
});
