/**
 * Credential key rotation on one host against the real keystone-manage (Debian's
 * python3-keystone) and a real Keystone database (SQLite): stored credentials are created by
 * Keystone, rotated and migrated by keystone-manage, and read back by Keystone's provider.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KeystoneDb, keyHash, keystoneSkipReason } from '../../../test/support/keystone-credentials.js';
import { fernetKey } from '../../config/secrets.js';
import { statePaths, type StatePaths } from '../../state/paths.js';
import { SecretStore } from '../../state/secret-store.js';
import { rotateLocalCredentialKeys } from './credential-rotation.js';
import { readKeyRotationConfig, writeKeyRepository, writeKeyRotationConfig } from './key-rotation.js';

const names = [0, 1, 2].map((i) => `keystone-credential-key-${i}`);

describe('credential key rotation on one host, with the real keystone-manage', { skip: keystoneSkipReason() }, () => {
  let root = '';
  let paths: StatePaths;
  let keyDir = '';
  let db: KeystoneDb;
  const storeKeys = async () => {
    const s = await SecretStore.open(paths.secrets, 'c');
    return names.map((n) => s.get(n));
  };
  const fileKeys = () =>
    readdirSync(keyDir)
      .sort()
      .map((f) => readFileSync(join(keyDir, f), 'utf8'));

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'osk-credrot-local-'));
    paths = statePaths('c', join(root, 'c'));
    keyDir = join(paths.etc, 'keystone', 'credential-keys');
    await mkdir(paths.pids, { recursive: true });
    db = new KeystoneDb();
    const store = await SecretStore.open(paths.secrets, 'c');
    store.ensure(
      names.map((name, i) => ({
        name,
        kind: 'fernet-key' as const,
        k8sSecret: 'keystone-credential-keys',
        key: String(i),
        description: '',
        rotates: 'credential' as const,
      })),
    );
    await store.save();
    await writeKeyRepository(keyDir, await storeKeys());
    await writeKeyRotationConfig(paths, {
      cloud: 'c',
      maxActiveKeys: 3,
      repositories: [],
      credentials: {
        set: 'keystone-credential-keys',
        dir: keyDir,
        names,
        keystoneManage: ['keystone-manage', '--config-file', db.conf],
      },
    });
  });

  after(() => {
    rmSync(root, { recursive: true, force: true });
    if (db) rmSync(db.dir, { recursive: true, force: true });
  });

  test('a rotation saves the rotated set, writes the files from it, and re-encrypts every credential with the new primary', async () => {
    const keys = await storeKeys();
    db.create(keys, 'ec2-secret-1', 'ec2-secret-2');
    assert.deepEqual(
      db.list(keys).map((c) => c.keyHash),
      [keyHash(keys[2]!), keyHash(keys[2]!)],
      'Keystone encrypts with the primary, the highest key',
    );
    const r = await rotateLocalCredentialKeys(paths, 'test');
    assert.deepEqual(
      { set: r.set, dir: r.dir, keys: r.keys },
      { set: 'keystone-credential-keys', dir: keyDir, keys: 3 },
    );
    const now = await storeKeys();
    assert.deepEqual(now.slice(1), [keys[2], keys[0]], 'the old primary is kept, the staged key is primary');
    assert.equal(keys.includes(now[0]!), false);
    assert.deepEqual(fileKeys(), now);
    for (const f of readdirSync(keyDir)) assert.equal(statSync(join(keyDir, f)).mode & 0o777, 0o600);
    const stored = db.list(now);
    assert.deepEqual(
      stored.map((c) => c.blob).sort(),
      ['ec2-secret-1', 'ec2-secret-2'],
      'every credential decrypts with the saved keys',
    );
    assert.deepEqual(
      stored.map((c) => c.keyHash),
      [keyHash(now[2]!), keyHash(now[2]!)],
      'and is encrypted with the new primary',
    );
    assert.deepEqual(
      readdirSync(paths.run).filter((f) => f.startsWith('osk-credential-rotation-')),
      [],
      'no scratch copy is left',
    );
  });

  test('a run that stopped after saving (files and migration not done) is finished by the next one, and nothing is lost on the way', async () => {
    const saved = await storeKeys();
    db.create(saved, 'ec2-secret-3');
    // The stop: a rotation saved in the store, the files still the old set, nothing migrated.
    const store = await SecretStore.open(paths.secrets, 'c');
    const half = [fernetKey(), saved[2]!, saved[0]!];
    for (const [i, k] of half.entries()) store.replace(names[i]!, k);
    await store.save();
    assert.deepEqual(
      db
        .list(half)
        .map((c) => c.blob)
        .sort(),
      ['ec2-secret-1', 'ec2-secret-2', 'ec2-secret-3'],
      'the saved set decrypts every credential',
    );
    await rotateLocalCredentialKeys(paths, 'test');
    const now = await storeKeys();
    assert.deepEqual(now.slice(1), [half[2], half[0]]);
    assert.deepEqual(fileKeys(), now);
    const stored = db.list(now);
    assert.deepEqual(stored.map((c) => c.blob).sort(), ['ec2-secret-1', 'ec2-secret-2', 'ec2-secret-3']);
    assert.ok(stored.every((c) => c.keyHash === keyHash(now[2]!)));
  });

  test('when keystone-manage cannot rotate, nothing is saved and the error says so', async () => {
    const saved = await storeKeys();
    // keystone-manage skips a repository it cannot write, with exit 0: osk's check refuses.
    const fake = join(root, 'keystone-manage-noop');
    writeFileSync(fake, '#!/bin/sh\nexit 0\n');
    chmodSync(fake, 0o755);
    const config = (await readKeyRotationConfig(paths))!;
    await writeKeyRotationConfig(paths, { ...config, credentials: { ...config.credentials!, keystoneManage: [fake] } });
    await assert.rejects(
      () => rotateLocalCredentialKeys(paths, 'test'),
      /no new staged key.*the saved keys are unchanged/,
    );
    assert.deepEqual(await storeKeys(), saved);
    // A failing keystone-manage (database down): its output and the state in the error.
    writeFileSync(fake, '#!/bin/sh\necho "database is down" >&2\nexit 1\n');
    await assert.rejects(
      () => rotateLocalCredentialKeys(paths, 'test'),
      /keystone-manage credential_migrate failed \(exit 1\); the saved keys are unchanged:\ndatabase is down/,
    );
    assert.deepEqual(await storeKeys(), saved);
    assert.deepEqual(fileKeys(), saved);
    await writeKeyRotationConfig(paths, config);
  });
});
