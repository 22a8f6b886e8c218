/**
 * CloudModel → files on the host: every config bundle a host component reads, written as one
 * merged file per config (mode 0600 in a 0700 tree: on one host the split into ConfigMap and
 * Secret buys nothing), plus the secret and text files the components declare. A file is only
 * rewritten when its content changed, and each component gets a hash of everything it reads,
 * so `osk up` restarts exactly the programs whose inputs changed.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ComponentDef } from '../../catalog/types.js';
import type { CloudModel } from '../../plan/model.js';
import type { StatePaths } from '../../state/paths.js';

interface WrittenFiles {
  /** Paths whose content changed in this run. */
  changed: string[];
  /** Per component: hash of its command, environment, files and package versions. */
  hashes: Map<string, string>;
}

/** Write a file by temp file and rename (a reader never sees half of it), only when its content changed. */
export async function writeIfChanged(
  path: string,
  content: string,
  mode: number,
  changed: string[] = [],
): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let old: string | undefined;
  try {
    old = await readFile(path, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === content) {
    await chmod(path, mode);
    return;
  }
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
  changed.push(path);
}

/** The files of one bundle as the host sees them: path → content. */
export function bundleFiles(model: CloudModel, bundle: string): Map<string, string> {
  const b = model.bundles.get(bundle);
  if (!b) throw new Error(`catalog bug: unknown bundle ${bundle}`);
  const out = new Map<string, string>();
  for (const f of b.files) {
    if ('ini' in f) out.set(join(b.dir, f.name), f.ini.renderAll(f.dialect));
    else if (!f.kubernetesOnly) out.set(join(b.dir, f.name), f.text);
  }
  return out;
}

export function hostComponents(model: CloudModel): ComponentDef[] {
  return [...model.components.values()].filter((c) => c.host && c.host.kind !== 'skip');
}

export async function writeHostFiles(
  model: CloudModel,
  paths: StatePaths,
  secret: (name: string) => string,
  versions: Map<string, string>,
): Promise<WrittenFiles> {
  for (const d of [paths.root, paths.etc, paths.data, paths.log, paths.run, paths.pids, paths.steps]) {
    await mkdir(d, { recursive: true, mode: 0o700 });
    await chmod(d, 0o700);
  }
  const changed: string[] = [];
  const hashes = new Map<string, string>();
  const written = new Map<string, string>();
  for (const c of hostComponents(model)) {
    const h = c.host!;
    const hash = createHash('sha256');
    if (h.kind === 'process' || h.kind === 'step') {
      hash.update(
        JSON.stringify({
          kind: h.kind,
          command: h.command,
          env: h.env ?? {},
          secretEnv: Object.keys(h.secretEnv ?? {}),
        }),
      );
      for (const p of h.packages) hash.update(`${p}=${versions.get(p) ?? '?'}\n`);
      for (const bundle of c.configs ?? []) {
        for (const [path, content] of bundleFiles(model, bundle)) {
          if (!written.has(path)) {
            await writeIfChanged(path, content, 0o600, changed);
            written.set(path, content);
          } else if (written.get(path) !== content) {
            throw new Error(`catalog bug: two bundles write different content to ${path}`);
          }
          hash.update(`${path}\n${content}\n`);
        }
      }
      for (const d of h.dirs ?? []) if (!existsSync(d)) await mkdir(d, { recursive: true, mode: 0o700 });
      for (const f of h.files ?? []) {
        const content = f.secret !== undefined ? secret(f.secret) : (f.text ?? '');
        await writeIfChanged(f.path, content, f.mode ?? 0o600, changed);
        // A file the program rereads (rotated keys) counts by its path only: no restart.
        hash.update(f.live ? `${f.path}\n` : `${f.path}\n${content}\n`);
      }
      // Secret values given through the environment count too (a rotated password restarts).
      for (const name of Object.values(h.secretEnv ?? {})) hash.update(`${name}=${secret(name)}\n`);
    } else if (h.kind === 'builtin') {
      hash.update(JSON.stringify(h.action));
    }
    hashes.set(c.id, hash.digest('hex').slice(0, 16));
  }
  return { changed, hashes };
}
