/**
 * A Debian root file system, worked on with chroot: debootstrap, apt-get, the service account
 * with the catalog's uid, the links the catalog's paths need, and the check that every command
 * the pods start is there. Commands get values only as arguments: every script is a constant.
 */
import { copyFile, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { APT_INSTALL_OPTIONS } from '../apt-options.js';
import { OskError } from '../errors.js';
import { run, type RunOptions } from './run.js';

const CHROOT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

type Lines = Pick<RunOptions, 'onLine'>;

/** The minimal Debian of the shared base layer, with passwd (usermod, for the accounts). */
export async function debootstrap(dir: string, suite: string, mirror: string, opts: Lines): Promise<void> {
  await run(['debootstrap', '--variant=minbase', '--include=passwd', `--keyring=${KEYRING}`, suite, dir, mirror], {
    ...opts,
    what: `debootstrap of ${suite} from ${mirror}`,
  });
}

export function inRoot(root: string, argv: readonly string[], opts: RunOptions = {}) {
  return run(['chroot', root, ...argv], {
    ...opts,
    env: {
      PATH: CHROOT_PATH,
      HOME: '/root',
      LANG: 'C.UTF-8',
      DEBIAN_FRONTEND: 'noninteractive',
      DEBCONF_NONINTERACTIVE_SEEN: 'true',
    },
  });
}

/**
 * Runs `work` with the root ready for apt: the host's resolver, /proc, and a policy-rc.d that
 * keeps maintainer scripts from starting services (Debian's switch; an image starts nothing at
 * build time). All three are undone afterwards, also when the work fails, so no mount and no
 * build-time file ends up in a layer.
 */
export async function withChroot<T>(root: string, work: () => Promise<T>): Promise<T> {
  const policy = join(root, 'usr/sbin/policy-rc.d');
  const resolv = join(root, 'etc/resolv.conf');
  const proc = join(root, 'proc');
  await rm(resolv, { force: true });
  await copyFile('/etc/resolv.conf', resolv);
  await writeFile(policy, '#!/bin/sh\n# osk images build: no service starts while the image is built\nexit 101\n', {
    mode: 0o755,
  });
  await mkdir(proc, { recursive: true });
  await run(['mount', '-t', 'proc', 'proc', proc], { what: `mounting /proc in ${root}` });
  try {
    return await work();
  } finally {
    await run(['umount', proc], { what: `unmounting ${proc}` }).catch(() =>
      run(['umount', '--lazy', proc], { what: `unmounting ${proc}` }),
    );
    await rm(policy, { force: true });
    await rm(resolv, { force: true });
  }
}

export async function aptUpdate(root: string, opts: Lines): Promise<void> {
  await inRoot(root, ['apt-get', 'update', '-q'], { ...opts, what: 'apt-get update' });
}

/** Brings the root up to date with its suite's updates (a no-op when nothing changed). */
export async function aptUpgrade(root: string, opts: Lines): Promise<void> {
  await inRoot(root, ['apt-get', 'dist-upgrade', ...APT_INSTALL_OPTIONS], { ...opts, what: 'apt-get dist-upgrade' });
}

/** Every package the root has, as name=version lines, sorted. */
export async function installedVersions(root: string): Promise<string[]> {
  const { stdout } = await inRoot(root, ['dpkg-query', '-W', '-f', '${Package}=${Version}\\n'], {
    what: 'dpkg-query',
  });
  return stdout.split('\n').filter(Boolean).sort();
}

/**
 * What installing `packages` on the root would install (name=version, sorted), asked of apt
 * without installing anything: the versions the image's cache key is made of.
 */
export async function resolveInstall(root: string, packages: readonly string[]): Promise<string[]> {
  const { stdout } = await inRoot(root, ['apt-get', '-s', ...APT_INSTALL_OPTIONS, 'install', ...packages], {
    what: `resolving ${packages.join(' ')}`,
  });
  return [...stdout.matchAll(/^Inst (\S+) (?:\[\S+\] )?\((\S+)/gm)].map((m) => `${m[1]}=${m[2]}`).sort();
}

export async function aptInstall(root: string, packages: readonly string[], opts: Lines): Promise<void> {
  await inRoot(root, ['apt-get', 'install', ...APT_INSTALL_OPTIONS, ...packages], {
    ...opts,
    what: `apt-get install ${packages.join(' ')}`,
  });
}

/**
 * The account of the pods' uid. Debian's package created it with a uid of its own choosing:
 * it gets the catalog's uid (and its group the same gid, when that is free), and what the old
 * ids owned follows. An account no package made is created.
 */
const ACCOUNT = `set -eu
name=$1 uid=$2
if getent passwd "$name" >/dev/null; then
  old=$(id -u "$name") oldg=$(id -g "$name") group=$(id -gn "$name")
  if [ "$old" != "$uid" ]; then
    usermod -u "$uid" "$name"
    find / -xdev -user "$old" -exec chown -h "$uid" {} +
  fi
  if [ "$oldg" != "$uid" ] && [ "$group" = "$name" ] && ! getent group "$uid" >/dev/null; then
    groupmod -g "$uid" "$group"
    find / -xdev -group "$oldg" -exec chgrp -h "$uid" {} +
  fi
else
  getent group "$uid" >/dev/null || groupadd -g "$uid" "$name"
  useradd -u "$uid" -g "$uid" -M -d "/var/lib/$name" -s /usr/sbin/nologin "$name"
fi
id "$name"
`;

export async function ensureAccount(root: string, name: string, uid: number): Promise<string> {
  const { stdout } = await inRoot(root, ['sh', '-c', ACCOUNT, 'sh', name, String(uid)], {
    what: `the account ${name} (uid ${uid})`,
  });
  return stdout.trim();
}

const LINKS = `set -eu
while [ $# -ge 2 ]; do mkdir -p "$(dirname "$1")"; ln -sfn "$2" "$1"; shift 2; done
`;

export async function makeLinks(root: string, links: Record<string, string>): Promise<void> {
  const args = Object.entries(links).flat();
  if (args.length) await inRoot(root, ['sh', '-c', LINKS, 'sh', ...args], { what: 'the links of the image' });
}

const TRAVERSABLE = `for d; do [ -d "$d" ] && [ ! -L "$d" ] && chmod o+x "$d"; done; exit 0
`;

/** Lets everyone through the directories above the pods' mounts (plan.ts mountDirs says why). */
export async function openMountDirs(root: string, dirs: readonly string[]): Promise<void> {
  if (dirs.length) await inRoot(root, ['sh', '-c', TRAVERSABLE, 'sh', ...dirs], { what: "the mounts' directories" });
}

/** Prints each command that is missing: a name not on PATH, or a path that is not an executable. */
const MISSING = `for c; do case $c in /*) [ -x "$c" ] ;; *) command -v "$c" >/dev/null 2>&1 ;; esac || echo "$c"; done
`;

/** Every command the pods start must be in the image, found as the pods will find it (its PATH). */
export async function checkCommands(root: string, commands: readonly string[], path: string): Promise<void> {
  const { stdout } = await inRoot(root, ['env', `PATH=${path}`, 'sh', '-c', MISSING, 'sh', ...commands], {
    what: 'the check of the commands',
  });
  const missing = stdout.split('\n').filter(Boolean);
  if (missing.length)
    throw new OskError(
      `the image lacks ${missing.length === 1 ? 'a command' : 'commands'} its pods start: ${missing.join(', ')}`,
      { hint: 'the image recipe (src/images/recipes.ts) must add the package or the link that provides it' },
    );
}

/** Empties a directory (keeps the directory itself). */
async function emptyDir(dir: string): Promise<void> {
  for (const f of await readdir(dir).catch(() => [] as string[]))
    await rm(join(dir, f), { recursive: true, force: true });
}

/** Drops what apt keeps that an image does not need: downloaded packages, indexes, logs. */
export async function cleanApt(root: string): Promise<void> {
  await inRoot(root, ['apt-get', 'clean'], { what: 'apt-get clean' });
  await emptyDir(join(root, 'var/lib/apt/lists'));
  await emptyDir(join(root, 'var/log/apt'));
  for (const f of ['var/log/dpkg.log', 'var/cache/debconf/templates.dat-old', 'var/cache/debconf/config.dat-old'])
    await rm(join(root, f), { force: true });
}
