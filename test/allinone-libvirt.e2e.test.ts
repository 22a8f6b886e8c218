/**
 * End to end with a real hypervisor: `osk up` of a cloud whose file says
 * `services.nova.hypervisor: qemu`, from an empty state directory of its own, runs Nova's
 * libvirt driver on the cloud's private libvirtd (QEMU's TCG: no KVM needed). As the demo user,
 * `openstack server create` with the guest image osk built and uploaded (osk-guest) and a config
 * drive boots a real QEMU guest: its libvirt domain exists, and `openstack console log show`
 * shows the guest's `osk-guest:` lines with the host name from the config drive. The server has
 * no port (`--nic none`): osk runs no Open vSwitch datapath yet, so a port would bind but carry
 * nothing. Deleting the server removes the domain; `osk down --purge` leaves no QEMU process.
 * Prints the time from `server create` to ACTIVE and to the guest's ready line.
 *
 * Runs only with OSK_E2E_LIBVIRT=1 (npm test runs two files at a time, and two clouds cannot
 * share the loopback ports). Skips, with the reason, when not root or when libvirt, QEMU or the guest image's tools are
 * missing (bash scripts/install-test-tools.sh installs them). Only one cloud may run on a host
 * (they share the loopback ports): it refuses to start when port 5000 is taken.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { missingTools } from '../src/images/host.js';
import { tcpProbe } from '../src/targets/local/probes.js';
import { libvirtLayout } from '../src/targets/local/libvirt.js';
import { statePaths } from '../src/state/paths.js';
import { commandExists } from './cluster/exec.js';
import { type Run, run } from './support/run.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OSK = join(ROOT, 'bin', 'osk.js');
const CLOUD = 'lv';
const SERVER = 'lvguest';
const CLOUD_YAML = `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: ${CLOUD}
spec:
  profile: minimal
  services:
    horizon:
      enabled: false
    nova:
      hypervisor: qemu
`;

const TOOLS = ['libvirtd', 'virtlogd', 'virsh', 'virt-admin', 'unshare', 'qemu-system-x86_64', 'openstack'];

async function skipReason(): Promise<string | undefined> {
  // npm test runs two test files at a time, and this cloud cannot run beside the one of
  // allinone.e2e.test.ts (the same loopback ports): it runs only when asked for, alone.
  if (process.env.OSK_E2E_LIBVIRT !== '1')
    return 'runs only alone, with OSK_E2E_LIBVIRT=1 (its cloud and allinone.e2e.test.ts share the loopback ports): OSK_E2E_LIBVIRT=1 node --import tsx --test test/allinone-libvirt.e2e.test.ts';
  if (process.getuid?.() !== 0)
    return 'osk up installs packages and runs libvirtd, which runs its guests as root: run as root';
  const build = await missingTools(['apt-get', 'apt-cache', 'dpkg-deb', 'mkfs.fat', 'mcopy', 'syslinux', 'qemu-img']);
  const missing = [...build, ...TOOLS.filter((t) => !commandExists(t))];
  if (missing.length)
    return `needs ${missing.join(', ')} (bash scripts/install-test-tools.sh installs libvirt, QEMU and the guest image's tools)`;
  if ((await tcpProbe(5000)).ok) return 'port 5000 is taken: another cloud runs on this host, and only one can';
  return undefined;
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout.slice(-6000)}\n--- stderr\n${r.stderr.slice(-6000)}`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The QEMU processes whose command line names `dir` (the cloud's state directory). */
function qemuProcessesUnder(dir: string): number[] {
  const out: number[] = [];
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    } catch {
      continue;
    }
    if (cmd.startsWith('/usr/bin/qemu-system') && cmd.includes(dir)) out.push(Number(pid));
  }
  return out;
}

describe('all-in-one with hypervisor qemu: a real guest boots, shows its console, is deleted, and nothing is left', {
  concurrency: false,
}, () => {
  let skip: string | undefined;
  let state = '';
  let instanceName = '';
  let inputDir = '';
  const env = (): NodeJS.ProcessEnv => ({ ...process.env, OSK_STATE_DIR: state, CI: 'true' });
  const osk = (args: string[], timeoutMs?: number) => run(process.execPath, [OSK, ...args], env(), timeoutMs);
  const cloudDir = () => join(state, CLOUD);
  const openstack = async (cloud: string, args: string[], timeoutMs = 300_000) => {
    const r = await run(
      'openstack',
      args,
      { ...env(), OS_CLIENT_CONFIG_FILE: join(cloudDir(), 'clouds.yaml'), OS_CLOUD: cloud },
      timeoutMs,
    );
    assert.equal(r.code, 0, `openstack ${args.join(' ')}: ${show(r)}`);
    return r.stdout;
  };
  const virsh = (args: string[]) =>
    run('virsh', ['-c', libvirtLayout(statePaths(CLOUD, cloudDir())).uri, ...args], env());

  before(async () => {
    skip = await skipReason();
    // OSK_STATE_DIR when given (a directory of its own: the cloud must not be there yet), else a new one.
    if (skip) return;
    state = process.env.OSK_STATE_DIR ?? (await mkdtemp(join(tmpdir(), 'osk-libvirt-e2e-')));
    assert.ok(!existsSync(join(state, CLOUD)), `${join(state, CLOUD)} exists: the test starts from an empty state`);
  });

  after(async () => {
    if (state && existsSync(join(cloudDir(), 'cloud.yaml'))) await osk(['down', '--purge', '--yes']);
    if (state && !process.env.OSK_STATE_DIR) await rm(state, { recursive: true, force: true });
    if (inputDir) await rm(inputDir, { recursive: true, force: true });
  });

  test('osk up with hypervisor: qemu brings the cloud up from an empty state directory', {
    timeout: 45 * 60_000,
  }, async (t) => {
    if (skip) return t.skip(skip);
    // The cloud file beside the state, not in it: a given OSK_STATE_DIR is left as it was found.
    inputDir = await mkdtemp(join(tmpdir(), 'osk-libvirt-e2e-file-'));
    const file = join(inputDir, 'cloud.yaml');
    await writeFile(file, CLOUD_YAML);
    const t0 = Date.now();
    const r = await osk(['up', '-f', file, '--yes', '--timeout', '1800'], 45 * 60_000);
    assert.equal(r.code, 0, show(r));
    const all = `${r.stdout}\n${r.stderr}`;
    assert.match(all, /hypervisor: Nova's libvirt driver with QEMU's TCG emulation/);
    assert.match(r.stderr, /\] ✔ virtlogd ready/);
    assert.match(r.stderr, /\] ✔ libvirt ready/);
    assert.match(r.stderr, /\] ✔ nova-compute ready/);
    assert.match(all, /image osk-guest/, 'the starter kit uploaded the guest image');
    const conf = readFileSync(join(cloudDir(), 'etc', 'nova-compute', 'nova.conf'), 'utf8');
    assert.match(conf, /^virt_type = qemu$/m);
    t.diagnostic(`osk up took ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  });

  test('as the demo user a server boots from osk-guest with a config drive; its console shows the host name', {
    timeout: 20 * 60_000,
  }, async (t) => {
    if (skip) return t.skip(skip);
    const demo = `${CLOUD}-demo`;
    const t0 = Date.now();
    const created = JSON.parse(
      await openstack(demo, [
        ...['--os-compute-api-version', '2.37', 'server', 'create', '--image', 'osk-guest', '--flavor', 'm1.tiny'],
        ...['--config-drive', 'true', '--nic', 'none', '--wait', '-f', 'json', SERVER],
      ]),
    ) as { id: string; status: string };
    const activeSeconds = (Date.now() - t0) / 1000;
    assert.equal(created.status, 'ACTIVE');
    const shown = JSON.parse(await openstack(CLOUD, ['server', 'show', created.id, '-f', 'json'])) as Record<
      string,
      string
    >;
    instanceName = shown['OS-EXT-SRV-ATTR:instance_name']!;
    const domains = await virsh(['list', '--name']);
    assert.ok(domains.stdout.split('\n').includes(instanceName), `domain ${instanceName} runs: ${show(domains)}`);

    let console = '';
    const deadline = Date.now() + 10 * 60_000;
    while (!/osk-guest: ready hostname=/.test(console)) {
      assert.ok(Date.now() < deadline, `no ready line on the console in 10 min:\n${console}`);
      await sleep(3000);
      console = (await openstack(demo, ['console', 'log', 'show', SERVER])).replaceAll('\r', '');
    }
    const readySeconds = (Date.now() - t0) / 1000;
    assert.match(console, new RegExp(`osk-guest: metadata from config-drive:\\S+: hostname ${SERVER},`));
    assert.match(console, new RegExp(`osk-guest: ready hostname=${SERVER} address=none `));
    const qemuLog = readFileSync(join(cloudDir(), 'log', 'libvirt', 'qemu', `${instanceName}.log`), 'utf8');
    assert.match(qemuLog, /-accel tcg/);
    t.diagnostic(
      `server create → ACTIVE ${activeSeconds.toFixed(1)} s, → guest ready on the console ${readySeconds.toFixed(1)} s (TCG)`,
    );
  });

  test('server delete removes the domain; osk down --purge leaves no QEMU process', {
    timeout: 10 * 60_000,
  }, async (t) => {
    if (skip) return t.skip(skip);
    await openstack(`${CLOUD}-demo`, ['server', 'delete', '--wait', SERVER]);
    const left = await virsh(['list', '--all', '--name']);
    assert.equal(left.code, 0, show(left));
    assert.ok(!left.stdout.split('\n').includes(instanceName), `domain ${instanceName} is gone: ${left.stdout}`);
    const dir = cloudDir();
    assert.deepEqual(qemuProcessesUnder(dir), [], 'no guest runs after the delete');
    const down = await osk(['down', '--purge', '--yes']);
    assert.equal(down.code, 0, show(down));
    assert.ok(!existsSync(dir), 'the state directory is gone');
    assert.deepEqual(qemuProcessesUnder(dir), [], 'no QEMU process of the cloud is left');
  });
});
