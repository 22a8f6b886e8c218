/**
 * Writes the guest's disk (disk.ts says its shape): a raw file with SYSLINUX's MBR and the
 * partition table, a FAT16 file system made in place at the partition's offset (mkfs.fat
 * --offset), the files copied in with mtools, SYSLINUX installed with its mtools installer, then
 * converted to qcow2 (unwritten space takes no room). Argument lists only.
 */
import { open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../run.js';
import { diskLayout, masterBootRecord, SECTOR, syslinuxConfig } from './disk.js';

/** Debian's syslinux-common: the MBR boot code that starts the active partition. */
export const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';

/** mtools refuses a FAT whose geometry it finds odd; these images have no geometry to speak of. */
const MTOOLS_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', MTOOLS_SKIP_CHECK: '1', LANG: 'C.UTF-8' };

export async function writeBootDisk(work: string, files: { kernel: string; initrd: string }): Promise<string> {
  const sizes = await Promise.all([files.kernel, files.initrd].map(async (f) => (await readFile(f)).length));
  const layout = diskLayout(sizes);
  const raw = join(work, 'disk.raw');
  const config = join(work, 'syslinux.cfg');
  const handle = await open(raw, 'w');
  try {
    await handle.truncate(layout.bytes);
    await handle.write(masterBootRecord((await readFile(SYSLINUX_MBR)).subarray(0, 440), layout), 0, SECTOR, 0);
  } finally {
    await handle.close();
  }
  const what = 'the guest disk';
  const offset = String(layout.partitionStart * SECTOR);
  await run(
    [
      'mkfs.fat',
      '-F',
      '16',
      '-n',
      'OSKGUEST',
      '-i',
      '6f736b31',
      '-h',
      String(layout.partitionStart),
      '--offset',
      String(layout.partitionStart),
      raw,
      String((layout.partitionSectors * SECTOR) / 1024),
    ],
    { env: MTOOLS_ENV, what: `mkfs.fat of ${what}` },
  );
  await writeFile(config, syslinuxConfig('vmlinuz', 'initrd.img'));
  const image = `${raw}@@${offset}`;
  for (const [from, to] of [
    [files.kernel, 'vmlinuz'],
    [files.initrd, 'initrd.img'],
    [config, 'syslinux.cfg'],
  ] as const)
    await run(['mcopy', '-i', image, from, `::/${to}`], { env: MTOOLS_ENV, what: `mcopy ${to} to ${what}` });
  await run(['syslinux', '--offset', offset, '--install', raw], { env: MTOOLS_ENV, what: `syslinux on ${what}` });
  const qcow2 = join(work, 'disk.qcow2');
  await run(['qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2], { what: `qemu-img convert of ${what}` });
  await rm(raw, { force: true });
  await rm(config, { force: true });
  return qcow2;
}
