/**
 * osk images build: each image the plan asks for, as one layer of Debian packages on the shared
 * base, in the cache's OCI layout; then written out as OCI archives, imported into containerd
 * and/or pushed to a registry (push.ts). An image whose id (base, recipe, resolved package versions) is already in the
 * layout is not built again: a rebuild with nothing changed only asks apt what it would install.
 */
import { cp, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { inRegistry } from '../catalog/images.js';
import type { Reporter } from '../reporter.js';
import { VERSION } from '../version.js';
import { type Base, ensureBase } from './base.js';
import { type CacheDirs, cacheDirs, contentId, lockCache } from './cache.js';
import { checkHost, hostMirrors, type Tool } from './host.js';
import {
  collectGarbage,
  configure,
  hasTag,
  imageSize,
  importContainerd,
  manifestDigest,
  removeTag,
  repack,
  tags,
  unpack,
  writeArchive,
} from './oci.js';
import type { ImagePlan, ImageSpec } from './plan.js';
import { checkRegistry, type PushOptions, pushImage } from './push.js';
import { installRuntime, type OskRuntime, oskRuntime } from './runtime.js';
import {
  aptInstall,
  checkCommands,
  cleanApt,
  ensureAccount,
  makeLinks,
  openMountDirs,
  resolveInstall,
  withChroot,
} from './rootfs.js';

/** Changes whenever what this file does to an image changes, so that old images are not reused. */
const IMAGE_RECIPE = 2;

export interface BuildOptions {
  outputDir?: string;
  containerdSocket?: string;
  /** --push: each image to the reference images.registry gives it (catalog/images.ts inRegistry) */
  push?: PushOptions;
  reporter: Reporter;
  env?: NodeJS.ProcessEnv;
}

interface BuiltImage {
  key: string;
  reference: string;
  /** Tag in the cache's layout: <key>-<id>. */
  tag: string;
  digest: string;
  cached: boolean;
  seconds: number;
  /** Compressed layers, base first, in bytes. */
  layers: number[];
  packages: number;
  archive?: string;
  imported?: boolean;
  /** Where --push put it: the reference and the digest of the manifest the registry holds. */
  pushed?: { reference: string; digest: string };
}

export interface BuildResult {
  suite: string;
  base: { tag: string; built: boolean; packages: number; seconds: number };
  images: BuiltImage[];
  cache: string;
}

/** What the image's id is made of: everything that changes its content. */
function imageId(base: Base, spec: ImageSpec, versions: string[], runtime?: OskRuntime): string {
  const { users: _users, reference: _reference, ...recipe } = spec;
  return contentId({
    recipe: IMAGE_RECIPE,
    base: base.id,
    spec: recipe,
    versions,
    ...(runtime ? { osk: runtime.digest } : {}),
  });
}

/** The image's own layer: its packages, account and links on an unpacked copy of the base. */
async function buildLayer(
  dirs: CacheDirs,
  base: Base,
  spec: ImageSpec,
  tag: string,
  reporter: Reporter,
  runtime?: OskRuntime,
) {
  const step = spec.key;
  const onLine = (l: string) => reporter.waiting(step, l);
  const bundle = join(dirs.work, spec.key);
  await rm(bundle, { recursive: true, force: true });
  await mkdir(dirs.work, { recursive: true });
  try {
    reporter.waiting(step, `unpacking ${base.tag}`);
    await unpack(dirs.layout, base.tag, bundle, { onLine });
    const rootfs = join(bundle, 'rootfs');
    // The base root's indexes, so the install downloads packages only (cleaned before the repack).
    await cp(join(base.root, 'var/lib/apt/lists'), join(rootfs, 'var/lib/apt/lists'), { recursive: true });
    await withChroot(rootfs, async () => {
      await aptInstall(rootfs, spec.packages, { onLine });
      if (spec.account && spec.uid !== undefined) await ensureAccount(rootfs, spec.account, spec.uid);
      await makeLinks(rootfs, spec.links);
      await openMountDirs(rootfs, spec.mountDirs);
      if (runtime) await installRuntime(rootfs, runtime);
      await checkCommands(rootfs, spec.commands, spec.env.PATH!);
      await cleanApt(rootfs);
    });
    reporter.waiting(step, 'writing the layer');
    await repack(dirs.layout, tag, bundle, { onLine });
    // No USER: like the published (LOCI and official) images, the image starts as root unless the
    // pod says otherwise. The catalog gives the long-running pods their uid (runAsUser, and fsGroup
    // for their Secret files); the Jobs that give none (db-sync, bootstrap) run as root as they do
    // on the published images. A default of the service's uid broke them: seen on a real node,
    // keystone-manage db_sync could not read its secrets.conf (mode 0440, no fsGroup).
    await configure(dirs.layout, tag, {
      env: spec.env,
      labels: {
        'org.opencontainers.image.title': spec.reference,
        'org.opencontainers.image.description': `osk ${spec.key} image from Debian packages: ${spec.packages.join(' ')}`,
        'dev.osk.image.id': tag,
        'dev.osk.version': VERSION,
      },
    });
  } finally {
    await rm(bundle, { recursive: true, force: true });
  }
}

async function buildOne(dirs: CacheDirs, base: Base, spec: ImageSpec, opts: BuildOptions): Promise<BuiltImage> {
  const { reporter } = opts;
  const started = Date.now();
  reporter.begin(spec.key, `resolving ${spec.packages.length} packages`);
  try {
    const versions = await withChroot(base.root, () => resolveInstall(base.root, spec.packages));
    const runtime = spec.ownRuntime ? await oskRuntime() : undefined;
    const tag = `${spec.key}-${imageId(base, spec, versions, runtime)}`;
    const cached = await hasTag(dirs.layout, tag);
    if (!cached) {
      reporter.waiting(spec.key, `installing ${versions.length} packages`);
      await buildLayer(dirs, base, spec, tag, reporter, runtime);
    }
    const out: BuiltImage = {
      key: spec.key,
      reference: spec.reference,
      tag,
      digest: (await manifestDigest(dirs.layout, tag)) ?? '',
      cached,
      seconds: 0,
      layers: (await imageSize(dirs.layout, tag)).layers,
      packages: versions.length,
    };
    await deliver(dirs, out, opts);
    out.seconds = (Date.now() - started) / 1000;
    const mb = (out.layers.reduce((a, b) => a + b, 0) / 1e6).toFixed(0);
    const where = out.pushed ? `pushed ${out.pushed.reference}@${out.pushed.digest}` : spec.reference;
    reporter.done(spec.key, cached ? 'unchanged' : 'completed', `${where}, ${mb} MB, ${tag}`);
    return out;
  } catch (e) {
    reporter.fail(spec.key, (e as Error).message.split('\n')[0]!);
    throw e;
  }
}

/** The archive, the containerd import and the push of one image. */
async function deliver(dirs: CacheDirs, image: BuiltImage, opts: BuildOptions): Promise<void> {
  if (opts.outputDir) {
    const file = join(opts.outputDir, `${image.key}.tar`);
    opts.reporter.waiting(image.key, `writing ${file}`);
    await rm(file, { force: true });
    await writeArchive(dirs.layout, image.tag, file, image.reference);
    image.archive = file;
  }
  if (opts.containerdSocket) {
    const scratch = join(dirs.work, `${image.key}.docker.tar`);
    opts.reporter.waiting(image.key, `importing into containerd at ${opts.containerdSocket}`);
    try {
      await importContainerd(dirs.layout, image.tag, image.reference, opts.containerdSocket, scratch);
      image.imported = true;
    } finally {
      await rm(scratch, { force: true });
    }
  }
  if (opts.push) {
    const reference = inRegistry(image.reference, opts.push.registry);
    opts.reporter.waiting(image.key, `pushing to ${reference}`);
    await mkdir(dirs.work, { recursive: true });
    const digest = await pushImage(
      dirs.layout,
      image.tag,
      reference,
      opts.push,
      join(dirs.work, `${image.key}.digest`),
      (l) => opts.reporter.waiting(image.key, `pushing to ${reference}: ${l}`),
    );
    image.pushed = { reference, digest };
  }
}

/**
 * Drops what a newer build replaced: other base tags, and other tags of the images built now.
 * An older image of a key not built now keeps its layers (its manifest still holds them).
 */
async function pruneReplaced(dirs: CacheDirs, base: Base, built: BuiltImage[]): Promise<number> {
  const keep = new Set([base.tag, ...built.map((b) => b.tag)]);
  const keys = new Set(built.map((b) => b.key));
  const old = (await tags(dirs.layout)).filter(
    (t) => !keep.has(t) && (t.startsWith('base-') || keys.has(t.replace(/-[0-9a-f]{16}$/, ''))),
  );
  for (const t of old) await removeTag(dirs.layout, t);
  if (old.length) await collectGarbage(dirs.layout);
  return old.length;
}

export async function buildImages(plan: ImagePlan, images: ImageSpec[], opts: BuildOptions): Promise<BuildResult> {
  const tools: Tool[] = ['debootstrap', 'umoci', 'skopeo', 'chroot', 'mount'];
  if (opts.containerdSocket) tools.push('ctr');
  await checkHost(tools);
  // A registry that cannot be reached fails now, not after the build.
  const first = images[0];
  if (opts.push && first) await checkRegistry(inRegistry(first.reference, opts.push.registry), opts.push);
  const dirs = cacheDirs(opts.env);
  const unlock = await lockCache(dirs);
  try {
    if (opts.outputDir) await mkdir(opts.outputDir, { recursive: true });
    const started = Date.now();
    const base = await ensureBase(dirs, plan.suite, await hostMirrors(), opts.reporter);
    const baseSeconds = (Date.now() - started) / 1000;
    const built: BuiltImage[] = [];
    for (const spec of images) built.push(await buildOne(dirs, base, spec, opts));
    const pruned = await pruneReplaced(dirs, base, built);
    if (pruned) opts.reporter.note(`removed ${pruned} replaced image${pruned === 1 ? '' : 's'} from the cache`);
    return {
      suite: plan.suite,
      base: { tag: base.tag, built: base.built, packages: base.versions.length, seconds: baseSeconds },
      images: built,
      cache: dirs.root,
    };
  } finally {
    await unlock();
  }
}
