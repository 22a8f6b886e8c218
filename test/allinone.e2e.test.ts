/**
 * End to end on this host: `osk up --yes` from nothing (the project installs the Debian packages
 * itself), then the cloud is used through osk's own TypeScript client and through the real
 * `openstack` CLI, survives a crashed service, a second `osk up`, `osk down` + `osk up`, and is
 * removed by `osk down --purge`. Real MariaDB, RabbitMQ, Memcached, OVN and OpenStack Zed
 * services, on 127.0.0.1 only. Needs root (apt) on Debian 12; it says so and fails otherwise.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { OpenStackClient } from '../src/openstack/index.js';
import type { CloudStatus } from '../src/targets/local/status.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OSK = join(ROOT, 'bin', 'osk.js');
const CLOUD = 'default';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs = 600_000): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout, stderr });
    });
  });
}

let state = '';
const env = (): NodeJS.ProcessEnv => ({ ...process.env, OSK_STATE_DIR: state, CI: 'true' });
const osk = (args: string[], timeoutMs?: number) => run(process.execPath, [OSK, ...args], env(), timeoutMs);
const cloudDir = () => join(state, CLOUD);
const cliEnv = () => ({ ...env(), OS_CLIENT_CONFIG_FILE: join(cloudDir(), 'clouds.yaml'), OS_CLOUD: CLOUD });
const openstack = async (args: string[]) => {
  const r = await run('openstack', [...args, '-f', 'json'], cliEnv(), 300_000);
  assert.equal(r.code, 0, `openstack ${args.join(' ')} failed:\n${r.stderr}`);
  return JSON.parse(r.stdout) as Record<string, unknown>;
};
const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr.slice(-6000)}`;

async function status(): Promise<CloudStatus> {
  const r = await osk(['status', '-o', 'json']);
  return JSON.parse(r.stdout) as CloudStatus;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const client = () => OpenStackClient.fromCloudsYaml({ cloud: CLOUD, env: { OS_CLIENT_CONFIG_FILE: join(cloudDir(), 'clouds.yaml') } });

describe('all-in-one cloud: osk up → use → crash → up again → down/up → purge', { concurrency: false }, () => {
  let pidsBeforeDown: number[] = [];
  const made: { serverId?: string; volumeId?: string; imageId?: string; networkId?: string; cliServer?: string } = {};

  before(async () => {
    assert.equal(process.getuid?.(), 0, 'the all-in-one test installs Debian packages and needs root');
    state = await mkdtemp(join(tmpdir(), 'osk-e2e-'));
  });

  after(async () => {
    // Whatever happened, leave nothing running and nothing behind.
    if (state && existsSync(join(cloudDir(), 'cloud.yaml'))) await osk(['down', '--purge', '--yes']);
    if (state) await rm(state, { recursive: true, force: true });
  });

  test('osk up --yes brings the whole cloud up from nothing', { timeout: 40 * 60_000 }, async () => {
    const r = await osk(['up', '--yes'], 40 * 60_000);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /cloud default is up in/);
    // Plain progress lines in CI, one per component.
    assert.match(r.stderr, /\] ✔ keystone-api ready/);
    assert.match(r.stderr, /\] ✔ nova-compute ready/);
    const s = await status();
    assert.equal(s.healthy, true, JSON.stringify(s.components.filter((c) => c.kind === 'process' && !c.ready), null, 2));
    // Secrets and configs are private to the cloud's owner.
    assert.equal(readFileSync(join(cloudDir(), 'secrets.yaml')).length > 0, true);
    for (const f of ['secrets.yaml', 'clouds.yaml', 'etc/nova/nova.conf', 'etc/keystone/fernet-keys/0']) {
      const { statSync } = await import('node:fs');
      assert.equal(statSync(join(cloudDir(), f)).mode & 0o077, 0, `${f} is readable by others`);
    }
  });

  test('every listener of the cloud is on loopback', async () => {
    const r = await run('ss', ['-Hltnp'], env());
    const s = await status();
    const ours = new Set<number>();
    for (const c of s.components) if (c.pid) for (const p of (await run('ps', ['-o', 'pid=', '-g', String(c.pid)], env())).stdout.split(/\s+/).filter(Boolean)) ours.add(Number(p));
    const exposed = r.stdout
      .split('\n')
      .filter((l) => [...l.matchAll(/pid=(\d+)/g)].some((m) => ours.has(Number(m[1]))))
      .filter((l) => !/\s(127\.0\.0\.1|\[::1\]):\d+\s/.test(l));
    assert.deepEqual(exposed, [], 'listeners not on 127.0.0.1');
  });

  test('the TypeScript client: token, image upload, network, port, server ACTIVE, volume attach/detach', { timeout: 10 * 60_000 }, async () => {
    const os = client();
    try {
      const token = await os.session.getToken();
      assert.ok(token.value.length > 20);
      const flavor = (await os.compute.flavors.find('m1.tiny'))!;
      assert.ok(flavor, 'bootstrap made m1.tiny');
      const img = await os.image.images.create({ name: 'e2e-image', disk_format: 'raw', container_format: 'bare' });
      await os.image.images.upload(img.id, Buffer.alloc(256 * 1024, 7));
      const active = await os.image.images.waitForStatus(img.id, 'active', { timeoutMs: 120_000 });
      assert.equal(active.size, 256 * 1024);
      made.imageId = img.id;

      const net = await os.network.networks.create({ name: 'e2e-net' });
      const subnet = await os.network.subnets.create({ network_id: net.id, cidr: '10.9.0.0/24', ip_version: 4, name: 'e2e-subnet' });
      const port = await os.network.ports.create({ network_id: net.id, name: 'e2e-port' });
      assert.equal(port.fixed_ips?.[0]?.subnet_id, subnet.id);
      assert.equal(await os.network.ports.delete(port.id), true);
      made.networkId = net.id;

      const created = await os.compute.servers.create({ name: 'e2e-vm', flavorRef: flavor.id, imageRef: img.id, networks: [{ uuid: net.id }] });
      const server = await os.compute.servers.waitForStatus(created.id, 'ACTIVE', { timeoutMs: 300_000 });
      assert.ok(JSON.stringify(server.addresses).includes('10.9.0.'), `no address on e2e-net: ${JSON.stringify(server.addresses)}`);
      made.serverId = server.id;

      const vol = await os.blockStorage.volumes.create({ name: 'e2e-vol', size: 1 });
      await os.blockStorage.volumes.waitForStatus(vol.id, 'available', { timeoutMs: 180_000 });
      await os.compute.volumeAttachments.attach(server.id, { volumeId: vol.id });
      await os.blockStorage.volumes.waitForStatus(vol.id, 'in-use', { timeoutMs: 180_000 });
      await os.compute.volumeAttachments.detach(server.id, vol.id);
      await os.blockStorage.volumes.waitForStatus(vol.id, 'available', { timeoutMs: 180_000 });
      made.volumeId = vol.id;
    } finally {
      await os.close();
    }
  });

  test('the real openstack CLI works with the written clouds.yaml (osk env)', { timeout: 10 * 60_000 }, async () => {
    const e = await osk(['env']);
    assert.equal(e.stdout, `export OS_CLIENT_CONFIG_FILE=${join(cloudDir(), 'clouds.yaml')}\nexport OS_CLOUD=default\n`);
    const server = await openstack(['server', 'create', '--flavor', 'm1.tiny', '--image', 'osk-test-raw', '--network', 'demo-net', '--wait', 'cli-vm']);
    assert.equal(server.status, 'ACTIVE');
    made.cliServer = server.id as string;
    const vol = await openstack(['volume', 'create', '--size', '1', 'cli-vol']);
    for (let i = 0; i < 60; i++) {
      const v = await openstack(['volume', 'show', vol.id as string]);
      if (v.status === 'available') break;
      assert.notEqual(v.status, 'error');
      await new Promise((r) => setTimeout(r, 1000));
    }
    const services = (await openstack(['compute', 'service', 'list'])) as unknown as { Binary: string; State: string }[];
    assert.deepEqual(services.map((s) => `${s.Binary}:${s.State}`).sort(), ['nova-compute:up', 'nova-conductor:up', 'nova-scheduler:up']);
    const agents = (await openstack(['network', 'agent', 'list'])) as unknown as { Alive: boolean }[];
    assert.ok(agents.length >= 1 && agents.every((a) => a.Alive), 'the OVN chassis is alive');
  });

  test('a crashed service is restarted by the supervisor and reported', { timeout: 5 * 60_000 }, async () => {
    const before = (await status()).components.find((c) => c.component === 'placement-api')!;
    assert.ok(before.pid);
    process.kill(-before.pid, 'SIGKILL');
    let after: CloudStatus['components'][number] | undefined;
    for (let i = 0; i < 120; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      after = (await status()).components.find((c) => c.component === 'placement-api');
      if (after?.ready && after.pid !== before.pid) break;
    }
    assert.ok(after?.ready, `placement-api did not come back: ${JSON.stringify(after)}`);
    assert.ok((after.restarts ?? 0) >= 1);
    assert.match(after.lastExit ?? '', /SIGKILL/);
  });

  test('osk up again restarts nothing and changes nothing', { timeout: 10 * 60_000 }, async () => {
    const pids = (await status()).components.filter((c) => c.pid).map((c) => `${c.component}:${c.pid}`);
    const r = await osk(['up']);
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.stderr, / (restarted|started) /);
    assert.doesNotMatch(r.stdout, / ready| restarted/);
    assert.match(r.stdout, /\d+ unchanged/);
    const again = (await status()).components.filter((c) => c.pid).map((c) => `${c.component}:${c.pid}`);
    assert.deepEqual(again, pids);
  });

  test('osk down stops every program by PID; osk up brings back the same cloud with all its objects', { timeout: 20 * 60_000 }, async () => {
    const s = await status();
    pidsBeforeDown = s.components.filter((c) => c.pid).map((c) => c.pid!);
    const secretsBefore = readFileSync(join(cloudDir(), 'secrets.yaml'), 'utf8');
    const d = await osk(['down']);
    assert.equal(d.code, 0, show(d));
    assert.deepEqual(pidsBeforeDown.filter(alive), [], 'processes left after osk down');
    assert.deepEqual((await readdir(join(cloudDir(), 'run', 'osk'))).filter((f) => f.endsWith('.json')), []);

    const u = await osk(['up']);
    assert.equal(u.code, 0, show(u));
    assert.equal(readFileSync(join(cloudDir(), 'secrets.yaml'), 'utf8'), secretsBefore, 'credentials changed across down/up');
    const os = client();
    try {
      assert.equal((await os.compute.servers.get(made.serverId!)).status, 'ACTIVE');
      assert.equal((await os.compute.servers.get(made.cliServer!)).name, 'cli-vm');
      assert.equal((await os.blockStorage.volumes.get(made.volumeId!)).status, 'available');
      assert.equal((await os.image.images.get(made.imageId!)).status, 'active');
      assert.equal((await os.network.networks.get(made.networkId!)).name, 'e2e-net');
      assert.ok(await os.identity.users.find('demo', { domainId: 'default' }));
      // The demo user's password from clouds.yaml still works.
      const demo = OpenStackClient.fromCloudsYaml({ cloud: `${CLOUD}-demo`, env: { OS_CLIENT_CONFIG_FILE: join(cloudDir(), 'clouds.yaml') } });
      assert.ok((await demo.network.networks.find('demo-net')) !== undefined);
      await demo.close();
    } finally {
      await os.close();
    }
  });

  test('osk down --purge removes the cloud and its state', { timeout: 10 * 60_000 }, async () => {
    const pids = (await status()).components.filter((c) => c.pid).map((c) => c.pid!);
    const r = await osk(['down', '--purge', '--yes']);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(pids.filter(alive), []);
    assert.equal(existsSync(cloudDir()), false);
    const st = await osk(['status']);
    assert.equal(st.code, 2);
    assert.match(st.stderr, /no all-in-one cloud on this host/);
  });
});
