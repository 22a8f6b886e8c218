/**
 * The images as OCI, without a daemon: one OCI layout in the cache holds every image (blobs are
 * shared, so the base layer is stored once), written with umoci; skopeo copies an image out of
 * it into an archive; ctr imports into containerd.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run, type RunOptions } from './run.js';

interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

const REF_NAME = 'org.opencontainers.image.ref.name';

export async function initLayout(layout: string): Promise<void> {
  if (!existsSync(join(layout, 'index.json')))
    await run(['umoci', 'init', '--layout', layout], { what: `creating the OCI layout ${layout}` });
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

function blobPath(layout: string, digest: string): string {
  const [alg, hex] = digest.split(':');
  return join(layout, 'blobs', alg!, hex!);
}

/** The manifest a tag of the layout names, or undefined. */
async function manifestOf(layout: string, tag: string): Promise<Descriptor | undefined> {
  if (!existsSync(join(layout, 'index.json'))) return undefined;
  const index = await readJson<{ manifests?: Descriptor[] }>(join(layout, 'index.json'));
  return index.manifests?.find((m) => m.annotations?.[REF_NAME] === tag);
}

export async function hasTag(layout: string, tag: string): Promise<boolean> {
  const m = await manifestOf(layout, tag);
  return m !== undefined && existsSync(blobPath(layout, m.digest));
}

/** Compressed size of the image's layers: what a registry stores and a node pulls. */
export async function imageSize(layout: string, tag: string): Promise<{ layers: number[]; total: number }> {
  const m = await manifestOf(layout, tag);
  if (!m) return { layers: [], total: 0 };
  const manifest = await readJson<{ layers: Descriptor[]; config: Descriptor }>(blobPath(layout, m.digest));
  const layers = manifest.layers.map((l) => l.size);
  return { layers, total: layers.reduce((a, b) => a + b, 0) + manifest.config.size };
}

/** The digest of a tag's manifest (what a registry would call the image). */
export async function manifestDigest(layout: string, tag: string): Promise<string | undefined> {
  return (await manifestOf(layout, tag))?.digest;
}

type Lines = Pick<RunOptions, 'onLine'>;

/** A new image of one layer: the whole directory `dir` as the image's root. */
export async function imageFromDir(layout: string, tag: string, dir: string, opts: Lines): Promise<void> {
  await run(['umoci', 'new', '--image', `${layout}:${tag}`], { ...opts, what: `umoci new ${tag}` });
  await run(['umoci', 'insert', '--image', `${layout}:${tag}`, dir, '/'], { ...opts, what: `umoci insert ${tag}` });
}

/** Unpacks an image into a runtime bundle (bundle/rootfs), to add a layer on top of it. */
export async function unpack(layout: string, tag: string, bundle: string, opts: Lines): Promise<void> {
  await run(['umoci', 'unpack', '--image', `${layout}:${tag}`, bundle], { ...opts, what: `umoci unpack ${tag}` });
}

/** What changed in the bundle's rootfs since it was unpacked, as a new layer, tagged `tag`. */
export async function repack(layout: string, tag: string, bundle: string, opts: Lines): Promise<void> {
  await run(['umoci', 'repack', '--image', `${layout}:${tag}`, bundle], { ...opts, what: `umoci repack ${tag}` });
}

export interface ImageConfig {
  user?: string;
  env: Record<string, string>;
  labels: Record<string, string>;
}

/** The image's runtime config: default user, environment, labels; no entrypoint (the pods say). */
export async function configure(layout: string, tag: string, c: ImageConfig): Promise<void> {
  const argv = ['umoci', 'config', '--image', `${layout}:${tag}`, '--clear=config.env', '--config.workingdir', '/'];
  if (c.user) argv.push('--config.user', c.user);
  for (const [k, v] of Object.entries(c.env)) argv.push('--config.env', `${k}=${v}`);
  for (const [k, v] of Object.entries(c.labels)) argv.push('--config.label', `${k}=${v}`);
  await run(argv, { what: `umoci config ${tag}` });
}

/** Removes unreferenced blobs (images replaced by newer builds). */
export async function collectGarbage(layout: string): Promise<void> {
  await run(['umoci', 'gc', '--layout', layout], { what: 'umoci gc' });
}

export async function removeTag(layout: string, tag: string): Promise<void> {
  await run(['umoci', 'rm', '--image', `${layout}:${tag}`], { what: `umoci rm ${tag}` });
}

/** The tags of the layout. */
export async function tags(layout: string): Promise<string[]> {
  if (!existsSync(join(layout, 'index.json'))) return [];
  const index = await readJson<{ manifests?: Descriptor[] }>(join(layout, 'index.json'));
  return (index.manifests ?? []).map((m) => m.annotations?.[REF_NAME]).filter((t): t is string => Boolean(t));
}

/** An OCI archive of one image, named `reference` inside. */
export async function writeArchive(layout: string, tag: string, file: string, reference: string): Promise<void> {
  await run(['skopeo', 'copy', '--quiet', `oci:${layout}:${tag}`, `oci-archive:${file}:${reference}`], {
    what: `skopeo copy of ${tag} into ${file}`,
  });
}

/**
 * Imports into containerd (namespace k8s.io, where the kubelet looks) under `reference`. By a
 * docker-archive: its manifest names the image by the whole reference, which ctr takes as the
 * image's name (an OCI archive names a tag only).
 */
export async function importContainerd(
  layout: string,
  tag: string,
  reference: string,
  socket: string,
  scratch: string,
): Promise<void> {
  await run(['skopeo', 'copy', '--quiet', `oci:${layout}:${tag}`, `docker-archive:${scratch}:${reference}`], {
    what: `skopeo copy of ${tag} for containerd`,
  });
  await run(['ctr', '--address', socket, '--namespace', 'k8s.io', 'images', 'import', scratch], {
    what: `ctr images import of ${reference}`,
  });
}
