/**
 * The initramfs archive: cpio "newc", the format the kernel unpacks. Written here rather than by
 * the host's cpio so that every entry is owned by root and dated 0 without running as root, and
 * the same files give the same bytes (the image is identified by what goes in, not when).
 * Pure: entries in, bytes out. Parent directories are added before their children.
 */

export type CpioEntry =
  | { path: string; kind: 'file'; mode: number; data: Buffer }
  | { path: string; kind: 'link'; target: string }
  | { path: string; kind: 'dir'; mode?: number }
  /** A character device: /dev/console must exist before init runs, or init has no stdin/out. */
  | { path: string; kind: 'char'; major: number; minor: number; mode: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
const S_IFCHR = 0o020000;

function pad4(n: number): Buffer {
  return Buffer.alloc((4 - (n % 4)) % 4);
}

function record(ino: number, name: string, mode: number, data: Buffer, nlink = 1, rdev = [0, 0]): Buffer[] {
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const nameBytes = Buffer.from(`${name}\0`, 'utf8');
  const fields = [ino, mode, 0, 0, nlink, 0, data.length, 0, 0, rdev[0]!, rdev[1]!, nameBytes.length, 0];
  const header = Buffer.from(`070701${fields.map(hex).join('')}`, 'latin1');
  return [header, nameBytes, pad4(header.length + nameBytes.length), data, pad4(data.length)];
}

function normal(path: string): string {
  const p = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (!p || p.split('/').some((part) => part === '..' || part === '.' || part === ''))
    throw new Error(`bad path in the initramfs: ${JSON.stringify(path)}`);
  return p;
}

/** The archive of `entries`, sorted by path; a path given twice is an error. */
export function newcArchive(entries: readonly CpioEntry[]): Buffer {
  const byPath = new Map<string, CpioEntry>();
  for (const e of entries) {
    const path = normal(e.path);
    if (byPath.has(path)) throw new Error(`${path} is twice in the initramfs`);
    byPath.set(path, { ...e, path });
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!byPath.has(dir)) byPath.set(dir, { path: dir, kind: 'dir' });
    }
  }
  const chunks: Buffer[] = [];
  let ino = 1;
  for (const path of [...byPath.keys()].sort()) {
    const e = byPath.get(path)!;
    if (e.kind === 'dir') chunks.push(...record(ino++, path, S_IFDIR | (e.mode ?? 0o755), Buffer.alloc(0), 2));
    else if (e.kind === 'link') chunks.push(...record(ino++, path, S_IFLNK | 0o777, Buffer.from(e.target, 'utf8')));
    else if (e.kind === 'char')
      chunks.push(...record(ino++, path, S_IFCHR | (e.mode & 0o7777), Buffer.alloc(0), 1, [e.major, e.minor]));
    else chunks.push(...record(ino++, path, S_IFREG | (e.mode & 0o7777), e.data));
  }
  chunks.push(...record(0, 'TRAILER!!!', 0, Buffer.alloc(0)));
  return Buffer.concat(chunks);
}
