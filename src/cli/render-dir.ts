/**
 * `osk render --output-dir DIR`: one file per component, in apply order. osk deletes only what it
 * wrote itself: a marker file in DIR lists the files of the last render, and the next render
 * removes and replaces exactly those. A directory that is neither empty nor marked is refused,
 * naming what is there, and a file of the user's that has the name of a new file is never
 * overwritten: a render into a GitOps repository must not cost anyone a file.
 */
import { lstat, mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, OskError } from '../errors.js';
import { errnoOf } from './paths.js';

const MARKER = '.osk-render';
const MARKER_HEADER =
  '# Written by osk render. The next osk render --output-dir into this directory removes and replaces\n# exactly the files listed here and nothing else; files of your own beside them are left alone.\n';
/** The names osk render writes: NNN-<group>.yaml or .json. A marker listing anything else was edited. */
const RENDERED_NAME = /^\d{2,4}-[a-z0-9][a-z0-9.-]*\.(yaml|json)$/;

interface RenderedFile {
  name: string;
  text: string;
  mode: number;
}

const refuse = (message: string, hint: string) => new OskError(message, { exitCode: ExitCode.invalidInput, hint });

/** The files an earlier osk render listed in DIR's marker; undefined when DIR has no marker. */
async function markedFiles(dir: string, entries: string[]): Promise<string[] | undefined> {
  if (!entries.includes(MARKER)) return undefined;
  const marker = join(dir, MARKER);
  if (!(await lstat(marker)).isFile())
    throw refuse(
      `--output-dir ${dir}: ${marker} is not a file osk render wrote`,
      `move ${marker} away, or choose another directory`,
    );
  const names = (await readFile(marker, 'utf8'))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const foreign = names.filter((n) => !RENDERED_NAME.test(n));
  if (foreign.length) {
    throw refuse(
      `--output-dir ${dir}: its ${MARKER} lists ${foreign.map((n) => JSON.stringify(n)).join(', ')}, which osk render never writes; osk will not delete files on the word of an edited list`,
      `restore ${MARKER} to the list osk wrote, or render into a new directory`,
    );
  }
  return names;
}

function list(names: string[]): string {
  const shown = names.slice(0, 10).join(', ');
  return names.length > 10 ? `${shown} and ${names.length - 10} more` : shown;
}

async function writeMarker(dir: string, names: string[]): Promise<void> {
  const tmp = join(dir, `${MARKER}.${process.pid}.tmp`);
  await writeFile(tmp, MARKER_HEADER + names.map((n) => `${n}\n`).join(''), { mode: 0o644, flag: 'wx' });
  await rename(tmp, join(dir, MARKER));
}

/**
 * Write `files` into `dir` (created when missing). Returns the names of the earlier render's files
 * that were removed because no new file replaces them (components that left the cloud).
 */
export async function writeRenderDir(dir: string, files: RenderedFile[]): Promise<{ removed: string[] }> {
  let isDir: boolean;
  try {
    isDir = (await stat(dir)).isDirectory();
  } catch (e) {
    if (errnoOf(e)?.code !== 'ENOENT') throw e;
    await mkdir(dir, { recursive: true });
    isDir = true;
  }
  if (!isDir)
    throw refuse(
      `--output-dir ${dir} is a file; expected a directory`,
      'name a new or empty directory (or one an earlier osk render --output-dir wrote)',
    );

  const entries = await readdir(dir);
  const owned = await markedFiles(dir, entries);
  if (owned === undefined && entries.length > 0) {
    // An osk from before the marker wrote the same names without one: its files cannot be told
    // from a user's, so the user removes them once.
    const looksRendered = entries.every((n) => RENDERED_NAME.test(n));
    throw refuse(
      `--output-dir ${dir} is not empty and osk render did not write it (it has no ${MARKER}): ${list(entries.sort())} would be in the way; osk never deletes or overwrites files it did not write`,
      looksRendered
        ? `if an older osk rendered them (it wrote no ${MARKER}), remove them once: rm ${join(dir, '[0-9]*-*.yaml')}; else render into a new directory`
        : 'render into a new or empty directory, or move those files away',
    );
  }
  const mine = new Set((owned ?? []).filter((n) => entries.includes(n)));
  const newNames = files.map((f) => f.name);
  const inTheWay = newNames.filter((n) => entries.includes(n) && !mine.has(n));
  if (inTheWay.length) {
    throw refuse(
      `--output-dir ${dir}: ${list(inTheWay)} ${inTheWay.length === 1 ? 'is' : 'are'} in the way: not written by osk render (not in its ${MARKER}), so osk will not replace ${inTheWay.length === 1 ? 'it' : 'them'}`,
      'move those files away, or render into a new directory',
    );
  }
  for (const n of mine) {
    if ((await lstat(join(dir, n))).isDirectory())
      throw refuse(
        `--output-dir ${dir}: ${n} is now a directory; osk render wrote a file there and will not remove a directory`,
        `move ${join(dir, n)} away`,
      );
  }

  // The marker first lists everything osk may have written by the end, so an interrupted render
  // leaves no file of osk's unlisted (and so never a file a later render refuses as the user's).
  await writeMarker(dir, [...new Set([...mine, ...newNames])].sort());
  for (const n of mine) await unlink(join(dir, n));
  // 'wx': never write through a file or link that appeared since the check.
  for (const f of files) await writeFile(join(dir, f.name), f.text, { mode: f.mode, flag: 'wx' });
  await writeMarker(dir, [...newNames].sort());
  return { removed: [...mine].filter((n) => !newNames.includes(n)).sort() };
}
