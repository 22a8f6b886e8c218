import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { OskError } from '../errors.js';
import { configSearchPath, loadCloud, sessionOptionsFromCloud } from './clouds-yaml.js';
import { scratchDir } from '../../test/support/scratch.js';

/** A fresh cwd and home, with files written relative to a root. */
async function sandbox(
  files: Record<string, string>,
): Promise<{ root: string; cwd: string; home: string; systemDir: string }> {
  const root = await scratchDir('osk-clouds-');
  const cwd = join(root, 'work');
  const home = join(root, 'home');
  await mkdir(cwd, { recursive: true });
  await mkdir(join(home, '.config', 'openstack'), { recursive: true });
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(join(root, rel, '..'), { recursive: true });
    await writeFile(join(root, rel), text);
  }
  // Never the machine's own /etc/openstack: a real cloud may be installed here.
  return { root, cwd, home, systemDir: join(root, 'etc') };
}

const ADMIN = `
clouds:
  osk-admin:
    auth:
      auth_url: http://10.0.0.10:5000/v3
      username: admin
      password: s3cret
      project_name: admin
      project_domain_name: Default
      user_domain_name: Default
    region_name: RegionOne
    interface: internal
    identity_api_version: 3
    compute_endpoint_override: http://nova.local:8774/v2.1
    block_storage_endpoint_override: http://cinder.local:8776/v3
  monitoring:
    auth_type: v3applicationcredential
    auth:
      auth_url: http://10.0.0.10:5000
      application_credential_id: 21dced0fd20347869b93710d2b98aae0
      application_credential_secret: very-secret
`;

function rejectsInput(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OskError, String(e));
    assert.equal(e.exitCode, 2);
    assert.match(`${e.message}\n${e.hint ?? ''}`, pattern);
    return true;
  });
}

test('the search order is OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack, /etc/openstack', () => {
  const paths = configSearchPath('clouds', { env: { OS_CLIENT_CONFIG_FILE: '/x/my.yaml' }, cwd: '/w', home: '/h' }).map(
    (p) => p.path,
  );
  assert.deepEqual(paths, [
    '/x/my.yaml',
    '/w/clouds.yaml',
    '/h/.config/openstack/clouds.yaml',
    '/etc/openstack/clouds.yaml',
  ]);
  assert.deepEqual(
    configSearchPath('secure', { env: {}, cwd: '/w', home: '/h' }).map((p) => p.path),
    ['/w/secure.yaml', '/h/.config/openstack/secure.yaml', '/etc/openstack/secure.yaml'],
  );
});

test('a password cloud: auth, scope, region, interface and endpoint overrides', async () => {
  const { cwd, home, systemDir } = await sandbox({ 'home/.config/openstack/clouds.yaml': ADMIN });
  const c = loadCloud({ cloud: 'osk-admin', env: {}, cwd, home, systemDir });
  assert.equal(c.file, join(home, '.config/openstack/clouds.yaml'));
  assert.deepEqual(c.auth, {
    type: 'password',
    authUrl: 'http://10.0.0.10:5000/v3',
    username: 'admin',
    userDomainName: 'Default',
    password: 's3cret',
    scope: { project: { name: 'admin', domainName: 'Default' } },
  });
  assert.equal(c.region, 'RegionOne');
  assert.equal(c.interface, 'internal');
  assert.deepEqual(c.endpointOverrides, {
    compute: 'http://nova.local:8774/v2.1',
    'block-storage': 'http://cinder.local:8776/v3',
  });
  const so = sessionOptionsFromCloud(c);
  assert.equal(so.cloudName, 'osk-admin');
  assert.equal(so.region, 'RegionOne');
});

test('an application credential cloud, chosen by OS_CLOUD', async () => {
  const { cwd, home, systemDir } = await sandbox({ 'home/.config/openstack/clouds.yaml': ADMIN });
  const c = loadCloud({ env: { OS_CLOUD: 'monitoring' }, cwd, home, systemDir });
  assert.deepEqual(c.auth, {
    type: 'applicationCredential',
    authUrl: 'http://10.0.0.10:5000',
    id: '21dced0fd20347869b93710d2b98aae0',
    secret: 'very-secret',
  });
  assert.equal(c.interface, undefined);
});

test('./clouds.yaml wins over the home one, OS_CLIENT_CONFIG_FILE over both', async () => {
  const one = (url: string): string => `clouds:\n  c:\n    auth: {auth_url: '${url}', username: u, password: p}\n`;
  const { root, cwd, home, systemDir } = await sandbox({
    'home/.config/openstack/clouds.yaml': one('http://home'),
    'work/clouds.yaml': one('http://cwd'),
    'elsewhere/named.yaml': one('http://env'),
  });
  assert.equal(loadCloud({ env: {}, cwd, home, systemDir }).auth.authUrl, 'http://cwd');
  assert.equal(
    loadCloud({ env: { OS_CLIENT_CONFIG_FILE: join(root, 'elsewhere/named.yaml') }, cwd, home, systemDir }).auth
      .authUrl,
    'http://env',
  );
  rejectsInput(
    () => loadCloud({ env: { OS_CLIENT_CONFIG_FILE: join(root, 'missing.yaml') }, cwd, home, systemDir }),
    /OS_CLIENT_CONFIG_FILE names .*missing\.yaml, which does not exist/,
  );
});

test('secure.yaml values are merged over clouds.yaml', async () => {
  const { cwd, home, systemDir } = await sandbox({
    'home/.config/openstack/clouds.yaml':
      'clouds:\n  c:\n    auth: {auth_url: http://k/v3, username: u, project_id: p1}\n    region_name: R1\n',
    'home/.config/openstack/secure.yaml': 'clouds:\n  c:\n    auth: {password: from-secure}\n',
  });
  const c = loadCloud({ env: {}, cwd, home, systemDir });
  assert.equal(c.auth.type === 'password' && c.auth.password, 'from-secure');
  assert.equal(c.auth.type === 'password' && c.auth.username, 'u');
  assert.deepEqual(c.auth.type === 'password' && c.auth.scope, { project: { id: 'p1' } });
  assert.equal(c.secureFile, join(home, '.config/openstack/secure.yaml'));
});

test('domain scope, ids and default domains', async () => {
  const { cwd, home, systemDir } = await sandbox({
    'work/clouds.yaml': `clouds:
  dom:
    auth: {auth_url: http://k, user_id: uid, password: p, domain_id: d1}
  defaults:
    auth: {auth_url: http://k, username: u, password: p, project_name: demo, default_domain_id: dd}
`,
  });
  assert.deepEqual(loadCloud({ cloud: 'dom', env: {}, cwd, home, systemDir }).auth, {
    type: 'password',
    authUrl: 'http://k',
    userId: 'uid',
    password: 'p',
    scope: { domain: { id: 'd1' } },
  });
  assert.deepEqual(loadCloud({ cloud: 'defaults', env: {}, cwd, home, systemDir }).auth, {
    type: 'password',
    authUrl: 'http://k',
    username: 'u',
    userDomainId: 'dd',
    password: 'p',
    scope: { project: { name: 'demo', domainId: 'dd' } },
  });
});

test('a missing cloud names the file, the clouds it has and what to do', async () => {
  const { cwd, home, systemDir } = await sandbox({ 'home/.config/openstack/clouds.yaml': ADMIN });
  rejectsInput(
    () => loadCloud({ cloud: 'prod', env: {}, cwd, home, systemDir }),
    /cloud "prod" is not in .*home\/\.config\/openstack\/clouds\.yaml \(it has: osk-admin, monitoring\)\nuse one of those names, or add "prod"/,
  );
  rejectsInput(
    () => loadCloud({ env: { OS_CLOUD: 'prod' }, cwd, home, systemDir }),
    /cloud "prod" \(from OS_CLOUD\) is not in/,
  );
  rejectsInput(
    () => loadCloud({ env: {}, cwd, home, systemDir }),
    /has several clouds \(osk-admin, monitoring\) and none was chosen\n.*OS_CLOUD/,
  );
});

test('no clouds.yaml anywhere: the error lists every place looked at', async () => {
  const { cwd, home, systemDir } = await sandbox({});
  rejectsInput(
    () => loadCloud({ cloud: 'x', env: {}, cwd, home, systemDir }),
    new RegExp(
      `no clouds.yaml found: looked for OS_CLIENT_CONFIG_FILE \\(not set\\), ${cwd}/clouds.yaml, ${home}/.config/openstack/clouds.yaml, ${systemDir}/clouds.yaml\\n.*~/.config/openstack/clouds.yaml`,
    ),
  );
});

test('broken files and entries are input errors that say what is wrong', async () => {
  const { cwd, home, root, systemDir } = await sandbox({
    'work/clouds.yaml': `clouds:
  nopw: {auth: {auth_url: http://k, username: u}}
  nourl: {auth: {username: u, password: p}}
  weird: {auth_type: saml2, auth: {auth_url: http://k}}
  v2: {identity_api_version: 2, auth: {auth_url: http://k, username: u, password: p}}
  iface: {interface: outside, auth: {auth_url: http://k, username: u, password: p}}
  ca: {cacert: /nonexistent/ca.pem, auth: {auth_url: http://k, username: u, password: p}}
`,
    'bad/clouds.yaml': 'clouds: [unclosed\n',
  });
  const env = {};
  rejectsInput(
    () => loadCloud({ cloud: 'nopw', env, cwd, home, systemDir }),
    /cloud "nopw" in .*: auth\.password is missing/,
  );
  rejectsInput(() => loadCloud({ cloud: 'nourl', env, cwd, home, systemDir }), /auth\.auth_url is missing/);
  rejectsInput(() => loadCloud({ cloud: 'weird', env, cwd, home, systemDir }), /auth_type "saml2" is not supported/);
  rejectsInput(() => loadCloud({ cloud: 'v2', env, cwd, home, systemDir }), /identity_api_version 2 is not supported/);
  rejectsInput(
    () => loadCloud({ cloud: 'iface', env, cwd, home, systemDir }),
    /interface "outside" is not one of public, internal, admin/,
  );
  rejectsInput(
    () => loadCloud({ cloud: 'ca', env, cwd, home, systemDir }),
    /cacert \/nonexistent\/ca\.pem cannot be read: ENOENT/,
  );
  rejectsInput(
    () =>
      loadCloud({ cloud: 'x', env: { OS_CLIENT_CONFIG_FILE: join(root, 'bad/clouds.yaml') }, cwd, home, systemDir }),
    /bad\/clouds\.yaml is not valid YAML/,
  );
});

test('cacert is read (relative to the cwd, ~ expanded) and verify: false is kept', async () => {
  const { cwd, home, systemDir } = await sandbox({
    'work/certs/ca.pem': '-----BEGIN CERTIFICATE-----\nfake\n-----END CERTIFICATE-----\n',
    'home/ca2.pem': 'PEM2',
    'work/clouds.yaml': `clouds:
  a: {cacert: certs/ca.pem, auth: {auth_url: https://k, username: u, password: p}}
  b: {cacert: ~/ca2.pem, verify: false, auth: {auth_url: https://k, username: u, password: p}}
`,
  });
  const a = loadCloud({ cloud: 'a', env: {}, cwd, home, systemDir });
  assert.match(String(a.tls.ca), /BEGIN CERTIFICATE/);
  assert.equal(a.cacertFile, join(cwd, 'certs/ca.pem'));
  assert.equal(a.tls.verify, undefined);
  const b = loadCloud({ cloud: 'b', env: {}, cwd, home, systemDir });
  assert.equal(String(b.tls.ca), 'PEM2');
  assert.equal(b.tls.verify, false);
});
