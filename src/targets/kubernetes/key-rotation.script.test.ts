/**
 * The rotation CronJob's script, run by the real python3 against a stand-in of the API server's
 * Secret endpoint (HTTPS with its own CA, bearer token): what it reads, what it writes back, and
 * that it refuses what is not a key repository. The same script against a real kube-apiserver
 * with RBAC is in test/kubernetes/key-rotation.test.ts.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { rotateKeySet } from '../../config/key-rotation.js';
import { fernetKey } from '../../config/secrets.js';
import { ROTATE_SCRIPT } from './key-rotation.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const unb64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

function hasTools(): string | undefined {
  for (const t of ['python3', 'openssl']) {
    try {
      execFileSync(t, [t === 'python3' ? '--version' : 'version'], { stdio: 'ignore' });
    } catch {
      return `${t} is not installed`;
    }
  }
  return undefined;
}

describe('the key rotation script (python3) against an API stand-in', { skip: hasTools() }, () => {
  let dir = '';
  let server: Server;
  let port = 0;
  let secret: { metadata: Record<string, unknown>; data?: Record<string, string> };
  const seen: { method: string; url: string; auth?: string; body?: any }[] = [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osk-rotscript-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'ca.crt'),
      ],
      { stdio: 'ignore' },
    );
    execFileSync('sh', ['-c', 'printf %s sa-token > "$1"', 'sh', join(dir, 'token')]);
    server = createServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'ca.crt')) },
      (req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c) => chunks.push(c as Buffer));
        req.on('end', () => {
          const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
          seen.push({ method: req.method!, url: req.url!, auth: req.headers.authorization, body });
          if (req.url !== '/api/v1/namespaces/cloud/secrets/keystone-fernet-keys') {
            res.writeHead(403, { 'content-type': 'application/json' });
            return res.end('{"reason":"Forbidden"}');
          }
          if (req.method === 'PUT') {
            if (body.metadata.resourceVersion !== secret.metadata.resourceVersion) {
              res.writeHead(409);
              return res.end('{"reason":"Conflict"}');
            }
            secret = {
              ...body,
              metadata: { ...body.metadata, resourceVersion: String(Number(secret.metadata.resourceVersion) + 1) },
            };
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify(secret));
        });
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });

  after(() => {
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const run = (env: Record<string, string> = {}): Promise<{ code: number; out: string }> =>
    new Promise((resolve) => {
      const p = spawn('python3', ['-c', ROTATE_SCRIPT], {
        env: {
          PATH: process.env.PATH,
          SECRET_NAME: 'keystone-fernet-keys',
          NAMESPACE: 'cloud',
          MAX_ACTIVE_KEYS: '3',
          SA_DIR: dir,
          KUBERNETES_SERVICE_HOST: '127.0.0.1',
          KUBERNETES_SERVICE_PORT: String(port),
          ...env,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('close', (code) => resolve({ code: code ?? 1, out }));
    });

  test('rotates: the staged key becomes primary, the old primary a secondary, a new Fernet key is staged; the update carries the read resourceVersion', async () => {
    const keys = [fernetKey(), fernetKey(), fernetKey()];
    secret = {
      metadata: { name: 'keystone-fernet-keys', namespace: 'cloud', resourceVersion: '7', labels: { keep: 'me' } },
      data: Object.fromEntries(keys.map((k, i) => [String(i), b64(k)])),
    };
    seen.length = 0;
    const r = await run();
    assert.equal(r.code, 0, r.out);
    assert.deepEqual(
      seen.map((s) => s.method),
      ['GET', 'PUT'],
    );
    assert.equal(seen[0]!.auth, 'Bearer sa-token');
    assert.equal(seen[1]!.body.metadata.resourceVersion, '7');
    assert.deepEqual(seen[1]!.body.metadata.labels, { keep: 'me' });
    const now = [0, 1, 2].map((i) => unb64(secret.data![String(i)]!));
    assert.deepEqual(
      now,
      rotateKeySet(keys, 3, () => now[0]!),
    );
    assert.match(now[0]!, /^[A-Za-z0-9_-]{43}=$/);
    assert.equal(keys.includes(now[0]!), false);
  });

  test('more active keys keep more secondaries', async () => {
    const keys = [fernetKey(), fernetKey(), fernetKey()];
    secret = {
      metadata: { name: 'keystone-fernet-keys', resourceVersion: '1' },
      data: Object.fromEntries(keys.map((k, i) => [String(i), b64(k)])),
    };
    const r = await run({ MAX_ACTIVE_KEYS: '4' });
    assert.equal(r.code, 0, r.out);
    const now = Object.keys(secret.data!)
      .sort()
      .map((k) => unb64(secret.data![k]!));
    assert.deepEqual(now.slice(1), [keys[1], keys[2], keys[0]]);
  });

  test('refuses a Secret that is not a dense key repository, and a Secret it may not read; changes nothing', async () => {
    secret = {
      metadata: { name: 'keystone-fernet-keys', resourceVersion: '1' },
      data: { '0': b64('a'), '2': b64('b') },
    };
    seen.length = 0;
    const gap = await run();
    assert.notEqual(gap.code, 0);
    assert.match(gap.out, /does not hold a key repository 0\.\.n-1/);
    assert.deepEqual(
      seen.map((s) => s.method),
      ['GET'],
    );
    const denied = await run({ SECRET_NAME: 'other' });
    assert.notEqual(denied.code, 0);
    assert.match(denied.out, /GET Secret cloud\/other: HTTP 403/);
    assert.notEqual((await run({ MAX_ACTIVE_KEYS: '2' })).code, 0);
  });
});
