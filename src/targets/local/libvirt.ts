/**
 * A private libvirtd and virtlogd for one cloud, run by the supervisor like any other program.
 *
 * Run as root, libvirt's daemons are "privileged" and their paths are fixed when libvirt is
 * built: qemu.conf and the persistent domain XML in /etc/libvirt, sockets and the QEMU driver's
 * state in /run/libvirt (virtlogd's socket too, where the QEMU driver looks for it), capability
 * caches, logs and images under /var. No option moves them. So each daemon starts in a mount
 * namespace of its own (`unshare --mount`) in which those five directories are bind mounts of
 * directories of the cloud's state dir: the host's /etc/libvirt (and the default network
 * Debian's package puts there) is never read, nothing is written outside the state dir, and two
 * clouds never share a file. Both daemons get the same mounts, so virtlogd writes the files the
 * QEMU driver names. Propagation is `slave`: on a host whose mounts are shared, mounts the host
 * makes later still reach the daemons, and theirs never leave.
 *
 * Clients (virsh, later nova-compute) reach libvirtd outside the namespace by the socket's real
 * path: `qemu+unix:///system?socket=<state>/run/libvirt/libvirt-sock`.
 *
 * QEMU itself is a child libvirt detaches from its own process group: stopping libvirtd (by the
 * supervisor, by PID) leaves guests running, as libvirt means it to; guests end with
 * `virsh destroy` (or Nova).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { OskError } from '../../errors.js';
import { runCommand } from '../../run-command.js';
import type { StatePaths } from '../../state/paths.js';
import { writeIfChanged } from './files.js';
import type { ProcessSpec } from './supervisor.js';

/** A directory libvirt's privileged daemons use, and the cloud's directory mounted over it. */
interface Bind {
  host: string;
  own: string;
}

export interface LibvirtLayout {
  /** Over /etc/libvirt: osk's libvirtd.conf, qemu.conf, virtlogd.conf; libvirt's domain XML. */
  etc: string;
  /** Over /run/libvirt: the sockets, PID files, the QEMU driver's state (a guest's PID file). */
  run: string;
  /** Over /var/log/libvirt: QEMU's own log of each guest (qemu/<name>.log, written by virtlogd). */
  log: string;
  /** Over /var/lib/libvirt and /var/cache/libvirt. */
  lib: string;
  cache: string;
  binds: Bind[];
  /** The URI of this libvirtd for virsh and nova.conf's [libvirt] connection_uri. */
  uri: string;
  /** virtlogd's admin URI (virt-admin), its readiness. */
  logdUri: string;
  config: { libvirtd: string; qemu: string; virtlogd: string };
}

export function libvirtLayout(paths: StatePaths): LibvirtLayout {
  const etc = join(paths.etc, 'libvirt');
  const run = join(paths.run, 'libvirt');
  const log = join(paths.log, 'libvirt');
  const lib = join(paths.data, 'libvirt');
  const cache = join(paths.data, 'libvirt-cache');
  // libvirt unescapes the query's values: any byte of the path survives.
  const socketParam = (name: string) => encodeURIComponent(join(run, name)).replaceAll('%2F', '/');
  return {
    etc,
    run,
    log,
    lib,
    cache,
    binds: [
      { host: '/etc/libvirt', own: etc },
      { host: '/run/libvirt', own: run },
      { host: '/var/lib/libvirt', own: lib },
      { host: '/var/log/libvirt', own: log },
      { host: '/var/cache/libvirt', own: cache },
    ],
    uri: `qemu+unix:///system?socket=${socketParam('libvirt-sock')}`,
    logdUri: `virtlogd:///system?socket=${socketParam('virtlogd-admin-sock')}`,
    config: {
      libvirtd: join(etc, 'libvirtd.conf'),
      qemu: join(etc, 'qemu.conf'),
      virtlogd: join(etc, 'virtlogd.conf'),
    },
  };
}

/** A string in libvirt's config syntax: quoted, with no escapes, so a quote or a line break cannot be written. */
function confString(value: string): string {
  if (/["\\\x00-\x1f\x7f]/.test(value))
    throw new OskError(
      `a libvirt config value cannot hold quotes, backslashes or control characters: ${JSON.stringify(value)}`,
      {
        hint: 'choose a state directory (OSK_STATE_DIR) whose path has none',
      },
    );
  return `"${value}"`;
}

/** The three config files, path → text. Each setting says why it is there. */
export function libvirtConfigFiles(l: LibvirtLayout): Map<string, string> {
  const libvirtd = [
    '# Written by osk: the private libvirtd of one cloud (src/targets/local/libvirt.ts).',
    "# Sockets in the cloud's run directory, root only; no polkit (no D-Bus on this host), so",
    '# the socket permissions are the whole access control.',
    `unix_sock_dir = ${confString(l.run)}`,
    'unix_sock_rw_perms = "0700"',
    'unix_sock_ro_perms = "0700"',
    'unix_sock_admin_perms = "0700"',
    'auth_unix_rw = "none"',
    'auth_unix_ro = "none"',
    '# Warnings and errors to stderr: the supervisor keeps them in log/libvirtd.log.',
    'log_outputs = "3:stderr"',
    '',
  ];
  const qemu = [
    "# Written by osk: the QEMU driver of the cloud's private libvirtd.",
    "# QEMU runs as root: the disks live in the cloud's state directory (0700, root).",
    'user = "root"',
    'group = "root"',
    '# Never chown or label files: the cached guest image behind an overlay stays as it is.',
    'dynamic_ownership = 0',
    'remember_owner = 0',
    "# No AppArmor/SELinux profile knows the state directory's paths.",
    'security_driver = "none"',
    '# No cgroups: without systemd libvirt would make machine/ groups in every cgroup v1',
    '# hierarchy of the host (/sys/fs/cgroup/*/machine) and leave them there.',
    'cgroup_controllers = [ ]',
    "# QEMU's output and the guests' console logs go through virtlogd.",
    'stdio_handler = "logd"',
    '',
  ];
  const virtlogd = ["# Written by osk: the virtlogd of the cloud's private libvirtd.", 'log_outputs = "3:stderr"', ''];
  return new Map([
    [l.config.libvirtd, libvirtd.join('\n')],
    [l.config.qemu, qemu.join('\n')],
    [l.config.virtlogd, virtlogd.join('\n')],
  ]);
}

/**
 * Mounts each directory pair ("own" over "host") and replaces itself with the program after
 * `--`. A constant: the paths are its arguments, always expanded quoted.
 */
const MOUNT_AND_EXEC = 'set -eu; while [ "$1" != -- ]; do mount --bind "$1" "$2"; shift 2; done; shift; exec "$@"';

function inNamespace(l: LibvirtLayout, program: string[]): string[] {
  return [
    ...['unshare', '--mount', '--propagation', 'slave', '--'],
    ...['sh', '-c', MOUNT_AND_EXEC, 'osk-libvirt-mounts'],
    ...l.binds.flatMap((b) => [b.own, b.host]),
    '--',
    ...program,
  ];
}

export interface LibvirtProgram extends ProcessSpec {
  /** A command that succeeds once the daemon answers on its socket. */
  ready: string[];
}

/**
 * virtlogd, then libvirtd (the QEMU driver hands every guest's output to virtlogd): programs for
 * the supervisor, each hashed with the config files it reads. unshare replaces itself with sh,
 * sh with the daemon: the PID the supervisor records is the daemon's.
 */
export function libvirtPrograms(l: LibvirtLayout): LibvirtProgram[] {
  const files = libvirtConfigFiles(l);
  const hashOf = (command: string[], conf: string[]) =>
    createHash('sha256')
      .update(JSON.stringify([command, ...conf.map((p) => files.get(p))]))
      .digest('hex');
  const virtlogd = inNamespace(l, ['virtlogd', '-f', l.config.virtlogd, '-p', join(l.run, 'virtlogd.pid')]);
  const libvirtd = inNamespace(l, ['libvirtd', '-f', l.config.libvirtd, '-p', join(l.run, 'libvirtd.pid')]);
  return [
    {
      id: 'virtlogd',
      command: virtlogd,
      env: {},
      hash: hashOf(virtlogd, [l.config.virtlogd]),
      ready: ['virt-admin', '-c', l.logdUri, 'version'],
    },
    {
      id: 'libvirtd',
      command: libvirtd,
      env: {},
      // qemu.conf is read by libvirtd's QEMU driver: a change restarts libvirtd.
      hash: hashOf(libvirtd, [l.config.libvirtd, l.config.qemu]),
      ready: ['virsh', '-c', l.uri, 'version'],
    },
  ];
}

/**
 * The cloud's directories (0700) and config files (0600); and the host's mount points, made
 * (empty, 0755, as libvirt would make them) only when missing: /run/libvirt exists only once a
 * libvirtd ran. Returns the mount points it made, for `removeMountPoints`.
 */
export async function prepareLibvirt(l: LibvirtLayout): Promise<{ madeMountPoints: string[] }> {
  for (const b of l.binds) await mkdir(b.own, { recursive: true, mode: 0o700 });
  for (const [path, text] of libvirtConfigFiles(l)) await writeIfChanged(path, text, 0o600);
  const madeMountPoints: string[] = [];
  for (const b of l.binds) {
    if (existsSync(b.host)) continue;
    await mkdir(b.host, { recursive: true, mode: 0o755 });
    madeMountPoints.push(b.host);
  }
  return { madeMountPoints };
}

/** Whether a mount namespace of any process (another cloud's libvirtd) has a mount on `dir`. */
async function mountedSomewhere(dir: string): Promise<boolean> {
  const seen = new Set<string>();
  for (const pid of (await readdir('/proc')).filter((e) => /^\d+$/.test(e))) {
    const ns = await readlink(`/proc/${pid}/ns/mnt`).catch(() => undefined);
    if (!ns || seen.has(ns)) continue;
    seen.add(ns);
    const info = await readFile(`/proc/${pid}/mountinfo`, 'utf8').catch(() => '');
    // Field 5 is the mount point (octal escapes for spaces: none in libvirt's fixed paths).
    if (info.split('\n').some((line) => line.split(' ')[4] === dir)) return true;
  }
  return false;
}

/**
 * Removes mount points `prepareLibvirt` made, when they are empty and no namespace mounts
 * anything on them: removing one would detach another cloud's daemons from their directories.
 */
export async function removeMountPoints(made: readonly string[]): Promise<void> {
  for (const dir of made) {
    if ((await readdir(dir).catch(() => ['?'])).length > 0 || (await mountedSomewhere(dir))) continue;
    await rmdir(dir).catch(() => undefined);
  }
}

/** Runs a readiness command until it succeeds; fails with its last output at the deadline. */
export async function waitUntilReady(what: string, command: string[], timeoutMs: number): Promise<number> {
  const started = Date.now();
  let last = '';
  while (Date.now() - started < timeoutMs) {
    const r = await runCommand(command, { timeoutMs: 10_000 });
    if (r.code === 0) return (Date.now() - started) / 1000;
    last = r.out.trim();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new OskError(`${what} did not answer in ${timeoutMs / 1000} s: ${last || 'no output'}`);
}

/** virsh on this cloud's libvirtd (argv, never a shell). */
export function virsh(l: LibvirtLayout, args: string[], timeoutMs = 60_000) {
  return runCommand(['virsh', '-c', l.uri, ...args], { timeoutMs });
}
