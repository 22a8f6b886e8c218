/**
 * The manifest of an all-in-one backup and the checks on it (pure, apart from reading files):
 * every file's size and sha256, every table's row count and checksum, and which backups
 * retention keeps. A backup is trusted only when all of its files match; restore checks that
 * in full before it touches anything.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

export const MANIFEST = 'manifest.json';
/** sha256 of manifest.json itself, so a damaged manifest is caught too. */
export const MANIFEST_SUM = 'manifest.json.sha256';
export const FORMAT = 'osk.dev/backup-v1';

export interface FileEntry {
  /** Relative to the backup directory. */
  name: string;
  bytes: number;
  sha256: string;
  /** What it holds, for people. */
  content: string;
}

export interface TableEntry {
  db: string;
  table: string;
  rows: number;
  /** CHECKSUM TABLE (MariaDB's live checksum over every row); null when the server gives none. */
  checksum: string | null;
}

export interface OvnTableCount {
  db: 'OVN_Northbound' | 'OVN_Southbound';
  table: string;
  rows: number;
}

export interface Manifest {
  format: typeof FORMAT;
  cloud: string;
  oskVersion: string;
  createdAt: string;
  host: string;
  /** Debian package versions the data was made with. */
  packages: Record<string, string>;
  /** How the databases were captured. */
  databaseMethod: string;
  databases: string[];
  files: FileEntry[];
  tables: TableEntry[];
  ovn: OvnTableCount[];
  /** Glance's image files as they were (sha256 of each). */
  images: { file: string; bytes: number; sha256: string }[];
  seconds: number;
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export function sha256Text(text: string | Buffer): string {
  return createHash('sha256').update(text).digest('hex');
}

interface FileProblem {
  name: string;
  problem: string;
}

/** Read manifest.json, checked against its own sha256 and for the fields osk needs. */
export async function readManifest(dir: string): Promise<{ manifest?: Manifest; problems: FileProblem[] }> {
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST), 'utf8');
  } catch (e) {
    return {
      problems: [
        {
          name: MANIFEST,
          problem: `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message} (not a backup, or an unfinished one)`,
        },
      ],
    };
  }
  const problems: FileProblem[] = [];
  const sum = await readFile(join(dir, MANIFEST_SUM), 'utf8').catch(() => undefined);
  if (sum === undefined) problems.push({ name: MANIFEST_SUM, problem: 'missing' });
  else if (sum.trim().split(/\s+/)[0] !== sha256Text(text))
    problems.push({
      name: MANIFEST,
      problem: 'sha256 differs from manifest.json.sha256: the manifest was changed or damaged',
    });
  let m: Manifest;
  try {
    m = JSON.parse(text) as Manifest;
  } catch (e) {
    problems.push({ name: MANIFEST, problem: `not valid JSON: ${(e as Error).message}` });
    return { problems };
  }
  if (m.format !== FORMAT)
    problems.push({ name: MANIFEST, problem: `format is ${JSON.stringify(m.format)}, expected ${FORMAT}` });
  if (!Array.isArray(m.files) || !Array.isArray(m.tables) || typeof m.cloud !== 'string')
    problems.push({ name: MANIFEST, problem: 'lacks files, tables or cloud' });
  return { manifest: m, problems };
}

/** Every file of the manifest: present, the recorded size, the recorded sha256. */
export async function verifyFiles(dir: string, files: readonly FileEntry[]): Promise<FileProblem[]> {
  const problems: FileProblem[] = [];
  for (const f of files) {
    if (f.name.includes('..') || f.name.startsWith('/')) {
      problems.push({ name: f.name, problem: 'path leaves the backup directory' });
      continue;
    }
    const p = join(dir, f.name);
    const st = await stat(p).catch(() => undefined);
    if (!st) {
      problems.push({ name: f.name, problem: 'missing' });
      continue;
    }
    if (st.size !== f.bytes) {
      problems.push({
        name: f.name,
        problem: `${st.size} bytes, the manifest says ${f.bytes}${st.size < f.bytes ? ' (truncated)' : ''}`,
      });
      continue;
    }
    const sum = await sha256File(p);
    if (sum !== f.sha256)
      problems.push({
        name: f.name,
        problem: `sha256 ${sum.slice(0, 16)}… differs from the manifest's ${f.sha256.slice(0, 16)}… (damaged)`,
      });
  }
  return problems;
}

export interface TableDiff {
  db: string;
  table: string;
  expected: { rows: number; checksum: string | null } | null;
  found: { rows: number; checksum: string | null } | null;
}

/** Tables whose row count or checksum differ, or that exist on one side only. */
export function compareTables(expected: readonly TableEntry[], found: readonly TableEntry[]): TableDiff[] {
  const key = (t: TableEntry) => `${t.db}.${t.table}`;
  const have = new Map(found.map((t) => [key(t), t]));
  const diffs: TableDiff[] = [];
  for (const e of expected) {
    const f = have.get(key(e));
    have.delete(key(e));
    if (!f) diffs.push({ db: e.db, table: e.table, expected: { rows: e.rows, checksum: e.checksum }, found: null });
    else if (f.rows !== e.rows || f.checksum !== e.checksum)
      diffs.push({
        db: e.db,
        table: e.table,
        expected: { rows: e.rows, checksum: e.checksum },
        found: { rows: f.rows, checksum: f.checksum },
      });
  }
  for (const f of have.values())
    diffs.push({ db: f.db, table: f.table, expected: null, found: { rows: f.rows, checksum: f.checksum } });
  return diffs;
}

export function describeDiff(d: TableDiff): string {
  const side = (s: TableDiff['expected']) => (s ? `${s.rows} rows, checksum ${s.checksum}` : 'absent');
  return `${d.db}.${d.table}: backup ${side(d.expected)}; now ${side(d.found)}`;
}

export function compareOvn(expected: readonly OvnTableCount[], found: readonly OvnTableCount[]): string[] {
  const f = new Map(found.map((t) => [`${t.db}.${t.table}`, t.rows]));
  return expected
    .filter((e) => f.get(`${e.db}.${e.table}`) !== e.rows)
    .map((e) => `${e.db}.${e.table}: backup ${e.rows} rows, now ${f.get(`${e.db}.${e.table}`) ?? 'absent'}`);
}

/** Backup directory names sort by time: `<cloud>-YYYYMMDDTHHMMSSZ`. */
export function backupName(cloud: string, at: Date): string {
  return `${cloud}-${at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z')}`;
}

/** Of the complete backups of `cloud` (directory names), the ones to delete to keep `copies`. */
export function retention(names: readonly string[], cloud: string, copies: number): string[] {
  const re = new RegExp(`^${cloud.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-\\d{8}T\\d{6}Z$`);
  const mine = names.filter((n) => re.test(n)).sort();
  return mine.slice(0, Math.max(0, mine.length - copies));
}
