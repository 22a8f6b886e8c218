/**
 * The guest's disk, the way Nova boots it (as a disk, through the BIOS): an MBR with SYSLINUX's
 * boot code and one active FAT16 partition holding SYSLINUX, the kernel, the initramfs and
 * syslinux.cfg. FAT because mtools, mkfs.fat and syslinux write it inside an image file at an
 * offset: no mount, loop device or device-mapper on the build host, and no root. Pure: sizes,
 * the partition table and the boot configuration.
 */

export const SECTOR = 512;
/** The partition starts at 1 MiB, as every partitioning tool aligns it. */
const PARTITION_START = 2048;
const MIB = 1 << 20;
/** FAT16 needs at least 4085 clusters: mkfs.fat refuses smaller partitions. */
const MIN_PARTITION_MIB = 16;
/** FAT16 LBA, the type SYSLINUX's mbr.bin boots from like any other when it is active. */
const PARTITION_TYPE = 0x0e;

export interface DiskLayout {
  /** Bytes of the whole raw disk. */
  bytes: number;
  partitionStart: number;
  partitionSectors: number;
}

/** A partition big enough for the files with 4 MiB to spare (FAT's tables, SYSLINUX), in whole MiB. */
export function diskLayout(fileBytes: readonly number[]): DiskLayout {
  const needed = fileBytes.reduce((a, b) => a + b, 0);
  const mib = Math.max(MIN_PARTITION_MIB, Math.ceil(needed / MIB) + 4);
  const partitionSectors = (mib * MIB) / SECTOR;
  return { bytes: PARTITION_START * SECTOR + mib * MIB, partitionStart: PARTITION_START, partitionSectors };
}

/**
 * The first sector: SYSLINUX's 440 bytes of boot code, a disk signature, one active partition
 * (CHS fields at their LBA-only maximum, as for any disk past 8 GiB) and the boot signature.
 */
export function masterBootRecord(bootCode: Buffer, layout: DiskLayout, signature = 0x6f736b31): Buffer {
  if (bootCode.length > 440) throw new Error(`the MBR boot code has ${bootCode.length} bytes, more than 440`);
  const mbr = Buffer.alloc(SECTOR);
  bootCode.copy(mbr, 0);
  mbr.writeUInt32LE(signature, 440);
  const entry = 446;
  mbr[entry] = 0x80;
  mbr.set([0xfe, 0xff, 0xff], entry + 1);
  mbr[entry + 4] = PARTITION_TYPE;
  mbr.set([0xfe, 0xff, 0xff], entry + 5);
  mbr.writeUInt32LE(layout.partitionStart, entry + 8);
  mbr.writeUInt32LE(layout.partitionSectors, entry + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

/**
 * The kernel's command line. The last console= is /dev/console, where the guest's own lines go:
 * the serial port, which Nova's libvirt driver writes to the instance's console.log (and
 * `openstack console log show` reads); tty0 keeps the VNC console useful. `quiet` because every
 * kernel line costs time on an emulated serial port under TCG.
 */
export const KERNEL_ARGS = 'console=tty0 console=ttyS0,115200n8 quiet';

/** SYSLINUX boots the one entry at once: no prompt, no menu, no wait. */
export function syslinuxConfig(kernel: string, initrd: string): string {
  return [
    'DEFAULT osk',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL osk',
    `  LINUX /${kernel}`,
    `  INITRD /${initrd}`,
    `  APPEND ${KERNEL_ARGS}`,
    '',
  ].join('\n');
}
