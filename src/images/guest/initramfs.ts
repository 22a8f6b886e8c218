/**
 * The guest's initramfs from the extracted packages (`tree`): busybox with a link per applet,
 * dropbear with exactly the libraries its ELF files name, the kernel modules of plan.ts in load
 * order, and the guest's own files (scripts.ts). Symbolic links in the tree are followed inside
 * the tree, never on the host (Debian's packages hold absolute links such as
 * lib64/ld-linux-x86-64.so.2 → /lib/x86_64-linux-gnu/…).
 */
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { OskError } from '../../errors.js';
import { run } from '../run.js';
import type { CpioEntry } from './cpio.js';
import { dynamicNeeds, moduleDepends } from './elf.js';
import { GUEST_MODULES, GUEST_PROGRAMS, LIBRARY_DIRS, type ModuleInfo, moduleLoadOrder, moduleName } from './plan.js';
import { ETC_FILES, SCRIPTS } from './scripts.js';

/** The file a path of the tree names, following links within the tree; undefined when there is none. */
async function resolveInTree(tree: string, path: string): Promise<string | undefined> {
  let rel = path.replace(/^\/+/, '');
  for (let hops = 0; hops < 16; hops++) {
    const st = await lstat(join(tree, rel)).catch(() => undefined);
    if (!st) return undefined;
    if (!st.isSymbolicLink()) return st.isFile() ? rel : undefined;
    const target = await readlink(join(tree, rel));
    rel = target.startsWith('/') ? target.slice(1) : join(dirname(rel), target);
    if (rel.startsWith('..')) return undefined;
  }
  return undefined;
}

/** Each program and, recursively, the loader and libraries it needs, as files of the archive. */
async function programEntries(tree: string): Promise<CpioEntry[]> {
  const entries = new Map<string, CpioEntry>();
  const queue: { path: string; from: string }[] = GUEST_PROGRAMS.map((p) => ({ path: p, from: p }));
  while (queue.length) {
    const { path, from } = queue.shift()!;
    if (entries.has(path)) continue;
    const file = await resolveInTree(tree, from);
    if (!file) throw new OskError(`the guest image needs ${from}, which its packages do not have`);
    const data = await readFile(join(tree, file));
    entries.set(path, { path, kind: 'file', mode: 0o755, data });
    const { interpreter, needed } = dynamicNeeds(data, from);
    if (interpreter) queue.push({ path: interpreter.slice(1), from: interpreter });
    for (const lib of needed) {
      let found: string | undefined;
      for (const d of LIBRARY_DIRS) if (!found && (await resolveInTree(tree, join(d, lib)))) found = join(d, lib);
      if (!found) throw new OskError(`${from} needs ${lib}, which none of the guest's packages has`);
      queue.push({ path: join(LIBRARY_DIRS[0], lib), from: found });
    }
  }
  return [...entries.values()];
}

/** busybox's applets, each a link to it: the list is the binary's own (it is static: it runs here). */
async function appletLinks(tree: string): Promise<CpioEntry[]> {
  const { stdout } = await run([join(tree, 'bin/busybox'), '--list-full'], { what: 'busybox --list-full' });
  return stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && l !== 'bin/busybox')
    .map((l) => ({ path: l, kind: 'link' as const, target: '/bin/busybox' }));
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

/** The modules in load order, as entries and as the lines of /etc/osk/modules. */
async function moduleEntries(tree: string, kernel: string): Promise<{ entries: CpioEntry[]; list: string }> {
  const base = join(tree, 'lib/modules', kernel);
  const files = new Map<string, string>();
  for (const f of await filesUnder(join(base, 'kernel'))) if (/\.ko$/.test(f)) files.set(moduleName(f), f);
  const builtin = new Set(
    (await readFile(join(base, 'modules.builtin'), 'utf8').catch(() => '')).split('\n').filter(Boolean).map(moduleName),
  );
  const bytes = new Map<string, Buffer>();
  // Module files are read while walking the dependencies: only those the guest loads.
  const infos = new Map<string, ModuleInfo>();
  const pending = [...GUEST_MODULES.map(moduleName)];
  while (pending.length) {
    const name = pending.shift()!;
    if (infos.has(name)) continue;
    const file = files.get(name);
    if (!file) {
      infos.set(name, builtin.has(name) ? 'builtin' : undefined);
      continue;
    }
    const data = await readFile(file);
    bytes.set(file, data);
    const depends = moduleDepends(data, relative(base, file));
    infos.set(name, { path: relative(join(tree, 'lib/modules'), file), depends });
    pending.push(...depends.map(moduleName));
  }
  const { order, missing } = moduleLoadOrder(GUEST_MODULES, (n) => infos.get(n));
  if (missing.length)
    throw new OskError(`the guest's kernel ${kernel} has no module ${missing.join(', ')}, and does not build it in`);
  const entries: CpioEntry[] = order.map((p) => ({
    path: join('lib/modules', p),
    kind: 'file',
    mode: 0o644,
    data: bytes.get(join(tree, 'lib/modules', p))!,
  }));
  return { entries, list: order.map((p) => `${p}\n`).join('') };
}

/** Every entry of the guest's initramfs. */
export async function initramfsEntries(tree: string, kernel: string): Promise<CpioEntry[]> {
  const modules = await moduleEntries(tree, kernel);
  const text = (path: string, content: string, mode = 0o644): CpioEntry => ({
    path,
    kind: 'file',
    mode,
    data: Buffer.from(content, 'utf8'),
  });
  return [
    ...(await programEntries(tree)),
    ...(await appletLinks(tree)),
    ...modules.entries,
    { path: 'init', kind: 'link', target: '/bin/busybox' },
    { path: 'dev/console', kind: 'char', major: 5, minor: 1, mode: 0o600 },
    ...['proc', 'sys', 'run', 'tmp', 'mnt', 'etc/dropbear'].map((path) => ({ path, kind: 'dir' as const })),
    { path: 'root', kind: 'dir', mode: 0o700 },
    { path: 'var/run', kind: 'link', target: '/run' },
    ...Object.entries(ETC_FILES).map(([p, c]) => text(p, c, p === 'etc/shadow' ? 0o600 : 0o644)),
    ...Object.entries(SCRIPTS).map(([p, c]) => text(p, c, 0o755)),
    text('etc/osk/modules', modules.list),
  ];
}
