import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { OskError } from '../errors.js';
import { SecretStore } from './secret-store.js';
import { fernetKey, randomToken } from '../config/secrets.js';
import { scratchDir } from '../../test/support/scratch.js';

const defs = [
  { name: 'a-password', kind: 'password' as const, k8sSecret: 'a', key: 'password', description: '' },
  { name: 'k-0', kind: 'fernet-key' as const, k8sSecret: 'k', key: '0', description: '' },
];

test('credentials are created once, stored 0600 in a 0700 directory, and never rotated', async () => {
  const dir = await scratchDir('osk-secrets-');
  const path = join(dir, 'cloud', 'secrets.yaml');
  const s1 = await SecretStore.open(path, 'demo');
  assert.deepEqual(s1.ensure(defs), ['a-password', 'k-0']);
  await s1.save();
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'cloud'))).mode & 0o777, 0o700);
  const before = await readFile(path, 'utf8');
  const s2 = await SecretStore.open(path, 'demo');
  assert.deepEqual(s2.ensure(defs), []);
  await s2.save();
  assert.equal(await readFile(path, 'utf8'), before);
  assert.equal(s2.get('a-password'), s1.get('a-password'));
  // A new credential is added without touching the others.
  const s3 = await SecretStore.open(path, 'demo');
  assert.deepEqual(s3.ensure([...defs, { ...defs[0]!, name: 'b-password' }]), ['b-password']);
  assert.equal(s3.get('k-0'), s1.get('k-0'));
});

test('a store of another cloud or a damaged store is refused, not overwritten', async () => {
  const dir = await scratchDir('osk-secrets-');
  const path = join(dir, 'secrets.yaml');
  const s = await SecretStore.open(path, 'demo');
  s.ensure(defs);
  await s.save();
  await assert.rejects(
    SecretStore.open(path, 'other'),
    (e: unknown) => e instanceof OskError && /belongs to cloud "demo"/.test(e.message),
  );
  await writeFile(path, 'secrets: [unclosed\n');
  await assert.rejects(
    SecretStore.open(path, 'demo'),
    (e: unknown) => e instanceof OskError && /not valid YAML/.test(e.message),
  );
});

test('generated values are random, of the right shape, and safe in URLs and INI files', () => {
  const a = randomToken(32);
  assert.match(a, /^[A-Za-z0-9]{32}$/);
  assert.notEqual(a, randomToken(32));
  const k = fernetKey();
  assert.equal(Buffer.from(k, 'base64url').length, 32);
  assert.equal(k.length, 44);
});
