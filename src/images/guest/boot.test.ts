/**
 * The proof of the guest image: built from Debian's packages (then found in the cache), booted
 * from its disk the way Nova boots an instance (BIOS, no -kernel) under QEMU's TCG, with a config
 * drive made as Nova makes it (ISO 9660 labelled config-2, openstack/latest/meta_data.json and
 * user_data) and user-mode networking with SSH forwarded to a free port on 127.0.0.1. Everything
 * is read from the serial console log, as from Nova's console.log: the DHCP lease, the host name
 * and keys from the metadata, the SSH host key; then SSH with the injected key, checked against
 * that host key, must answer. No root needed; QEMU is killed by its PID.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { missingTools } from '../host.js';
import { ensureGuestImage } from './build.js';

const BUILD_TOOLS = ['apt-get', 'apt-cache', 'dpkg-deb', 'mkfs.fat', 'mcopy', 'syslinux', 'qemu-img'] as const;
const TEST_TOOLS = ['qemu-system-x86_64', 'genisoimage', 'ssh', 'ssh-keygen'];

function onPath(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', tool], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function skipReason(): Promise<string | undefined> {
  const missing = [...(await missingTools(BUILD_TOOLS)), ...TEST_TOOLS.filter((t) => !onPath(t))];
  if (missing.length)
    return `needs ${missing.join(', ')} (bash scripts/install-test-tools.sh installs qemu-system-x86, qemu-utils, syslinux, mtools, dosfstools, genisoimage)`;
  return undefined;
}

/** A port nothing listens on now, on loopback (the kernel picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the console log until `pattern` shows, the deadline passes or QEMU is gone. */
async function waitFor(log: string, pattern: RegExp, qemu: ChildProcess, deadline: number): Promise<RegExpExecArray> {
  for (;;) {
    // The serial line ends lines with CR LF.
    const text = (await readFile(log, 'utf8').catch(() => '')).replaceAll('\r', '');
    const m = pattern.exec(text);
    if (m) return m;
    if (qemu.exitCode !== null || Date.now() > deadline)
      assert.fail(`no ${pattern} on the console (qemu exit ${qemu.exitCode}); console:\n${text}`);
    await sleep(200);
  }
}

test('the guest image boots from its disk under TCG: DHCP, host name and keys from a config drive, SSH', async (t) => {
  const reason = await skipReason();
  if (reason) return t.skip(reason);
  const cold = await ensureGuestImage();
  const warm = await ensureGuestImage();
  assert.equal(warm.built, false, 'the second call finds the image in the cache');
  assert.equal(warm.key, cold.key);
  t.diagnostic(
    `image ${warm.key}: ${cold.built ? `built in ${cold.seconds.toFixed(1)} s` : 'cached'}, checked again in ${warm.seconds.toFixed(1)} s; ` +
      `qcow2 ${(warm.bytes.disk / 2 ** 20).toFixed(1)} MiB (kernel ${(warm.bytes.kernel / 2 ** 20).toFixed(1)} MiB, initramfs ${(warm.bytes.initrd / 2 ** 20).toFixed(1)} MiB)`,
  );

  const dir = await mkdtemp(join(tmpdir(), 'osk-guest-'));
  let qemu: ChildProcess | undefined;
  t.after(async () => {
    if (qemu?.pid !== undefined && qemu.exitCode === null) process.kill(qemu.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const key = join(dir, 'id_ed25519');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'osk-test', '-f', key]);
  const name = `osk-proof-${randomBytes(3).toString('hex')}`;
  const drive = join(dir, 'config-drive', 'openstack', 'latest');
  await mkdir(drive, { recursive: true });
  const metadata = {
    uuid: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
    name,
    hostname: `${name}.novalocal`,
    public_keys: { mykey: (await readFile(`${key}.pub`, 'utf8')).trim() },
    launch_index: 0,
    availability_zone: 'nova',
  };
  await writeFile(join(drive, 'meta_data.json'), JSON.stringify(metadata));
  await writeFile(join(drive, 'user_data'), '#!/bin/sh\necho "user data ran as $(id -u)"\n');
  const iso = join(dir, 'config.iso');
  execFileSync('genisoimage', ['-quiet', '-o', iso, '-V', 'config-2', '-r', '-J', join(dir, 'config-drive')]);

  const port = await freePort();
  const log = join(dir, 'console.log');
  const started = Date.now();
  qemu = spawn(
    'qemu-system-x86_64',
    [
      ...['-accel', 'tcg', '-machine', 'pc', '-m', '256', '-smp', '1', '-display', 'none', '-no-reboot'],
      ...['-drive', `file=${warm.disk},if=virtio,format=qcow2,snapshot=on`],
      ...['-drive', `file=${iso},if=ide,media=cdrom,readonly=on`],
      ...['-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${port}-:22`, '-device', 'virtio-net-pci,netdev=n0'],
      ...['-serial', `file:${log}`, '-monitor', 'none'],
    ],
    { stdio: 'ignore' },
  );
  const deadline = started + 300_000;
  const at = () => ((Date.now() - started) / 1000).toFixed(1);
  const dhcp = await waitFor(log, /osk-guest: dhcp eth0 address (\S+)\/(\d+) router (\S+)/, qemu, deadline);
  const dhcpAt = at();
  assert.deepEqual(dhcp.slice(1), ['10.0.2.15', '24', '10.0.2.2'], "QEMU's user network hands out 10.0.2.15/24");
  const md = await waitFor(log, /osk-guest: metadata from (\S+): hostname (\S+), (\d+) ssh keys/, qemu, deadline);
  const metadataAt = at();
  assert.match(md[1]!, /^config-drive:\/dev\/sr0$/);
  assert.equal(md[2], name, 'the host name is the metadata hostname without its domain');
  assert.equal(md[3], '1');
  const ready = await waitFor(
    log,
    /osk-guest: ready hostname=(\S+) address=(\S+) ssh=22 .*uptime=(\S+)s/,
    qemu,
    deadline,
  );
  const readyAt = at();
  assert.equal(ready[1], name);
  assert.equal(ready[2], '10.0.2.15');
  const hostKey = (await waitFor(log, /-----BEGIN SSH HOST KEY KEYS-----\n(ssh-ed25519 \S+)/, qemu, deadline))[1]!;
  await waitFor(log, /osk-guest: user-data: user data ran as 0\n/, qemu, deadline);

  // SSH with the key from the metadata, trusting only the host key the console showed.
  const knownHosts = join(dir, 'known_hosts');
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostKey}\n`);
  const ssh = [
    ...['-i', key, '-p', String(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes'],
    ...['-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'ConnectTimeout=10', 'root@127.0.0.1'],
  ];
  let answer = '';
  for (let attempt = 0; !answer && Date.now() < deadline; attempt++) {
    try {
      answer = execFileSync('ssh', [...ssh, 'hostname; id -u'], { timeout: 30_000, stdio: 'pipe' }).toString();
    } catch (e) {
      if (attempt > 20) throw e;
      await sleep(1000);
    }
  }
  const sshAt = at();
  assert.equal(answer, `${name}\n0\n`);
  t.diagnostic(
    `boot under TCG from QEMU's start: DHCP lease at ${dhcpAt} s, metadata and host name at ${metadataAt} s, ready at ${readyAt} s (guest uptime ${ready[3]} s), SSH answered at ${sshAt} s`,
  );
});
