/**
 * The osk image carries the osk that builds it, so the bootstrap Jobs run exactly this version:
 * the Node.js binary running osk (22 or later) as /usr/local/bin/node, and osk's bin/osk.js (with
 * bin/package.json, which makes it CommonJS), package.json and dist/ (a self-contained bundle, scripts/build.ts) in /usr/local/lib/osk, with
 * `osk` on PATH. The digest of those files is part of the image's id: a changed osk is a new image.
 */
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, readdir, readFile, realpath, symlink, rm } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { oskInstallDir } from '../own-install.js';

export interface OskRuntime {
  /** host file → path in the image (relative to its root) */
  files: { from: string; to: string; mode: number }[];
  digest: string;
}

const LIB = 'usr/local/lib/osk';

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

export async function oskRuntime(): Promise<OskRuntime> {
  const root = oskInstallDir();
  const files = [
    { from: await realpath(process.execPath), to: 'usr/local/bin/node', mode: 0o755 },
    { from: join(root, 'bin', 'osk.js'), to: `${LIB}/bin/osk.js`, mode: 0o755 },
    { from: join(root, 'bin', 'package.json'), to: `${LIB}/bin/package.json`, mode: 0o644 },
    { from: join(root, 'package.json'), to: `${LIB}/package.json`, mode: 0o644 },
    ...(await filesUnder(join(root, 'dist'))).map((f) => ({
      from: f,
      to: `${LIB}/dist/${relative(join(root, 'dist'), f)}`,
      mode: 0o644,
    })),
  ].sort((a, b) => a.to.localeCompare(b.to));
  const h = createHash('sha256');
  for (const f of files)
    h.update(`${f.to}\0${f.mode}\0`)
      .update(await readFile(f.from))
      .update('\0');
  return { files, digest: h.digest('hex') };
}

/** Copies the runtime into an image's root and puts `osk` on PATH. */
export async function installRuntime(rootfs: string, runtime: OskRuntime): Promise<void> {
  for (const f of runtime.files) {
    const dest = join(rootfs, f.to);
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(f.from, dest);
    await chmod(dest, f.mode);
  }
  const link = join(rootfs, 'usr/local/bin/osk');
  await rm(link, { force: true });
  await symlink(`../lib/osk/bin/osk.js`, link);
}
