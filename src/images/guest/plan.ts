/**
 * What the guest image is made of. A kernel and an initramfs, no root file system: the whole
 * guest is busybox (init, shell, udhcpc, wget, awk, mount) and dropbear (SSH) in RAM, about 3 MB
 * compressed. A debootstrap root would be ~150 MB on disk and boot systemd, which under QEMU's
 * TCG (no KVM) takes minutes where this takes seconds; the image tests a cloud's data plane
 * (DHCP, metadata, SSH, volumes), it is not a distribution. Pure: lists and load order.
 */

/** Changes whenever what the build does changes, so that old images are not reused. */
export const GUEST_RECIPE = 1;
export const GUEST_SUITE = 'bookworm';
export const GUEST_ARCH = 'amd64';

/** Debian's cloud kernel: virtio, ATA and ISO 9660 as modules, no hardware drivers of real machines. */
export const GUEST_PACKAGES = ['linux-image-cloud-amd64', 'busybox-static', 'dropbear-bin'] as const;

/**
 * Dependencies not followed: the kernel package's install-time tools. No maintainer script runs;
 * osk writes the initramfs itself.
 */
export const NOT_FOLLOWED = ['kmod', 'linux-base', 'initramfs-tools', 'linux-initramfs-tool'] as const;

/** The programs copied into the initramfs, with the shared libraries they load. */
export const GUEST_PROGRAMS = ['bin/busybox', 'usr/sbin/dropbear', 'usr/bin/dropbearkey'] as const;

/**
 * The drivers the guest loads, for the devices Nova's libvirt driver gives an instance on x86:
 * virtio disk, network, SCSI, RNG (entropy for the SSH host key) and console; the config drive on
 * the IDE CD-ROM of the default machine type, pc (ISO 9660), or on a disk (vfat). Each must be in
 * the kernel package, as a module or built in. The cloud kernel has no AHCI: on a q35 machine
 * (SATA CD-ROM) the guest reads the metadata service instead of the config drive.
 */
export const GUEST_MODULES = [
  'virtio_pci',
  'virtio_blk',
  'virtio_net',
  'virtio_scsi',
  'virtio_rng',
  'virtio_console',
  'ata_piix',
  'sd_mod',
  'sr_mod',
  'isofs',
  'vfat',
  // vfat's default character set on this kernel (FAT_DEFAULT_IOCHARSET), or it mounts nothing.
  'nls_ascii',
  'nls_utf8',
  'nls_cp437',
  'nls_iso8859_1',
] as const;

/** A module name as the kernel compares them: dashes and underscores are the same. */
export function moduleName(fileOrName: string): string {
  return (fileOrName.split('/').pop() ?? '').replace(/\.ko(\.(xz|zst|gz))?$/, '').replaceAll('-', '_');
}

export type ModuleInfo = { path: string; depends: string[] } | 'builtin' | undefined;

/**
 * The modules to load, dependencies first, as paths under lib/modules/<version>/; the wanted
 * ones that are neither a module nor built in are `missing`.
 */
export function moduleLoadOrder(
  wanted: readonly string[],
  lookup: (name: string) => ModuleInfo,
): { order: string[]; missing: string[] } {
  const order: string[] = [];
  const missing: string[] = [];
  const visited = new Set<string>();
  const visit = (name: string, chain: string[]) => {
    if (visited.has(name)) return;
    if (chain.includes(name)) throw new Error(`module dependency cycle: ${[...chain, name].join(' → ')}`);
    const info = lookup(name);
    if (info === undefined) missing.push(name);
    if (info === undefined || info === 'builtin') return void visited.add(name);
    for (const d of info.depends) visit(moduleName(d), [...chain, name]);
    visited.add(name);
    order.push(info.path);
  };
  for (const w of wanted) visit(moduleName(w), []);
  return { order, missing };
}

/** Where the dynamic loader looks on Debian amd64 (multiarch), in its order. */
export const LIBRARY_DIRS = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu', 'lib64', 'lib', 'usr/lib'] as const;
