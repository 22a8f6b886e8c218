/**
 * The guest image's pure parts: apt's records and the package closure, the module load order,
 * the ELF reader, the cpio archive (read back by the host's cpio when there is one), the MBR, and
 * the metadata reader of the guest, run by busybox's awk (the guest's) or the host's awk on
 * well-formed and hostile meta_data.json.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { newcArchive } from './cpio.js';
import { diskLayout, masterBootRecord, syslinuxConfig } from './disk.js';
import { dynamicNeeds } from './elf.js';
import { closure, debFileName, parseStanzas } from './packages.js';
import { moduleLoadOrder, moduleName } from './plan.js';
import { METADATA_AWK } from './scripts.js';

const SHOW = `Package: dropbear-bin
Version: 2022.83-1+deb12u3
Architecture: amd64
Depends: libc6 (>= 2.34), libcrypt1 (>= 1:4.1.0), zlib1g (>= 1:1.1.4)

Package: libc6
Version: 2.36-9+deb12u14
Architecture: amd64
Depends: libgcc-s1
Breaks: hurd (<< 1:0.9.git20170910-1)

Package: libc6
Version: 2.36-9+deb12u1
Architecture: amd64

Package: linux-image-6.1.0-57-cloud-amd64
Version: 6.1.192-3
Architecture: amd64
Depends: kmod, linux-base (>= 4.3~),
 initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool
`;

test("apt's records: the candidate of each package, its dependencies' first alternatives", () => {
  const s = parseStanzas(SHOW);
  assert.deepEqual(
    s.map((x) => [x.name, x.version, x.depends.join(' ')]),
    [
      ['dropbear-bin', '2022.83-1+deb12u3', 'libc6 libcrypt1 zlib1g'],
      ['libc6', '2.36-9+deb12u14', 'libgcc-s1'],
      ['linux-image-6.1.0-57-cloud-amd64', '6.1.192-3', 'kmod linux-base initramfs-tools'],
    ],
  );
  assert.equal(
    debFileName({ name: 'zlib1g', version: '1:1.2.13', arch: 'amd64', depends: [] }),
    'zlib1g_1%3a1.2.13_amd64.deb',
  );
  const known = new Map(s.map((x) => [x.name, x]));
  const c = closure(['dropbear-bin', 'linux-image-6.1.0-57-cloud-amd64'], known, [
    'kmod',
    'linux-base',
    'initramfs-tools',
  ]);
  assert.deepEqual(
    c.packages.map((p) => p.name),
    ['dropbear-bin', 'libc6', 'linux-image-6.1.0-57-cloud-amd64'],
  );
  assert.deepEqual(c.missing, ['libcrypt1', 'zlib1g', 'libgcc-s1'], 'what apt must be asked about next');
});

test('modules load after what they depend on; built-in ones are not loaded; unknown ones are missing', () => {
  const infos: Record<string, { path: string; depends: string[] } | 'builtin'> = {
    virtio_net: { path: 'k/virtio_net.ko', depends: ['net_failover', 'virtio'] },
    net_failover: { path: 'k/net_failover.ko', depends: ['failover'] },
    failover: { path: 'k/failover.ko', depends: [] },
    virtio: 'builtin',
    sr_mod: { path: 'k/sr_mod.ko', depends: ['cdrom', 'scsi_mod'] },
    cdrom: { path: 'k/cdrom.ko', depends: [] },
    scsi_mod: { path: 'k/scsi_mod.ko', depends: [] },
  };
  const r = moduleLoadOrder(['virtio_net', 'sr_mod', 'ahci', 'net-failover'], (n) => infos[n]);
  assert.deepEqual(r.order, [
    'k/failover.ko',
    'k/net_failover.ko',
    'k/virtio_net.ko',
    'k/cdrom.ko',
    'k/scsi_mod.ko',
    'k/sr_mod.ko',
  ]);
  assert.deepEqual(r.missing, ['ahci']);
  assert.equal(moduleName('kernel/drivers/net/net-failover.ko.xz'), 'net_failover');
});

test("the ELF reader finds a program's loader and libraries (this host's own ls)", async () => {
  const ls = await readFile('/bin/ls');
  const { interpreter, needed } = dynamicNeeds(ls, '/bin/ls');
  assert.match(interpreter ?? '', /^\/lib(64)?\/ld-linux/);
  assert.ok(needed.includes('libc.so.6'), needed.join(' '));
  assert.throws(() => dynamicNeeds(Buffer.from('#!/bin/sh\n'.padEnd(80)), 'a script'), /not a 64-bit/);
});

test('the initramfs archive: newc, parents first, root-owned, read back by cpio', async (t) => {
  const archive = newcArchive([
    { path: 'etc/osk/boot', kind: 'file', mode: 0o755, data: Buffer.from('#!/bin/sh\n') },
    { path: 'init', kind: 'link', target: '/bin/busybox' },
    { path: 'dev/console', kind: 'char', major: 5, minor: 1, mode: 0o600 },
  ]);
  assert.equal(archive.subarray(0, 6).toString(), '070701');
  assert.equal(archive.length % 4, 0);
  assert.throws(() => newcArchive([{ path: '../x', kind: 'dir' }]), /bad path/);
  assert.throws(
    () =>
      newcArchive([
        { path: 'a', kind: 'dir' },
        { path: '/a/', kind: 'dir' },
      ]),
    /twice/,
  );
  const cpio = spawnSync('cpio', ['-itv', '--quiet'], { input: archive });
  if (cpio.error) return t.skip('no cpio on this host to read it back');
  const listing = cpio.stdout.toString();
  assert.deepEqual(
    listing
      .trim()
      .split('\n')
      .map((l) => l.split(/\s+/).pop()),
    ['dev', 'dev/console', 'etc', 'etc/osk', 'etc/osk/boot', '/bin/busybox'],
  );
  assert.match(listing, /^crw------- +1 root +root +5, +1 .* dev\/console$/m);
  assert.match(listing, /^-rwxr-xr-x +1 root +root +10 .* etc\/osk\/boot$/m);
});

test('the disk: an active FAT16 partition at 1 MiB after the boot code, sized for its files', () => {
  const layout = diskLayout([14_190_528, 3_948_635]);
  assert.deepEqual(layout, { bytes: (1 + 22) * 2 ** 20, partitionStart: 2048, partitionSectors: 22 * 2048 });
  assert.equal(diskLayout([1000]).partitionSectors, 16 * 2048, 'FAT16 needs 16 MiB at least');
  const mbr = masterBootRecord(Buffer.alloc(440, 0xaa), layout);
  assert.equal(mbr[439], 0xaa);
  assert.equal(mbr[446], 0x80, 'active');
  assert.equal(mbr[450], 0x0e, 'FAT16 LBA');
  assert.equal(mbr.readUInt32LE(454), 2048);
  assert.equal(mbr.readUInt32LE(458), 22 * 2048);
  assert.deepEqual([mbr[510], mbr[511]], [0x55, 0xaa]);
  assert.throws(() => masterBootRecord(Buffer.alloc(446), layout), /more than 440/);
  assert.match(syslinuxConfig('vmlinuz', 'initrd.img'), /^ {2}APPEND console=tty0 console=ttyS0,115200n8 quiet$/m);
});

/** The guest's awk is busybox's; the host's awk reads the same POSIX script. */
function awks(): string[][] {
  const out: string[][] = [['awk']];
  if (spawnSync('busybox', ['true']).status === 0) out.unshift(['busybox', 'awk']);
  return out;
}

test("the guest's metadata reader: host name and keys out of meta_data.json, one line each, whatever the values", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'osk-md-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const read = async (json: string) => {
    await writeFile(join(dir, 'md.json'), json);
    await writeFile(join(dir, 'metadata.awk'), METADATA_AWK);
    return awks().map(([cmd, ...args]) =>
      execFileSync(cmd!, [...args, '-f', join(dir, 'metadata.awk'), join(dir, 'md.json')]).toString(),
    );
  };
  const nova = JSON.stringify({
    uuid: 'u',
    meta: { hostname: 'not this one', role: 'x' },
    public_keys: { k1: 'ssh-ed25519 AAAA k1@x', k2: 'ssh-rsa BBBB k2@y' },
    keys: [{ name: 'k1', type: 'ssh', data: 'ssh-ed25519 AAAA k1@x' }],
    hostname: 'vm1.novalocal',
    name: 'vm1',
    devices: [],
  });
  for (const out of await read(nova))
    assert.equal(out, 'key ssh-ed25519 AAAA k1@x\nkey ssh-rsa BBBB k2@y\nhostname vm1.novalocal\n');
  const hostile = JSON.stringify({
    hostname: 'a"b\\c\nkey ssh-evil\u0001$(reboot)`x`',
    public_keys: { k: 'ssh-ed25519 C\r\nhostname evil' },
  });
  for (const out of await read(hostile)) {
    const lines = out.split('\n').filter(Boolean);
    assert.deepEqual(
      lines.map((l) => l.split(' ')[0]),
      ['hostname', 'key'],
      'an escaped line break never starts a line of its own',
    );
    assert.equal(lines[0], 'hostname a"b\\c key ssh-evil?$(reboot)`x`');
  }
});
