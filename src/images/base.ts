/**
 * The shared base: a minimal Debian of the release's suite (debootstrap --variant=minbase from
 * the host's mirror), made once and kept in the cache as a root apt can work in. Each build
 * brings it up to date (apt-get update, dist-upgrade: seconds when nothing changed), and the
 * base layer is the root as it is then, identified by its package versions; every image's layer
 * goes on top of it.
 */
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Reporter } from '../reporter.js';
import { type CacheDirs, contentId } from './cache.js';
import { type Mirrors, sourcesFor } from './host.js';
import { configure, hasTag, imageFromDir, initLayout } from './oci.js';
import { aptUpdate, aptUpgrade, debootstrap, inRoot, installedVersions, withChroot } from './rootfs.js';

/** Changes whenever what this file does to a root changes, so that old bases are not reused. */
const BASE_RECIPE = 1;

export interface Base {
  /** The root apt resolves in (with its indexes). */
  root: string;
  /** Tag of the base image in the layout. */
  tag: string;
  id: string;
  /** name=version of every package of the base. */
  versions: string[];
  /** Whether the base image was built now. */
  built: boolean;
}

async function makeRoot(root: string, suite: string, mirrors: Mirrors, reporter: Reporter): Promise<void> {
  const step = `base ${suite}`;
  const tmp = `${root}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  reporter.begin(step, `debootstrap --variant=minbase ${suite} from ${mirrors.archive}`);
  try {
    await debootstrap(tmp, suite, mirrors.archive, { onLine: (l) => reporter.waiting(step, l) });
    // Debian's deb822 sources replace the one-line file debootstrap writes.
    await rm(join(tmp, 'etc/apt/sources.list'), { force: true });
    await writeFile(join(tmp, 'etc/apt/sources.list.d/debian.sources'), sourcesFor(mirrors, suite));
    await rename(tmp, root);
    reporter.done(step, 'completed');
  } catch (e) {
    reporter.fail(step, (e as Error).message.split('\n')[0]!);
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * The base layer: the root without apt's indexes (an image has none: they are stale at once and
 * weigh tens of MB). They are put aside while umoci reads the root, and put back.
 */
async function makeBaseImage(dirs: CacheDirs, root: string, tag: string, suite: string): Promise<void> {
  await inRoot(root, ['apt-get', 'clean'], { what: 'apt-get clean' });
  const lists = join(root, 'var/lib/apt/lists');
  const aside = join(dirs.roots, `.lists-${process.pid}`);
  await rename(lists, aside);
  try {
    await mkdir(join(lists, 'partial'), { recursive: true });
    await imageFromDir(dirs.layout, tag, root, {});
  } finally {
    await rm(lists, { recursive: true, force: true });
    await rename(aside, lists);
  }
  await configure(dirs.layout, tag, {
    env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' },
    labels: { 'org.opencontainers.image.title': `osk base (Debian ${suite})` },
  });
}

export async function ensureBase(dirs: CacheDirs, suite: string, mirrors: Mirrors, reporter: Reporter): Promise<Base> {
  const root = join(dirs.roots, `${suite}-${contentId(mirrors)}`);
  await mkdir(dirs.roots, { recursive: true });
  await initLayout(dirs.layout);
  if (!existsSync(join(root, 'etc/debian_version'))) await makeRoot(root, suite, mirrors, reporter);
  const step = `base ${suite}`;
  reporter.begin(step, 'apt-get update');
  try {
    await withChroot(root, async () => {
      await aptUpdate(root, { onLine: (l) => reporter.waiting(step, l) });
      await aptUpgrade(root, { onLine: (l) => reporter.waiting(step, l) });
    });
    const versions = await installedVersions(root);
    const id = contentId({ recipe: BASE_RECIPE, suite, mirrors, versions });
    const tag = `base-${id}`;
    const built = !(await hasTag(dirs.layout, tag));
    if (built) {
      reporter.waiting(step, 'writing the base layer');
      await makeBaseImage(dirs, root, tag, suite);
    }
    reporter.done(step, built ? 'completed' : 'unchanged', `${versions.length} packages, ${tag}`);
    return { root, tag, id, versions, built };
  } catch (e) {
    reporter.fail(step, (e as Error).message.split('\n')[0]!);
    throw e;
  }
}
