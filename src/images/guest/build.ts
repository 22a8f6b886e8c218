/**
 * The guest image: a small disk Nova boots (BIOS → SYSLINUX → Debian's cloud kernel → an
 * initramfs of busybox and dropbear) built from Debian 12's packages, once, into
 *   ${OSK_CACHE_DIR:-~/.cache/osk}/guest/<key>/  disk.qcow2, vmlinuz, initrd.img, manifest.json
 * where the key is a hash of the package versions apt resolves now and of everything this build
 * writes (recipe number, scripts, modules, kernel arguments). Each call asks apt what the
 * versions are now (seconds), and builds only when that key is not there yet. One build at a
 * time: a second caller waits for the lock and then finds the image made. An image is moved
 * into place whole (rename), so a reader never sees half of one.
 */
import { copyFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { OskError, ExitCode } from '../../errors.js';
import type { Reporter } from '../../reporter.js';
import { contentId, lockDir, oskCacheDir } from '../cache.js';
import { checkTools, hostMirrors, type Mirrors } from '../host.js';
import { run } from '../run.js';
import { aptUpdate, download, privateApt, resolvePackages } from './apt.js';
import { SYSLINUX_MBR, writeBootDisk } from './boot-disk.js';
import { newcArchive } from './cpio.js';
import { KERNEL_ARGS } from './disk.js';
import { initramfsEntries } from './initramfs.js';
import {
  GUEST_ARCH,
  GUEST_MODULES,
  GUEST_PACKAGES,
  GUEST_PROGRAMS,
  GUEST_RECIPE,
  GUEST_SUITE,
  NOT_FOLLOWED,
} from './plan.js';
import { ETC_FILES, SCRIPTS } from './scripts.js';

export interface GuestImage {
  dir: string;
  /** The disk Nova boots (Glance: disk_format qcow2). */
  disk: string;
  /** The kernel and initramfs inside it, for a direct boot (-kernel/-initrd: the hypervisor probe). */
  kernel: string;
  initrd: string;
  key: string;
  kernelVersion: string;
  /** name=version of every package it is made of. */
  packages: string[];
  bytes: { disk: number; kernel: number; initrd: number };
  /** False when it came from the cache. */
  built: boolean;
  /** Seconds this call took (the build, or the check of the versions). */
  seconds: number;
}

interface Manifest {
  key: string;
  kernelVersion: string;
  packages: string[];
  builtAt: string;
  buildSeconds: number;
}

const TOOLS = ['apt-get', 'apt-cache', 'dpkg-deb', 'mkfs.fat', 'mcopy', 'syslinux', 'qemu-img'] as const;

export interface GuestOptions {
  env?: NodeJS.ProcessEnv;
  reporter?: Reporter;
  mirrors?: Mirrors;
  /** How long to wait for another build holding the lock (default 30 min). */
  lockWaitMs?: number;
}

/** Where guest images are kept (and the hypervisor probe's result, beside the kernel it boots). */
export function guestCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return join(oskCacheDir(env), 'guest');
}

async function checkGuestHost(): Promise<void> {
  await checkTools(TOOLS, 'the guest image build');
  if (!existsSync(SYSLINUX_MBR))
    throw new OskError(`the guest image build needs ${SYSLINUX_MBR}, which is not installed`, {
      exitCode: ExitCode.invalidInput,
      hint: 'install the Debian package: apt-get install --no-install-recommends syslinux-common',
    });
}

async function imageOf(dir: string, built: boolean, started: number): Promise<GuestImage> {
  const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest;
  const path = (f: string) => join(dir, f);
  const size = async (f: string) => (await stat(path(f))).size;
  return {
    dir,
    disk: path('disk.qcow2'),
    kernel: path('vmlinuz'),
    initrd: path('initrd.img'),
    key: m.key,
    kernelVersion: m.kernelVersion,
    packages: m.packages,
    bytes: { disk: await size('disk.qcow2'), kernel: await size('vmlinuz'), initrd: await size('initrd.img') },
    built,
    seconds: (Date.now() - started) / 1000,
  };
}

/** Extracts the packages, writes kernel, initramfs and disk into `work`. Returns the kernel's version. */
async function buildInto(work: string, debs: readonly string[], say: (l: string) => void): Promise<string> {
  const tree = join(work, 'tree');
  await mkdir(tree, { recursive: true });
  for (const deb of debs) await run(['dpkg-deb', '-x', deb, tree], { what: `dpkg-deb -x ${deb}` });
  const kernels = await readdir(join(tree, 'lib/modules')).catch(() => [] as string[]);
  if (kernels.length !== 1) throw new OskError(`the guest's packages hold ${kernels.length} kernels, not one`);
  const kernelVersion = kernels[0]!;
  say(`initramfs for ${kernelVersion}`);
  const initrd = gzipSync(newcArchive(await initramfsEntries(tree, kernelVersion)), { level: 9 });
  await writeFile(join(work, 'initrd.img'), initrd);
  await copyFile(join(tree, 'boot', `vmlinuz-${kernelVersion}`), join(work, 'vmlinuz'));
  await rm(tree, { recursive: true, force: true });
  say('disk');
  await writeBootDisk(work, { kernel: join(work, 'vmlinuz'), initrd: join(work, 'initrd.img') });
  return kernelVersion;
}

/** The guest image for the packages apt has now: from the cache, or built. */
export async function ensureGuestImage(opts: GuestOptions = {}): Promise<GuestImage> {
  const started = Date.now();
  const step = 'guest image';
  const say = (l: string) => opts.reporter?.waiting(step, l);
  await checkGuestHost();
  const root = guestCacheDir(opts.env);
  opts.reporter?.begin(step, `Debian ${GUEST_SUITE}: ${GUEST_PACKAGES.join(', ')}`);
  const unlock = await lockDir(root, 'another guest image build', opts.lockWaitMs ?? 30 * 60_000);
  try {
    // Holding the lock, no other build is running: a work directory left is a killed build's.
    for (const f of await readdir(root))
      if (f.startsWith('work-')) await rm(join(root, f), { recursive: true, force: true });
    const apt = await privateApt(join(root, 'apt'), opts.mirrors ?? (await hostMirrors()), GUEST_SUITE, GUEST_ARCH);
    await aptUpdate(apt, { onLine: say });
    const packages = await resolvePackages(apt, GUEST_PACKAGES, NOT_FOLLOWED);
    const versions = packages.map((p) => `${p.name}=${p.version}`);
    const recipe = { GUEST_RECIPE, GUEST_MODULES, GUEST_PROGRAMS, ETC_FILES, SCRIPTS, KERNEL_ARGS };
    const key = contentId({ recipe, versions });
    const dir = join(root, key);
    if (existsSync(join(dir, 'manifest.json'))) {
      opts.reporter?.done(step, 'unchanged', key);
      return await imageOf(dir, false, started);
    }
    const work = join(root, `work-${process.pid}`);
    await rm(work, { recursive: true, force: true });
    await mkdir(work, { recursive: true });
    try {
      say(`downloading ${packages.length} packages`);
      const kernelVersion = await buildInto(work, await download(apt, packages, join(root, 'debs')), say);
      const manifest: Manifest = {
        key,
        kernelVersion,
        packages: versions,
        builtAt: new Date().toISOString(),
        buildSeconds: (Date.now() - started) / 1000,
      };
      await writeFile(join(work, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
      await rm(dir, { recursive: true, force: true });
      await rename(work, dir);
    } catch (e) {
      await rm(work, { recursive: true, force: true });
      throw e;
    }
    opts.reporter?.done(step, 'completed', key);
    return await imageOf(dir, true, started);
  } catch (e) {
    opts.reporter?.fail(step, (e as Error).message.split('\n')[0]!);
    throw e;
  } finally {
    await unlock();
  }
}
