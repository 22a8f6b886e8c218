/**
 * The credential rotation CronJob's script, run by python3 with the real keystone-manage
 * (Debian's python3-keystone) on a real Keystone database (SQLite), against a stand-in of the
 * API server's Secret endpoint (HTTPS with its own CA, bearer token, resourceVersion checks).
 * The stored credentials are made and read back by Keystone itself.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { KeystoneDb, keyHash, keystoneSkipReason } from '../../../test/support/keystone-credentials.js';
import { rotateCredentialKeys } from '../../config/credential-rotation.js';
import { fernetKey } from '../../config/secrets.js';
import { CREDENTIAL_ROTATE_SCRIPT } from './credential-rotation-script.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
const PATH = '/api/v1/namespaces/cloud/secrets/keystone-credential-keys';

type SecretObj = {
  metadata: { resourceVersion: string; annotations?: Record<string, string> };
  data: Record<string, string>;
};

describe('the credential rotation script with the real keystone-manage', { skip: keystoneSkipReason() }, () => {
  let dir = '';
  let server: Server;
  let port = 0;
  let db: KeystoneDb;
  let secret: SecretObj;
  const methods: string[] = [];
  const saved = () =>
    Object.keys(secret.data)
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => unb64(secret.data[k]!));

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osk-credrot-script-'));
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'ca.crt'),
      ]),
      { stdio: 'ignore' },
    );
    writeFileSync(join(dir, 'token'), 'sa-token');
    server = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.crt')) },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c as Buffer));
        req.on('end', () => {
          methods.push(req.method!);
          if (req.url !== PATH || req.headers.authorization !== 'Bearer sa-token') {
            res.writeHead(403);
            return res.end('{"reason":"Forbidden"}');
          }
          if (req.method === 'PUT') {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SecretObj;
            if (body.metadata.resourceVersion !== secret.metadata.resourceVersion) {
              res.writeHead(409);
              return res.end('{"reason":"Conflict"}');
            }
            const rv = String(Number(secret.metadata.resourceVersion) + 1);
            secret = { ...body, metadata: { ...body.metadata, resourceVersion: rv } };
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(secret));
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    db = new KeystoneDb();
  });

  after(() => {
    server?.close();
    rmSync(dir, { recursive: true, force: true });
    if (db) rmSync(db.dir, { recursive: true, force: true });
  });

  const run = (
    manage = ['keystone-manage', '--config-file', db.conf],
    minAge = 3600,
  ): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => {
      const p = spawn('python3', ['-c', CREDENTIAL_ROTATE_SCRIPT, ...manage], {
        env: {
          PATH: process.env.PATH,
          SECRET_NAME: 'keystone-credential-keys',
          NAMESPACE: 'cloud',
          MIN_AGE_SECONDS: String(minAge),
          SA_DIR: dir,
          TMPDIR: dir,
          KUBERNETES_SERVICE_HOST: '127.0.0.1',
          KUBERNETES_SERVICE_PORT: String(port),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('close', (code) => resolve({ code: code ?? 1, out }));
    });

  test('rotates the Secret as Keystone does and re-encrypts every stored credential with the new primary', async () => {
    const keys = [fernetKey(), fernetKey(), fernetKey()];
    secret = { metadata: { resourceVersion: '5' }, data: Object.fromEntries(keys.map((k, i) => [String(i), b64(k)])) };
    db.create(keys, 'ec2-1', 'ec2-2');
    methods.length = 0;
    const r = await run();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(methods, ['GET', 'PUT']);
    const now = saved();
    assert.deepEqual(now, rotateCredentialKeys(keys, now[0]!));
    assert.equal(keys.includes(now[0]!), false);
    assert.match(secret.metadata.annotations?.['osk.dev/keys-rotated-at'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const stored = db.list(now);
    assert.deepEqual(stored.map((c) => c.blob).sort(), ['ec2-1', 'ec2-2']);
    assert.ok(
      stored.every((c) => c.keyHash === keyHash(now[2]!)),
      'all on the new primary',
    );
  });

  test('a crash between the Secret update and the migration: the Secret still decrypts everything, and the next run finishes the migration without rotating again', async () => {
    const keys = saved();
    db.create(keys, 'ec2-3');
    // keystone-manage that dies at the second migration (after the PUT), as a killed pod would.
    const crashing = join(dir, 'crashing-manage');
    writeFileSync(
      crashing,
      `#!/bin/sh\ncount=$(cat "${dir}/calls" 2>/dev/null || echo 0); echo $((count + 1)) > "${dir}/calls"\nfor a in "$@"; do [ "$a" = credential_migrate ] && [ "$count" -ge 2 ] && exit 137; done\nexec keystone-manage "$@"\n`,
    );
    chmodSync(crashing, 0o755);
    const r = await run([crashing, '--config-file', db.conf], 0);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /the rotated keys are saved and decrypt every credential/);
    const half = saved();
    assert.deepEqual(half, rotateCredentialKeys(keys, half[0]!), 'the rotation was saved');
    const stored = db.list(half);
    assert.deepEqual(stored.map((c) => c.blob).sort(), ['ec2-1', 'ec2-2', 'ec2-3'], 'nothing lost');
    assert.ok(
      stored.some((c) => c.keyHash !== keyHash(half[2]!)),
      'not migrated yet',
    );
    // The retry: migrates, and does not rotate a second time within MIN_AGE_SECONDS.
    methods.length = 0;
    const retry = await run();
    assert.equal(retry.code, 0, retry.out);
    assert.match(retry.out, /not rotated: the last rotation .* is younger than 3600 s/);
    assert.deepEqual(methods, ['GET']);
    assert.deepEqual(saved(), half);
    assert.ok(db.list(half).every((c) => c.keyHash === keyHash(half[2]!) && c.blob !== null));
  });

  test('refuses what keystone-manage did not rotate, and a Secret that is not a key repository; saves nothing', async () => {
    const keys = saved();
    const noop = join(dir, 'noop-manage');
    writeFileSync(noop, '#!/bin/sh\nexit 0\n');
    chmodSync(noop, 0o755);
    methods.length = 0;
    const r = await run([noop], 0);
    assert.notEqual(r.code, 0);
    assert.match(r.out, /did not rotate the repository as Keystone does .* the saved keys are unchanged/);
    assert.deepEqual(methods, ['GET']);
    assert.deepEqual(saved(), keys);
    const good = secret;
    secret = { metadata: { resourceVersion: '1' }, data: { '0': b64('a'), '2': b64('b') } };
    const gap = await run([noop], 0);
    assert.match(gap.out, /does not hold a key repository 0\.\.n-1/);
    secret = good;
    assert.notEqual((await run([], 0)).code, 0, 'keystone-manage must be given');
  });
});
