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

export function cacheDirs(env: NodeJS.ProcessEnv = process.env): CacheDirs {
  const base = env.OSK_CACHE_DIR || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'osk');
  const root = join(base, 'images');
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
  await mkdir(dirs.root, { recursive: true, mode: 0o755 });
  const file = join(dirs.root, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: 'wx' });
      return () => rm(file, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && pid !== process.pid && alive(pid))
        throw new OskError(`another osk images build (pid ${pid}) is using the cache ${dirs.root}`, {
          hint: 'wait for it to finish, or use another cache with OSK_CACHE_DIR',
        });
      await rm(file, { force: true });
    }
  }
  throw new OskError(`cannot lock the image cache ${dirs.root}`);
}
