/**
 * The proof of the private libvirt: virtlogd and libvirtd started by osk's supervisor in their
 * mount namespace over a scratch state directory, then the guest image booted through them as
 * a `type='qemu'` domain (TCG) the way Nova's libvirt driver boots an instance: a copy-on-write
 * overlay of the cached image as a virtio disk, a config drive (ISO 9660 labelled config-2) as
 * an IDE CD-ROM, user-mode networking (nothing on the host's network), and the serial console
 * logged through virtlogd into console.log. The guest's console must show the host name from
 * the config drive and its ready line. Then the domain is destroyed and undefined, the daemons
 * are stopped by their PIDs, and the host is checked for what libvirt could have left: no
 * cgroups, no domain in /etc/libvirt, the cached image unchanged.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { commandExists } from '../../../test/cluster/exec.js';
import { writeConfigDrive } from '../../../test/support/config-drive.js';
import { ensureGuestImage } from '../../images/guest/build.js';
import { missingTools } from '../../images/host.js';
import { statePaths } from '../../state/paths.js';
import {
  type LibvirtLayout,
  libvirtConfigFiles,
  libvirtLayout,
  libvirtPrograms,
  prepareLibvirt,
  removeMountPoints,
  virsh,
  waitUntilReady,
} from './libvirt.js';
import { isAlive, type PidRecord, startTimeOf } from './process-tree.js';
import { Supervisor } from './supervisor.js';

const TOOLS = ['libvirtd', 'virtlogd', 'virsh', 'virt-admin', 'unshare', 'qemu-system-x86_64', 'genisoimage'];

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'libvirt runs guests as root here (its privileged daemons): run as root';
  const build = await missingTools(['apt-get', 'apt-cache', 'dpkg-deb', 'mkfs.fat', 'mcopy', 'syslinux', 'qemu-img']);
  const missing = [...build, ...TOOLS.filter((t) => !commandExists(t))];
  if (missing.length)
    return `needs ${missing.join(', ')} (bash scripts/install-test-tools.sh installs libvirt-daemon-system, libvirt-clients, qemu-system-x86 and the guest image's tools)`;
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const attr = (v: string) =>
  v.replaceAll('&', '&amp;').replaceAll("'", '&apos;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');

/** The domain as Nova's libvirt driver writes one for a TCG guest booting from its disk. */
function domainXml(o: { name: string; disk: string; configDrive: string; consoleLog: string }): string {
  return `<domain type='qemu'>
  <name>${attr(o.name)}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
  <on_reboot>destroy</on_reboot>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/><source file='${attr(o.disk)}'/><target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='cdrom'>
      <driver name='qemu' type='raw'/><source file='${attr(o.configDrive)}'/><target dev='hdd' bus='ide'/><readonly/>
    </disk>
    <interface type='user'><model type='virtio'/></interface>
    <serial type='pty'><log file='${attr(o.consoleLog)}' append='off'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
  </devices>
</domain>
`;
}

/** The host's cgroup v1 hierarchies that hold a machine/ group (libvirt makes them when it uses cgroups). */
function machineCgroups(): string[] {
  if (!existsSync('/sys/fs/cgroup')) return [];
  return readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, 'machine')));
}

async function sha256(file: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
}

/** A config drive as Nova makes it (name and host name only). */
function configDrive(dir: string, name: string): Promise<string> {
  return writeConfigDrive(dir, {
    uuid: '3c2b1a09-8f7e-4d6c-9b5a-4f3e2d1c0b9a',
    name,
    hostname: `${name}.novalocal`,
    launch_index: 0,
  });
}

async function logTail(file: string): Promise<string> {
  return (await readFile(file, 'utf8').catch(() => '(no log)')).split('\n').slice(-15).join('\n');
}

/** Starts virtlogd then libvirtd through the supervisor, each gated on answering on its socket. */
async function startDaemons(sup: Supervisor, layout: LibvirtLayout, log: string): Promise<string[]> {
  const took: string[] = [];
  for (const p of libvirtPrograms(layout)) {
    const { action } = await sup.ensure(p);
    assert.equal(action, 'started');
    try {
      took.push(`${p.id} ${(await waitUntilReady(p.id, p.ready, 60_000)).toFixed(1)} s`);
    } catch (e) {
      assert.fail(`${(e as Error).message}\n${p.id}.log:\n${await logTail(join(log, `${p.id}.log`))}`);
    }
  }
  return took;
}

/** Polls the console log until `pattern` shows; fails when the guest is gone or at the deadline. */
async function waitForConsole(log: string, pattern: RegExp, guest: PidRecord, deadline: number) {
  for (;;) {
    // The serial line ends lines with CR LF.
    const text = (await readFile(log, 'utf8').catch(() => '')).replaceAll('\r', '');
    const m = pattern.exec(text);
    if (m) return m;
    if (!isAlive(guest) || Date.now() > deadline)
      assert.fail(
        `no ${pattern} on the console (QEMU ${isAlive(guest) ? 'still runs' : 'is gone'}); console:\n${text}`,
      );
    await sleep(250);
  }
}

test("a private libvirtd and virtlogd boot the guest image as a type='qemu' domain with a config drive", async (t) => {
  const reason = await skipReason();
  if (reason) return t.skip(reason);
  const image = await ensureGuestImage();
  const imageSum = await sha256(image.disk);
  // A space in the state directory: the socket path travels percent-encoded in the URI.
  const root = await mkdtemp(join(tmpdir(), 'osk libvirt-'));
  const paths = statePaths('t', root);
  for (const d of [paths.run, paths.pids, paths.log]) await mkdir(d, { recursive: true, mode: 0o700 });
  const layout = libvirtLayout(paths);
  const cgroupsBefore = machineCgroups();
  const { madeMountPoints } = await prepareLibvirt(layout);
  const sup = new Supervisor(paths);
  const name = `osk-lv-${randomBytes(3).toString('hex')}`;
  let guest: PidRecord | undefined;
  t.after(async () => {
    // The guest first: libvirt detaches QEMU from the daemons' process groups.
    await virsh(layout, ['destroy', name]);
    await virsh(layout, ['undefine', name]);
    if (guest && isAlive(guest)) process.kill(guest.pid, 'SIGKILL');
    await sup.stop('libvirtd');
    await sup.stop('virtlogd');
    sup.abandon();
    await removeMountPoints(madeMountPoints);
    await rm(root, { recursive: true, force: true });
  });
  const took = await startDaemons(sup, layout, paths.log);
  // A mount point the daemons' namespaces use is never removed (here: /run/libvirt, which no
  // libvirtd had made on this host before).
  await removeMountPoints(madeMountPoints);
  for (const d of madeMountPoints) assert.ok(existsSync(d), `${d} is kept while the daemons mount over it`);

  const vm = join(root, 'vm');
  await mkdir(vm, { recursive: true, mode: 0o700 });
  const disk = join(vm, 'disk.qcow2');
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', image.disk, disk]);
  const consoleLog = join(vm, 'console.log');
  const xml = join(vm, 'domain.xml');
  await writeFile(xml, domainXml({ name, disk, configDrive: await configDrive(vm, name), consoleLog }));
  const defined = await virsh(layout, ['define', xml]);
  assert.equal(defined.code, 0, defined.out);
  const started = Date.now();
  const start = await virsh(layout, ['start', name]);
  assert.equal(start.code, 0, `${start.out}\nlibvirtd.log:\n${await logTail(join(paths.log, 'libvirtd.log'))}`);
  const pid = Number((await readFile(join(layout.run, 'qemu', `${name}.pid`), 'utf8')).trim());
  guest = { pid, startTime: startTimeOf(pid) ?? 0, hash: '', command: [], env: {}, log: consoleLog, startedAt: '' };

  const deadline = started + 300_000;
  const md = await waitForConsole(consoleLog, /osk-guest: metadata from (\S+): hostname (\S+),/, guest, deadline);
  assert.deepEqual(md.slice(1), ['config-drive:/dev/sr0', name], 'the host name comes from the config drive');
  const ready = await waitForConsole(
    consoleLog,
    /osk-guest: ready hostname=(\S+) address=(\S+) .*uptime=(\S+)s/,
    guest,
    deadline,
  );
  const readySeconds = (Date.now() - started) / 1000;
  assert.deepEqual(ready.slice(1, 3), [name, '10.0.2.15']);
  t.diagnostic(
    `daemons answered after ${took.join(', ')}; guest ready ${readySeconds.toFixed(1)} s after virsh start (TCG; guest uptime ${ready[3]} s); host mount points made: ${madeMountPoints.join(', ') || 'none'}`,
  );

  // QEMU's log, written by virtlogd into the cloud's log directory: the guest ran under TCG.
  const qemuLog = await readFile(join(layout.log, 'qemu', `${name}.log`), 'utf8');
  assert.match(qemuLog, /-accel tcg/);
  assert.ok(existsSync(join(layout.etc, 'qemu', `${name}.xml`)), "the domain is kept in the cloud's /etc/libvirt");
  assert.ok(!existsSync(join('/etc/libvirt/qemu', `${name}.xml`)), "the host's /etc/libvirt is never written");

  assert.equal((await virsh(layout, ['destroy', name])).code, 0);
  assert.equal((await virsh(layout, ['undefine', name])).code, 0);
  const left = await virsh(layout, ['list', '--all', '--name']);
  assert.equal(left.out.trim(), '', 'no domain is left');
  for (let i = 0; i < 50 && isAlive(guest); i++) await sleep(100);
  assert.ok(!isAlive(guest), 'QEMU is gone');
  for (const id of ['libvirtd', 'virtlogd']) {
    const pid = sup.status().processes.find((p) => p.id === id)?.pid ?? 0;
    const daemon = { pid, startTime: startTimeOf(pid) ?? 0 };
    assert.ok(isAlive(daemon), `${id} runs until it is stopped`);
    assert.equal((await sup.stop(id))?.how, 'stopped', `${id} stops on SIGTERM`);
    assert.ok(!isAlive(daemon), `${id} (PID ${pid}) is gone`);
  }
  await removeMountPoints(madeMountPoints);
  for (const d of madeMountPoints) assert.ok(!existsSync(d), `${d}, made for the test, is removed`);
  assert.deepEqual(machineCgroups(), cgroupsBefore, 'libvirt made no cgroups on the host');
  assert.equal(await sha256(image.disk), imageSum, 'the cached guest image is unchanged');
});

test("the config is libvirt's syntax with the state directory's paths; a path it cannot quote is refused", () => {
  const layout = libvirtLayout(statePaths('t', '/srv/osk state/t&1'));
  assert.equal(layout.uri, 'qemu+unix:///system?socket=/srv/osk%20state/t%261/run/libvirt/libvirt-sock');
  assert.match(
    libvirtConfigFiles(layout).get(layout.config.libvirtd)!,
    /^unix_sock_dir = "\/srv\/osk state\/t&1\/run\/libvirt"$/m,
  );
  const [virtlogd, libvirtd] = libvirtPrograms(layout);
  const script = libvirtd!.command[7]!;
  assert.deepEqual(libvirtd!.command.slice(0, 9), [
    ...['unshare', '--mount', '--propagation', 'slave', '--', 'sh', '-c', script, 'osk-libvirt-mounts'],
  ]);
  const elsewhere = libvirtPrograms(libvirtLayout(statePaths('u', '/var/tmp/other')));
  assert.deepEqual(
    [virtlogd!.command[7], elsewhere[0]!.command[7], elsewhere[1]!.command[7]],
    [script, script, script],
    'one constant script: the paths are only its arguments',
  );
  assert.deepEqual(libvirtd!.command.slice(-5), [
    'libvirtd',
    '-f',
    layout.config.libvirtd,
    '-p',
    `${layout.run}/libvirtd.pid`,
  ]);
  assert.ok(libvirtd!.command.includes('/srv/osk state/t&1/etc/libvirt'));
  assert.throws(() => libvirtConfigFiles(libvirtLayout(statePaths('t', '/srv/a"b'))), /cannot hold quotes/);
  assert.throws(() => libvirtConfigFiles(libvirtLayout(statePaths('t', '/srv/a\nb'))), /control characters/);
});
