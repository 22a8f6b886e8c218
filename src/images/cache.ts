/**
 * The build's cache, outside any work tree: ${OSK_CACHE_DIR:-$XDG_CACHE_HOME/osk or ~/.cache/osk}/images/
 *   roots/<suite>-<mirror hash>/  the Debian root of the base layer, kept with its apt indexes:
 *                                 apt resolves each image's packages there without installing
 *   oci/                          one OCI layout with every image built, tagged base-<id>, <key>-<id>
 *   work/                         bundles of images being built (removed after each)
 *   lock                          the pid of the build using the cache
 * An id is a hash of all that goes into an image: its recipe and the versions of its packages.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { OskError } from '../errors.js';

export interface CacheDirs {
  root: string;
  roots: string;
  layout: string;
  work: string;
}

/** osk's cache: ${OSK_CACHE_DIR:-$XDG_CACHE_HOME/osk or ~/.cache/osk}, never inside a work tree. */
export function oskCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.OSK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'osk');
}

export function cacheDirs(env: NodeJS.ProcessEnv = process.env): CacheDirs {
  const root = join(oskCacheDir(env), 'images');
  return { root, roots: join(root, 'roots'), layout: join(root, 'oci'), work: join(root, 'work') };
}

/** A short, stable hash of a JSON value (object keys sorted, so key order never matters). */
export function contentId(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === 'object'
        ? Object.fromEntries(
            Object.entries(v as Record<string, unknown>)
              .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
              .map(([k, x]) => [k, sorted(x)]),
          )
        : v;
  return createHash('sha256')
    .update(JSON.stringify(sorted(value)))
    .digest('hex')
    .slice(0, 16);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One build at a time uses the cache (two would write the same root and layout). A lock left
 * by a build that is gone is taken over.
 */
export async function lockCache(dirs: CacheDirs): Promise<() => Promise<void>> {
  return lockDir(dirs.root, 'another osk images build');
}

/**
 * A lock file `lock` in `dir` holding this process's pid. A lock whose process is gone is taken
 * over; one held by a live process (or by another call of this one) is refused, naming `holder`,
 * or waited for up to `waitMs`.
 */
export async function lockDir(dir: string, holder: string, waitMs = 0): Promise<() => Promise<void>> {
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const file = join(dir, 'lock');
  const deadline = Date.now() + waitMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      // This process's own lock is another call in it when we may wait (two builds at once in one
      // osk); without waiting, it is taken over as before.
      const held = pid === process.pid ? waitMs > 0 : pid > 0 && alive(pid);
      if (held) {
        if (Date.now() >= deadline)
          throw new OskError(`${holder} (pid ${pid}) is using the cache ${dir}`, {
            hint: 'wait for it to finish, or use another cache with OSK_CACHE_DIR',
          });
        await new Promise((r) => setTimeout(r, 500));
      } else if (attempt > 20) {
        throw new OskError(`cannot lock the cache ${dir}`);
      } else {
        await rm(file, { force: true });
      }
    }
  }
}
