/**
 * Reading cloud files: the user's (-f, standard input) with the bound of spec/load.ts, so a FIFO,
 * a device or a huge file stops at the limit; and the copy an all-in-one cloud keeps in its
 * state directory (state/paths.ts).
 */
import { open, readFile, writeFile } from 'node:fs/promises';
import { toPlainYaml } from '../plain-yaml.js';
import { OskError } from '../errors.js';
import { decodeCloudText, LIMITS, parseCloudFile, tooBig, type TargetRules } from '../spec/load.js';
import { inputError } from '../spec/limits.js';
import type { CloudFile } from '../spec/schema.js';
import { savedCloudFile } from './paths.js';

export async function loadCloudFile(file: string, targetRules?: TargetRules): Promise<CloudFile> {
  return parseCloudFile(decodeCloudText(await readCloudBytes(file), file), file, targetRules);
}

/**
 * The bytes of a cloud file, at most LIMITS.fileBytes: read with a bound, so a FIFO, a device
 * (/dev/urandom) or a huge file stops at the limit instead of filling memory.
 */
export async function readCloudBytes(file: string): Promise<Buffer> {
  let fh: Awaited<ReturnType<typeof open>>;
  try {
    fh = await open(file, 'r');
  } catch (e) {
    throw cannotRead(file, e);
  }
  try {
    const buf = Buffer.alloc(LIMITS.fileBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const { bytesRead } = await fh.read(buf, n, buf.length - n, null);
      if (bytesRead === 0) break;
      n += bytesRead;
    }
    if (n > LIMITS.fileBytes) throw tooBig(file);
    return buf.subarray(0, n);
  } catch (e) {
    if (e instanceof OskError) throw e;
    throw cannotRead(file, e);
  } finally {
    await fh.close().catch(() => undefined);
  }
}

/** A stream (standard input) read up to LIMITS.fileBytes; past that the stream is dropped. */
export async function readCloudStream(
  stream: AsyncIterable<Buffer | string> & { destroy?: () => void },
  what = '<stdin>',
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of stream) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    n += b.length;
    if (n > LIMITS.fileBytes) {
      stream.destroy?.();
      throw tooBig(what);
    }
    chunks.push(b);
  }
  return Buffer.concat(chunks);
}

function cannotRead(file: string, e: unknown): OskError {
  const code = (e as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EISDIR'
        ? 'it is a directory'
        : code === 'EACCES'
          ? 'permission denied'
          : code === 'ENOTDIR'
            ? 'a part of the path is not a directory'
            : String((e as Error).message);
  return inputError(
    `cannot read cloud file ${file}: ${why}`,
    'pass the path of a cloud file with -f, e.g. -f examples/minimal.yaml',
  );
}

/** The cloud file `osk up` kept in a cloud's state directory (`dir`: the cloud's root, or a backup's copy of it). */
export async function readSavedCloudFile(dir: string, shownAs = savedCloudFile(dir)): Promise<CloudFile> {
  return parseCloudFile(await readFile(savedCloudFile(dir), 'utf8'), shownAs);
}

/** Keep the cloud file in the cloud's state directory (0600), so status, logs and down know the cloud without it. */
export async function writeSavedCloudFile(dir: string, file: CloudFile): Promise<void> {
  await writeFile(savedCloudFile(dir), toPlainYaml(file), { mode: 0o600 });
}
