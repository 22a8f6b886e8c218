/** Checks of an all-in-one cloud's backup: its files against the manifest, and a restore drill. */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ExitCode, OskError } from '../../../errors.js';
import { backupOvnCounts, dumpTableStats, type Log, must } from './host-tools.js';
import {
  type Manifest,
  compareOvn,
  compareTables,
  describeDiff,
  readManifest,
  sha256File,
  verifyFiles,
} from './manifest.js';

/** Refuse a backup unless the manifest and every file check out. Reads only. */
export async function checkBackup(dir: string): Promise<Manifest> {
  if (!existsSync(dir)) throw new OskError(`${dir} does not exist`, { exitCode: ExitCode.invalidInput });
  const { manifest, problems } = await readManifest(dir);
  if (manifest && problems.length === 0) problems.push(...(await verifyFiles(dir, manifest.files)));
  if (!manifest || problems.length) {
    throw new OskError(
      `the backup in ${dir} is damaged or incomplete; nothing was touched:\n${problems.map((p) => `  ${p.name}: ${p.problem}`).join('\n')}`,
      { hint: 'use another backup (osk backup writes a new one)' },
    );
  }
  return manifest;
}

export interface VerifyResult {
  ok: boolean;
  dir: string;
  cloud?: string;
  createdAt?: string;
  files: { name: string; ok: boolean; problem?: string }[];
  tablesChecked: number;
  rowsChecked: number;
  tableDiffs: string[];
  ovnDiffs: string[];
  imageDiffs: string[];
  seconds: number;
  summary: string;
}

/** `osk backup verify`: the files, then a restore drill into a scratch MariaDB and temp copies. */
export async function verifyBackup(dir: string, o: { log: Log }): Promise<VerifyResult> {
  const t0 = Date.now();
  const { manifest, problems } = await readManifest(dir);
  const fileProblems = manifest && !problems.length ? await verifyFiles(dir, manifest.files) : [];
  const all = [...problems, ...fileProblems];
  const files = (manifest?.files ?? []).map((f) => {
    const p = all.find((x) => x.name === f.name);
    return p ? { name: f.name, ok: false, problem: p.problem } : { name: f.name, ok: true };
  });
  for (const p of problems) files.push({ name: p.name, ok: false, problem: p.problem });
  const base = { dir, ...(manifest ? { cloud: manifest.cloud, createdAt: manifest.createdAt } : {}), files };
  if (!manifest || all.length) {
    return {
      ...base,
      ok: false,
      tablesChecked: 0,
      rowsChecked: 0,
      tableDiffs: [],
      ovnDiffs: [],
      imageDiffs: [],
      seconds: (Date.now() - t0) / 1000,
      summary: `backup ${dir} is NOT restorable: damaged or incomplete\n${all.map((p) => `  ${p.name}: ${p.problem}`).join('\n')}`,
    };
  }
  o.log(`every file of ${dir} matches the manifest; loading the databases into a scratch MariaDB`);
  const found = await dumpTableStats(join(dir, 'mariadb.sql.gz'), manifest.databases);
  const diffs = compareTables(manifest.tables, found);
  const tmp = await mkdtemp(join(tmpdir(), 'osk-verify-'));
  let ovnDiffs: string[] = [];
  const imageDiffs: string[] = [];
  try {
    ovnDiffs = compareOvn(manifest.ovn, await backupOvnCounts(dir, tmp));
    await must(['tar', '-tzf', join(dir, 'keys.tar.gz')], 'listing keys.tar.gz');
    await must(['tar', '-xzf', join(dir, 'glance-images.tar.gz'), '-C', tmp], 'extracting glance-images.tar.gz');
    for (const img of manifest.images) {
      const p = join(tmp, 'images', img.file);
      const sum = existsSync(p) ? await sha256File(p) : 'missing';
      if (sum !== img.sha256) imageDiffs.push(`${img.file}: ${sum === 'missing' ? 'missing' : 'sha256 differs'}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  const rows = found.reduce((a, t) => a + t.rows, 0);
  const ok = diffs.length === 0 && ovnDiffs.length === 0 && imageDiffs.length === 0;
  const seconds = (Date.now() - t0) / 1000;
  const summary = [
    `backup ${dir} of cloud ${manifest.cloud} (${manifest.createdAt}): ${ok ? 'restorable' : 'NOT restorable'}`,
    `  files:     ${files.length} match their sha256`,
    `  databases: ${manifest.databases.length} loaded into a scratch MariaDB; ${found.length} tables, ${rows} rows; ${diffs.length ? `${diffs.length} differ from the manifest` : 'row counts and checksums equal to the manifest'}`,
    `  OVN:       ${manifest.ovn.length} tables; ${ovnDiffs.length ? `${ovnDiffs.length} differ` : 'row counts equal'}`,
    `  images:    ${manifest.images.length} files; ${imageDiffs.length ? `${imageDiffs.length} differ` : 'sha256 equal'}`,
    ...diffs.slice(0, 20).map((d) => `  ${describeDiff(d)}`),
    ...ovnDiffs.map((d) => `  ${d}`),
    ...imageDiffs.map((d) => `  ${d}`),
    `  (${seconds.toFixed(1)} s)`,
  ].join('\n');
  return {
    ...base,
    ok,
    tablesChecked: found.length,
    rowsChecked: rows,
    tableDiffs: diffs.map(describeDiff),
    ovnDiffs,
    imageDiffs,
    seconds,
    summary,
  };
}
