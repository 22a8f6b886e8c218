/**
 * A Debian 13 root with the OpenStack 2025.1 libraries, for checking the configs osk renders for
 * 2025.1 against that release's own option definitions (oslo-config-generator run inside it with
 * chroot). Built from the shared base of `osk images build` (src/images: debootstrap from the
 * host's mirror, apt in a chroot), so it costs one apt-get install on a machine that builds
 * images anyway. Kept in the image cache, named by the package versions it holds: a new
 * version of any library makes a new root, and the old one is removed.
 */
import { existsSync } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ensureBase } from '../../src/images/base.js';
import { cacheDirs, contentId, lockCache } from '../../src/images/cache.js';
import { hostMirrors } from '../../src/images/host.js';
import { aptInstall, resolveInstall, withChroot } from '../../src/images/rootfs.js';
import { run } from '../../src/images/run.js';
import type { Reporter } from '../../src/reporter.js';

/** The libraries whose `oslo.config.opts` entry points define the options of osk's files. */
const PACKAGES = [
  'python3-oslo.config',
  'python3-keystone',
  'python3-glance',
  'python3-placement',
  'python3-nova',
  'python3-neutron',
  'python3-cinder',
  'python3-octavia',
  'python3-ovn-octavia-provider',
];

const READY = '.osk-oslo-root';

/** Progress as plain lines on stderr: a cold root takes minutes, never in silence. */
function lineReporter(): Reporter {
  const line = (s: string) => process.stderr.write(`[oslo-root] ${s}\n`);
  let last = 0;
  return {
    begin: (id, what) => line(`${id}: ${what}`),
    waiting: (id, detail) => {
      if (Date.now() - last < 10_000) return;
      last = Date.now();
      line(`${id}: ${detail}`);
    },
    done: (id, outcome, detail) => line(`${id}: ${outcome}${detail ? ` (${detail})` : ''}`),
    fail: (id, message) => line(`${id}: failed: ${message}`),
    note: line,
    inFlight: () => [],
    close: () => undefined,
  };
}

/** The image cache is used by one build at a time: wait for another one (an image build test). */
async function lockWhenFree(dirs: ReturnType<typeof cacheDirs>): Promise<() => Promise<void>> {
  const deadline = Date.now() + 45 * 60_000;
  for (;;) {
    try {
      return await lockCache(dirs);
    } catch (e) {
      if (Date.now() > deadline || !/another osk images build/.test((e as Error).message)) throw e;
      await sleep(5_000);
    }
  }
}

/** The root for a Debian suite (trixie: 2025.1), built when its package versions changed. */
export async function ensureOsloRoot(suite: string): Promise<{ root: string; id: string }> {
  const dirs = cacheDirs();
  const reporter = lineReporter();
  const unlock = await lockWhenFree(dirs);
  try {
    const base = await ensureBase(dirs, suite, await hostMirrors(), reporter);
    const versions = await withChroot(base.root, () => resolveInstall(base.root, PACKAGES));
    const id = contentId({ base: base.id, versions });
    const name = `oslo-${suite}-${id}`;
    const root = join(dirs.roots, name);
    if (!existsSync(join(root, READY))) {
      const tmp = `${root}.tmp`;
      await rm(tmp, { recursive: true, force: true });
      reporter.begin(name, `copying the ${suite} base and installing ${versions.length} packages`);
      await run(['cp', '-a', base.root, tmp], { what: `copying ${base.root}` });
      await withChroot(tmp, () => aptInstall(tmp, PACKAGES, { onLine: (l) => reporter.waiting(name, l) }));
      await writeFile(join(tmp, READY), `${versions.join('\n')}\n`);
      await rename(tmp, root);
      reporter.done(name, 'completed');
    }
    for (const old of await readdir(dirs.roots))
      if (old.startsWith(`oslo-${suite}-`) && old !== name)
        await rm(join(dirs.roots, old), { recursive: true, force: true });
    return { root, id };
  } finally {
    await unlock();
  }
}
