/**
 * The rendered bootstrap Jobs, run: each Job's exact command (`osk bootstrap <task>` → the built
 * `node bin/osk.js bootstrap <task>`) with its exact env (Secrets resolved), against
 * - the fake OpenStack (openstack/testing) holding the Keystone and Cinder objects, for ks-user,
 *   ks-register and volume-types: what each makes, and that a rerun changes nothing;
 * - a real MariaDB (Debian's mariadbd in a temp dir, on 127.0.0.1) for db-init: the service's
 *   databases and user, and the metrics user's grants, twice. Skips, saying why, without
 *   mariadbd (scripts/install-test-tools.sh installs it).
 * Cluster hostnames are the only values replaced: DB_HOST → 127.0.0.1, OS_AUTH_URL → the fake.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { jobEnv, renderedJob, rootOverTcp, runJob } from '../../test/support/bootstrap-job.js';
import { freePort } from '../../test/support/net.js';
import { SecretStore } from '../state/secret-store.js';
import { serveBootstrapApis } from '../openstack/testing/fake-bootstrap.js';
import { FakeCloud } from '../openstack/testing/fake-cloud.js';
import { render } from '../targets/kubernetes/render.js';
import { parseCloudFile } from '../spec/load.js';
import { allObjects } from '../targets/kubernetes/objects.js';

const CLOUD = `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata: { name: boot, namespace: boot }
spec:
  region: RegionBoot
  storage:
    backend: lvm
    lvm: { volumeGroup: cinder-volumes }
    cinderBackends:
      - { name: fast, volumeType: ssd, qos: { readIopsSec: 500, totalBytesSec: 1000000 } }
      - { name: slow, volumeType: hdd }
`;
const objects = allObjects(render(parseCloudFile(CLOUD, 'boot.yaml'), SecretStore.memory('boot')).groups).map(
  (o) => o as any,
);
const job = (component: string) => renderedJob(objects, component);

describe('ks-user, ks-register and volume-types against the fake OpenStack', () => {
  let cloud: FakeCloud;
  before(async () => {
    cloud = await FakeCloud.start();
  });
  after(() => cloud.stop());
  const run = (component: string, extra: Record<string, string> = {}) =>
    runJob(objects, job(component), { OS_AUTH_URL: cloud.authUrl, ...extra });

  test('the Jobs run `osk bootstrap <task>` from the osk image, with no script mounted', () => {
    for (const [component, task] of [
      ['nova-db-init', 'db-init'],
      ['nova-ks-user', 'ks-user'],
      ['nova-ks-register', 'ks-register'],
      ['cinder-volume-types', 'volume-types'],
    ] as const) {
      const pod = job(component).spec.template.spec;
      assert.deepEqual(pod.containers[0].command, ['osk', 'bootstrap', task]);
      assert.match(pod.containers[0].image, /^localhost\/osk:\d+\.\d+\.\d+$/);
      assert.equal(pod.volumes, undefined, `${component} mounts nothing`);
    }
  });

  test('ks-user makes the service user with admin and service on project service; a rerun keeps it', async () => {
    const state = serveBootstrapApis(cloud, 'RegionBoot');
    const first = await run('nova-ks-user');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'user nova created, roles admin+service on project service\n');
    const again = await run('nova-ks-user');
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, 'user nova exists, roles admin+service on project service\n');
    assert.deepEqual(
      state.projects.map((p) => [p.name, p.domain_id]),
      [['service', 'default']],
    );
    const [user] = state.users;
    assert.equal(state.users.length, 1);
    assert.equal(user!.name, 'nova');
    assert.equal(user!.password, jobEnv(objects, job('nova-ks-user')).SERVICE_PASSWORD);
    const role = (name: string) => state.roles.find((r) => r.name === name)!.id;
    assert.deepEqual(
      [...state.grants].sort(),
      [
        `${state.projects[0]!.id}/${user!.id}/${role('admin')}`,
        `${state.projects[0]!.id}/${user!.id}/${role('service')}`,
      ].sort(),
    );
  });

  test('ks-register makes the service and its three endpoints in the region; a changed URL is updated', async () => {
    const state = serveBootstrapApis(cloud, 'RegionBoot');
    const env = jobEnv(objects, job('nova-ks-register'));
    const first = await run('nova-ks-register');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(first.stdout, 'compute nova in RegionBoot: public created, internal created, admin created\n');
    assert.deepEqual(state.regions, [{ id: 'RegionBoot' }]);
    assert.deepEqual(
      state.services.map((s) => [s.type, s.name]),
      [['compute', 'nova']],
    );
    const urls = () => Object.fromEntries(state.endpoints.map((e) => [e.interface, [e.url, e.region_id]]));
    assert.deepEqual(urls(), {
      public: [env.ENDPOINT_PUBLIC, 'RegionBoot'],
      internal: [env.ENDPOINT_INTERNAL, 'RegionBoot'],
      admin: [env.ENDPOINT_INTERNAL, 'RegionBoot'],
    });
    assert.equal((await run('nova-ks-register')).stdout, 'compute nova in RegionBoot: unchanged\n');
    const moved = await run('nova-ks-register', { ENDPOINT_PUBLIC: 'https://compute.example.org/v2.1' });
    assert.equal(moved.stdout, 'compute nova in RegionBoot: public updated\n', moved.stderr);
    assert.equal(urls().public![0], 'https://compute.example.org/v2.1');
    assert.equal(state.endpoints.length, 3);
  });

  test('volume-types makes one type per backend and its QoS spec, associated; a rerun converges', async () => {
    const state = serveBootstrapApis(cloud, 'RegionBoot');
    for (const n of [1, 2]) {
      const r = await run('cinder-volume-types');
      assert.equal(r.code, 0, `run ${n}: ${r.stderr}`);
      assert.equal(r.stdout, 'volume types ssd, hdd\n');
    }
    assert.deepEqual(
      state.types.map((t) => [t.name, t.extra_specs.volume_backend_name]),
      [
        ['ssd', 'fast'],
        ['hdd', 'slow'],
      ],
    );
    assert.deepEqual(
      state.qos.map((q) => [q.name, q.consumer, q.specs]),
      [['ssd-qos', 'front-end', { read_iops_sec: '500', total_bytes_sec: '1000000' }]],
    );
    assert.equal(state.types[0]!.qos_specs_id, state.qos[0]!.id);
    // A limit changed in the cloud file reaches the existing spec.
    const env = jobEnv(objects, job('cinder-volume-types'));
    const r = await run('cinder-volume-types', { VOLUME_QOS: env.VOLUME_QOS!.replace('=500', '=800') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(state.qos[0]!.specs.read_iops_sec, '800');
  });

  test('a Job without its inputs is refused (exit 2), naming the variable', async () => {
    serveBootstrapApis(cloud, 'RegionBoot');
    const r = await run('nova-ks-user', { SERVICE_PASSWORD: '' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /SERVICE_PASSWORD is not set/);
  });
});

// ---- db-init against a real MariaDB ---------------------------------------------------------------

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const noMariadb = ['mariadbd', 'mariadb', 'mariadb-install-db', 'mariadb-admin'].filter((c) => !has(c));

describe('db-init against a real MariaDB', {
  skip: noMariadb.length ? `missing ${noMariadb.join(', ')}: run scripts/install-test-tools.sh as root` : false,
  timeout: 300_000,
}, () => {
  let work = '';
  let port = 0;
  let server: ChildProcess | undefined;
  const rootPassword = jobEnv(objects, job('nova-db-init')).MARIADB_ROOT_PASSWORD!;
  const client = (user: string, password: string, statement: string) =>
    spawnSync('mariadb', ['--no-defaults', '-h', '127.0.0.1', `-P${port}`, `-u${user}`, '-N', '-B', '-e', statement], {
      encoding: 'utf8',
      env: { ...process.env, MYSQL_PWD: password },
    });
  const root = (statement: string) => {
    const r = client('root', rootPassword, statement);
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  // The Job reaches mariadb:3306 by name; here the client's default port says where the server is.
  const run = (component: string) =>
    runJob(objects, job(component), { DB_HOST: '127.0.0.1', MYSQL_TCP_PORT: String(port) });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'osk-bootstrap-db-'));
    const asRoot = process.getuid?.() === 0 ? ['--user=root'] : [];
    const data = join(work, 'data');
    execFileSync(
      'mariadb-install-db',
      ['--no-defaults', `--datadir=${data}`, ...asRoot, '--auth-root-authentication-method=normal', '--skip-test-db'],
      { stdio: 'pipe' },
    );
    port = await freePort();
    const sock = join(work, 'mysqld.sock');
    server = spawn(
      'mariadbd',
      [
        '--no-defaults',
        `--datadir=${data}`,
        ...asRoot,
        `--port=${port}`,
        '--bind-address=127.0.0.1',
        `--socket=${sock}`,
        `--pid-file=${join(work, 'mysqld.pid')}`,
        '--innodb-buffer-pool-size=32M',
        `--log-error=${join(work, 'mariadbd.log')}`,
      ],
      { stdio: 'ignore' },
    );
    for (
      let i = 0;
      spawnSync('mariadb-admin', ['--no-defaults', `--socket=${sock}`, '-uroot', '--connect-timeout=1', 'ping'])
        .status !== 0;
      i++
    ) {
      assert.ok(i < 120, 'mariadbd answers on its socket within 60 s');
      await sleep(500);
    }
    rootOverTcp(sock, rootPassword);
  });
  after(async () => {
    if (server && server.exitCode === null) {
      const done = new Promise((r) => server!.once('exit', r));
      server.kill('SIGTERM');
      await done;
    }
    if (work) rmSync(work, { recursive: true, force: true });
  });

  test('the service databases and user: created, then the same on a rerun; the user logs in with the stored password', async () => {
    const env = jobEnv(objects, job('nova-db-init'));
    assert.equal(env.DB_NAMES, 'nova_api nova nova_cell0');
    for (const n of [1, 2]) {
      const r = await run('nova-db-init');
      assert.equal(r.code, 0, `run ${n}: ${r.stderr}`);
      assert.equal(r.stdout, 'databases nova_api, nova, nova_cell0, user nova\n');
    }
    const asNova = client('nova', env.DB_PASSWORD!, 'SHOW DATABASES');
    assert.equal(asNova.status, 0, asNova.stderr);
    assert.deepEqual(
      asNova.stdout
        .trim()
        .split('\n')
        .filter((d) => d.startsWith('nova'))
        .sort(),
      ['nova', 'nova_api', 'nova_cell0'],
    );
    // A password changed behind osk's back is put back to the store's.
    root("ALTER USER 'nova'@'%' IDENTIFIED BY 'other'");
    assert.equal((await run('nova-db-init')).code, 0);
    assert.equal(client('nova', env.DB_PASSWORD!, 'SELECT 1').status, 0);
  });

  test('the metrics user: its monitoring grants and connection limit only', async () => {
    const r = await run('mysqld-exporter-db-init');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'user mysqld_exporter\n');
    const grants = root("SHOW GRANTS FOR 'mysqld_exporter'@'%'");
    assert.match(grants, /GRANT PROCESS, BINLOG MONITOR, SLAVE MONITOR ON \*\.\* TO `mysqld_exporter`@`%`/);
    assert.match(grants, /GRANT SELECT ON `performance_schema`\.\* TO `mysqld_exporter`@`%`/);
    assert.match(grants, /MAX_USER_CONNECTIONS 3/);
    assert.equal(grants.trim().split('\n').length, 2, grants);
  });

  test('a Job started before MariaDB answers waits for it', async () => {
    const r = await runJob(
      objects,
      job('keystone-db-init'),
      { DB_HOST: '127.0.0.1', MYSQL_TCP_PORT: String(await freePort()) },
      5_000,
    );
    assert.equal(r.code, null, 'still waiting when stopped');
    assert.match(r.stderr, /waiting for MariaDB at 127\.0\.0\.1/);
  });
});
