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
import { freePort } from '../../../test/support/net.js';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Polls the console log until `pattern` shows, the deadline passes or QEMU is gone; a line the
 * guest prints after the awaited one (`before`, its ready line by default) without it is a failure.
 */
async function waitFor(
  log: string,
  pattern: RegExp,
  qemu: ChildProcess,
  deadline: number,
  before: RegExp | undefined = /osk-guest: ready .*\n/,
): Promise<RegExpExecArray> {
  for (;;) {
    // The serial line ends lines with CR LF.
    const text = (await readFile(log, 'utf8').catch(() => '')).replaceAll('\r', '');
    const m = pattern.exec(text);
    if (m) return m;
    if (qemu.exitCode !== null || Date.now() > deadline || before?.test(text))
      assert.fail(`no ${pattern} on the console (qemu exit ${qemu.exitCode}); console:\n${text}`);
    await sleep(200);
  }
}

/**
 * QEMU as Nova's libvirt driver starts an instance on x86: machine pc, the image as a virtio disk
 * (snapshot=on: the cached image is never written), the config drive as an IDE CD-ROM, a virtio
 * NIC; user-mode networking with `netdev` options; the serial port into console.log.
 */
function startGuest(dir: string, disk: string, netdev: string, cdrom?: string) {
  const log = join(dir, 'console.log');
  const started = Date.now();
  const qemu = spawn(
    'qemu-system-x86_64',
    [
      ...['-accel', 'tcg', '-machine', 'pc', '-m', '256', '-smp', '1', '-display', 'none', '-no-reboot'],
      ...['-drive', `file=${disk},if=virtio,format=qcow2,snapshot=on`],
      ...(cdrom ? ['-drive', `file=${cdrom},if=ide,media=cdrom,readonly=on`] : []),
      ...['-netdev', `user,id=n0,${netdev}`, '-device', 'virtio-net-pci,netdev=n0'],
      ...['-serial', `file:${log}`, '-monitor', 'none'],
    ],
    { stdio: 'ignore' },
  );
  return { qemu, log, started };
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
  const { qemu: q, log, started } = startGuest(dir, warm.disk, `hostfwd=tcp:127.0.0.1:${port}-:22`, iso);
  qemu = q;
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
  await waitFor(log, /osk-guest: user-data: user data ran as 0\n/, qemu, deadline, /osk-guest: user-data: exited/);

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

/**
 * A metadata service for one connection on stdin/stdout, as QEMU's guestfwd=…-cmd: runs it: the
 * files of a directory under /openstack/latest/, 404 otherwise; each path asked is logged.
 */
const METADATA_SERVER = `import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = process.argv[2];
let request = '';
process.stdin.setEncoding('latin1').on('data', (d) => {
  request += d;
  if (!request.includes('\\r\\n\\r\\n')) return;
  const path = /^GET (\\S+) /.exec(request)?.[1] ?? '';
  appendFileSync(join(dir, 'requests.log'), path + '\\n');
  const file = join(dir, 'served', path.replace(/^\\/openstack\\/latest\\//, ''));
  const found = path.startsWith('/openstack/latest/') && !path.includes('..') && existsSync(file);
  const body = found ? readFileSync(file) : Buffer.from('404 Not Found\\n');
  process.stdout.write('HTTP/1.1 ' + (found ? '200 OK' : '404 Not Found') + '\\r\\nContent-Length: ' + body.length + '\\r\\nConnection: close\\r\\n\\r\\n');
  process.stdout.write(body, () => process.exit(0));
});
`;

test('without a config drive the guest reads the metadata service at 169.254.169.254', async (t) => {
  const reason = await skipReason();
  if (reason) return t.skip(reason);
  const image = await ensureGuestImage();
  const dir = await mkdtemp(join(tmpdir(), 'osk-guest-md-'));
  let qemu: ChildProcess | undefined;
  t.after(async () => {
    if (qemu?.pid !== undefined && qemu.exitCode === null) process.kill(qemu.pid, 'SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });
  const name = `osk-md-${randomBytes(3).toString('hex')}`;
  await mkdir(join(dir, 'served'), { recursive: true });
  const metadata = {
    uuid: 'u',
    name,
    hostname: `${name}.novalocal`,
    public_keys: { a: 'ssh-ed25519 AAAA a', b: 'ssh-ed25519 BBBB b' },
  };
  await writeFile(join(dir, 'served', 'meta_data.json'), JSON.stringify(metadata));
  const server = join(dir, 'metadata-server.mjs');
  await writeFile(server, METADATA_SERVER);
  // guestfwd only serves addresses inside the user network: the network is 169.254.169.0/24 here,
  // as the metadata address is on the link of a Neutron network with isolated metadata.
  const netdev = `net=169.254.169.0/24,host=169.254.169.2,dhcpstart=169.254.169.16,guestfwd=tcp:169.254.169.254:80-cmd:${process.execPath} ${server} ${dir}`;
  const booted = startGuest(dir, image.disk, netdev);
  qemu = booted.qemu;
  const { log, started } = booted;
  const deadline = started + 300_000;
  const dhcp = await waitFor(log, /osk-guest: dhcp eth0 address (\S+)\/(\d+) router (\S+)/, qemu, deadline);
  assert.deepEqual(dhcp.slice(1), ['169.254.169.16', '24', '169.254.169.2']);
  const md = await waitFor(log, /osk-guest: metadata from (\S+): hostname (\S+), (\d+) ssh keys/, qemu, deadline);
  assert.deepEqual(md.slice(1), ['metadata-service', name, '2']);
  await waitFor(
    log,
    new RegExp(`osk-guest: ready hostname=${name} address=169\\.254\\.169\\.16 ssh=22 metadata=metadata-service `),
    qemu,
    deadline,
  );
  const asked = (await readFile(join(dir, 'requests.log'), 'utf8')).split('\n').filter(Boolean);
  assert.deepEqual(asked, ['/openstack/latest/meta_data.json', '/openstack/latest/user_data']);
  t.diagnostic(`metadata service read, guest ready at ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
