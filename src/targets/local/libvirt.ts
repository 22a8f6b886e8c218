/**
 * The I/O side of a cloud's private libvirtd and virtlogd: the layout from a cloud's state
 * paths, the programs for the supervisor, the host's mount points, waiting for a socket, virsh.
 * What the daemons are (directories, config files, the mount namespace each starts in) is
 * `catalog/libvirt-host.ts`: `osk up` runs them as components of the cloud's model, and this
 * module must agree with it (libvirt.test.ts checks that the model's commands are these).
 *
 * QEMU itself is a child libvirt detaches from its own process group: stopping libvirtd (by the
 * supervisor, by PID) leaves guests running, as libvirt means it to; guests end with
 * `virsh destroy` (or Nova), and `osk down` destroys the cloud's guests before it stops libvirtd
 * (`destroyGuests`).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, readlink, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type LibvirtLayout, libvirtConfigTexts, libvirtDaemons, libvirtLayoutOf } from '../../catalog/libvirt-host.js';
import { OskError } from '../../errors.js';
import { runCommand } from '../../run-command.js';
import type { StatePaths } from '../../state/paths.js';
import { writeIfChanged } from './files.js';
import type { ProcessSpec } from './supervisor.js';

export type { LibvirtLayout } from '../../catalog/libvirt-host.js';

/** The directories of a cloud's state that the catalog's host topology gives libvirt too. */
export function libvirtLayout(paths: StatePaths): LibvirtLayout {
  return libvirtLayoutOf({
    etc: join(paths.etc, 'libvirt'),
    run: join(paths.run, 'libvirt'),
    log: join(paths.log, 'libvirt'),
    lib: join(paths.data, 'libvirt'),
    cache: join(paths.data, 'libvirt-cache'),
    // The cloud's Open vSwitch (catalog/ovs-host.ts), which runs whenever libvirtd does.
    ovsRun: join(paths.run, 'openvswitch'),
  });
}

/** The three config files, path → text. */
export function libvirtConfigFiles(l: LibvirtLayout): Map<string, string> {
  const t = libvirtConfigTexts(l);
  return new Map([
    [l.config.libvirtd, t.libvirtd],
    [l.config.qemu, t.qemu],
    [l.config.virtlogd, t.virtlogd],
  ]);
}

export interface LibvirtProgram extends ProcessSpec {
  /** A command that succeeds once the daemon answers on its socket. */
  ready: string[];
}

/** virtlogd, then libvirtd: programs for the supervisor, each hashed with the config files it reads. */
export function libvirtPrograms(l: LibvirtLayout): LibvirtProgram[] {
  const files = libvirtConfigFiles(l);
  return libvirtDaemons(l).map((d) => ({
    id: d.id,
    command: d.command,
    env: {},
    hash: createHash('sha256')
      .update(JSON.stringify([d.command, ...d.reads.map((p) => files.get(p))]))
      .digest('hex'),
    ready: d.ready,
  }));
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

/**
 * Destroys every running guest of the cloud's libvirtd (QEMU outlives libvirtd, see above), when
 * that libvirtd answers; returns the names destroyed. Domains stay defined: Nova finds them shut
 * off on the next start.
 */
export async function destroyGuests(l: LibvirtLayout): Promise<string[]> {
  if (!existsSync(join(l.run, 'libvirt-sock'))) return [];
  const list = await virsh(l, ['list', '--name'], 15_000);
  if (list.code !== 0) return [];
  const names = list.out
    .split('\n')
    .map((n) => n.trim())
    .filter(Boolean);
  for (const n of names) await virsh(l, ['destroy', n]);
  return names;
}
