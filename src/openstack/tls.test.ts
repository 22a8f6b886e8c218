/**
 * The custom-CA path end to end: a local https server with a certificate signed by a CA made
 * here with openssl, reached through clouds.yaml's `cacert` and `verify: false`.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { OpenStackUnreachableError } from './errors.js';
import { OpenStackClient } from './index.js';
import { FakeCloud, json } from './testing/fake-cloud.js';
import { scratchDir } from '../../test/support/scratch.js';

let dir: string;
let cloud: FakeCloud;
const clients: OpenStackClient[] = [];

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA and a server certificate for 127.0.0.1 signed by it. */
async function makeCerts(prefix: string): Promise<void> {
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    `${prefix}ca.key`,
    '-out',
    `${prefix}ca.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=osk test CA ${prefix}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  );
  openssl('req', ...ec, '-keyout', `${prefix}server.key`, '-out', `${prefix}server.csr`, '-subj', '/CN=127.0.0.1');
  await writeFile(
    join(dir, `${prefix}ext.cnf`),
    'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    `${prefix}server.csr`,
    '-CA',
    `${prefix}ca.pem`,
    '-CAkey',
    `${prefix}ca.key`,
    '-CAcreateserial',
    '-out',
    `${prefix}server.pem`,
    '-days',
    '2',
    '-extfile',
    `${prefix}ext.cnf`,
  );
}

before(async () => {
  dir = await scratchDir('osk-tls-');
  await makeCerts('');
  await makeCerts('other-');
  const server = createServer({
    key: await readFile(join(dir, 'server.key')),
    cert: await readFile(join(dir, 'server.pem')),
  });
  cloud = await FakeCloud.start({ server, https: true });
  cloud.on('GET', '/network/v2.0/networks', () => json(200, { networks: [{ id: 'n1', name: 'public' }] }));
  await writeFile(
    join(dir, 'clouds.yaml'),
    `clouds:
  trusted:
    cacert: ${join(dir, 'ca.pem')}
    auth: {auth_url: '${cloud.authUrl}', username: admin, password: p, project_name: admin}
  untrusted:
    auth: {auth_url: '${cloud.authUrl}', username: admin, password: p, project_name: admin}
  wrong-ca:
    cacert: ${join(dir, 'other-ca.pem')}
    auth: {auth_url: '${cloud.authUrl}', username: admin, password: p, project_name: admin}
  insecure:
    verify: false
    auth: {auth_url: '${cloud.authUrl}', username: admin, password: p, project_name: admin}
`,
  );
});

after(async () => {
  for (const c of clients) await c.close();
  await cloud?.stop();
});

function client(name: string): OpenStackClient {
  const c = OpenStackClient.fromCloudsYaml({
    cloud: name,
    env: { OS_CLIENT_CONFIG_FILE: join(dir, 'clouds.yaml') },
    overrides: { retries: 0 },
  });
  clients.push(c);
  return c;
}

test('with cacert the self-signed cloud is trusted: auth and API calls over https', async () => {
  const nets = await client('trusted').network.networks.list();
  assert.deepEqual(
    nets.map((n) => n.id),
    ['n1'],
  );
  assert.equal(cloud.calls('/identity/v3/auth/tokens').length >= 1, true);
});

test('without cacert the certificate is refused, and the error says to set cacert', async () => {
  const before = cloud.requests.length;
  await assert.rejects(client('untrusted').network.networks.list(), (e: unknown) => {
    assert.ok(e instanceof OpenStackUnreachableError, String(e));
    assert.equal(e.reason, 'tls');
    assert.match(
      e.message,
      /^identity: POST \/auth\/tokens: TLS with https:\/\/127\.0\.0\.1:\d+ failed: .* \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)$/,
    );
    assert.match(e.hint!, /set cacert in clouds\.yaml of cloud "untrusted"/);
    return true;
  });
  assert.equal(cloud.requests.length, before, 'nothing reached the server');
});

test('a cacert of another CA is refused too', async () => {
  await assert.rejects(
    client('wrong-ca').network.networks.list(),
    (e: unknown) => e instanceof OpenStackUnreachableError && e.reason === 'tls',
  );
});

test('verify: false accepts the certificate', async () => {
  assert.equal((await client('insecure').network.networks.list()).length, 1);
});
