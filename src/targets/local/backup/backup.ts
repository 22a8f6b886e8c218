/**
 * Backup, restore and restore drills of an all-in-one cloud.
 *
 * A backup is a directory:
 *   mariadb.sql.gz        every OpenStack database, one mariadb-dump --single-transaction
 *                         (one consistent snapshot: all their tables are InnoDB), gzip
 *   ovn/nb.db.gz, sb.db.gz  ovsdb-client backup of each OVN database (a consistent standalone copy)
 *   keys.tar.gz           secret store, cloud file, Keystone fernet and credential key repositories
 *   glance-images.tar.gz  Glance's image files
 *   manifest.json (+ .sha256)  sizes and sha256 of the files, per-table rows and CHECKSUM TABLE
 *                         (measured on a scratch MariaDB loaded from the dump itself, so they
 *                         describe exactly what the backup holds), OVN row counts, image sha256s,
 *                         package versions.
 */
import { hostMariadbSocket } from '../../../catalog/mariadb.js';
import { connect } from 'node:net';
import { spawn } from 'node:child_process';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { VERSION } from '../../../version.js';
import { ExitCode, OskError } from '../../../errors.js';
import type { CloudFile } from '../../../spec/schema.js';
import { openLocalCloud } from '../cloud.js';
import { stopProcess, supervisorStatus } from '../control.js';
import { readSavedCloudFile } from '../../../state/cloud-file.js';
import { defaultBackupsDir, statePaths, type StatePaths } from '../../../state/paths.js';
import { runCommand } from '../probes.js';
import { hostWaves } from '../up.js';
import {
  backupName,
  compareOvn,
  compareTables,
  describeDiff,
  FORMAT,
  MANIFEST,
  MANIFEST_SUM,
  readManifest,
  retention,
  sha256File,
  sha256Text,
  verifyFiles,
  type FileEntry,
  type Manifest,
  type OvnTableCount,
  type TableDiff,
  type TableEntry,
} from './manifest.js';
import { dumpDatabases, listDatabases, loadDump, nonTransactional, startScratchServer, tableStats } from './mariadb.js';

export type Log = (line: string) => void;

const DB_METHOD = 'mariadb-dump --single-transaction (logical, one consistent InnoDB snapshot of all databases)';
/** `flush_all` on the cloud's memcached (loopback, port 11211). */
function flushMemcached(): Promise<void> {
  return new Promise((resolve, reject) => {
    const sock = connect({ host: '127.0.0.1', port: 11211 });
    let answer = '';
    sock.setTimeout(5000, () => sock.destroy(new Error('memcached did not answer flush_all within 5 s')));
    sock.on('connect', () => sock.write('flush_all\r\n'));
    sock.on('data', (d) => {
      answer += String(d);
      if (answer.includes('\r\n')) {
        sock.end();
        if (answer.startsWith('OK')) resolve();
        else reject(new OskError(`memcached answered flush_all with: ${answer.trim()}`));
      }
    });
    sock.on('error', (e) => reject(new OskError(`cannot empty memcached on 127.0.0.1:11211: ${e.message}`)));
  });
}

/** Programs that keep running through a restore: the database it loads into, and caches/queues without cloud data. */
const KEEP_RUNNING = new Set(['mariadb', 'rabbitmq', 'memcached']);
const PACKAGES = [
  'mariadb-server',
  'ovn-central',
  'keystone',
  'glance-api',
  'nova-api',
  'nova-compute',
  'neutron-server',
  'cinder-api',
  'cinder-volume',
  'placement-api',
];

/** Where `osk backup` keeps a cloud's backups by default (beside the clouds' state, not inside it). */
function defaultBackupDir(cloud: string): string {
  return defaultBackupsDir(cloud);
}

const sock = (p: StatePaths) => ({
  mariadb: hostMariadbSocket(p.run),
  nb: join(p.run, 'ovnnb_db.sock'),
  sb: join(p.run, 'ovnsb_db.sock'),
});

async function must(command: string[], what: string, timeoutMs = 600_000): Promise<string> {
  const r = await runCommand(command, { timeoutMs });
  if (r.code !== 0)
    throw new OskError(`${what} failed (exit ${r.code}): ${r.out.trim().split('\n').slice(-3).join(' ')}`);
  return r.out;
}

async function gzipCommand(command: string[], out: string, what: string): Promise<void> {
  const p = spawn(command[0]!, command.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number>((resolve) => {
    p.on('error', (e) => {
      err += e.message;
      resolve(127);
    });
    p.on('close', (c) => resolve(c ?? 1));
  });
  await pipeline(p.stdout, createGzip({ level: 6 }), createWriteStream(out, { mode: 0o600 }));
  const code = await exited;
  if (code !== 0) throw new OskError(`${what} failed (exit ${code}): ${err.trim()}`);
}

async function gunzipTo(gz: string, out: string): Promise<void> {
  await pipeline(createReadStream(gz), createGunzip(), createWriteStream(out, { mode: 0o600 }));
}

async function packageVersions(): Promise<Record<string, string>> {
  const r = await runCommand(['dpkg-query', '-W', '-f=${Package}\t${Version}\n', ...PACKAGES]);
  const out: Record<string, string> = {};
  for (const l of r.out.split('\n')) {
    const [p, v] = l.split('\t');
    if (p && v) out[p] = v;
  }
  return out;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else if (e.isFile()) out.push(p);
  }
  return out.sort();
}

/** Row counts of every table of a standalone OVSDB file (its schema is the file's first record). */
async function ovnCounts(dbFile: string): Promise<OvnTableCount[]> {
  const head = (await readFile(dbFile, 'utf8')).split('\n', 2)[1] ?? '';
  const schema = JSON.parse(head) as { name: OvnTableCount['db']; tables: Record<string, unknown> };
  const tables = Object.keys(schema.tables).sort();
  const txn = JSON.stringify([
    schema.name,
    ...tables.map((t) => ({ op: 'select', table: t, where: [], columns: ['_uuid'] })),
  ]);
  const res = JSON.parse(await must(['ovsdb-tool', 'query', dbFile, txn], `ovsdb-tool query ${dbFile}`)) as {
    rows?: unknown[];
    error?: string;
  }[];
  return tables.map((t, i) => ({ db: schema.name, table: t, rows: res[i]?.rows?.length ?? -1 }));
}

interface BackupResult {
  dir: string;
  bytes: number;
  seconds: number;
  manifest: Manifest;
  /** Older backups deleted by retention. */
  removed: string[];
  kept: number;
}

export async function backupCloud(cloud: string, o: { to?: string; log: Log; now?: Date }): Promise<BackupResult> {
  const t0 = Date.now();
  const paths = statePaths(cloud);
  const s = sock(paths);
  const file = await readSavedCloudFile(paths.root);
  const ping = await runCommand(['mariadb-admin', `--socket=${s.mariadb}`, '--connect-timeout=2', 'ping'], {
    timeoutMs: 10_000,
  });
  if (ping.code !== 0)
    throw new OskError(
      `the MariaDB of cloud ${cloud} does not answer on ${s.mariadb}; a backup needs the cloud running`,
      { hint: 'start it with: osk up' },
    );
  for (const [k, v] of [
    ['OVN NB', s.nb],
    ['OVN SB', s.sb],
  ] as const)
    if (!existsSync(v))
      throw new OskError(
        `the ${k} database of cloud ${cloud} has no socket at ${v}; a backup needs the cloud running`,
        { hint: 'start it with: osk up' },
      );

  const useDefault = !o.to;
  const dir = o.to ?? join(defaultBackupDir(cloud), backupName(cloud, o.now ?? new Date()));
  if (existsSync(dir) && (await readdir(dir)).length > 0)
    throw new OskError(`${dir} exists and is not empty; a backup goes into a new or empty directory`, {
      exitCode: ExitCode.invalidInput,
    });
  const work = `${dir}.partial-${process.pid}`;
  await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'ovn'), { recursive: true, mode: 0o700 });
  try {
    const dbs = await listDatabases(s.mariadb);
    const odd = await nonTransactional(s.mariadb, dbs);
    if (odd.length) o.log(`warning: not InnoDB, so not covered by the dump's snapshot: ${odd.join(', ')}`);
    let t = Date.now();
    await dumpDatabases(s.mariadb, dbs, join(work, 'mariadb.sql.gz'));
    o.log(`dumped ${dbs.length} databases (${dbs.join(', ')}) in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    t = Date.now();
    await gzipCommand(
      ['ovsdb-client', 'backup', `unix:${s.nb}`, 'OVN_Northbound'],
      join(work, 'ovn', 'nb.db.gz'),
      'ovsdb-client backup OVN_Northbound',
    );
    await gzipCommand(
      ['ovsdb-client', 'backup', `unix:${s.sb}`, 'OVN_Southbound'],
      join(work, 'ovn', 'sb.db.gz'),
      'ovsdb-client backup OVN_Southbound',
    );
    o.log(`OVN NB and SB backed up in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    const keyItems = [
      basename(paths.secrets),
      basename(paths.cloudFile),
      'etc/keystone/fernet-keys',
      'etc/keystone/credential-keys',
    ].filter((k) => existsSync(join(paths.root, k)));
    await must(['tar', '-czf', join(work, 'keys.tar.gz'), '-C', paths.root, ...keyItems], 'tar of the keys');
    const imagesDir = join(paths.data, 'glance', 'images');
    await mkdir(imagesDir, { recursive: true });
    const images = await Promise.all(
      (await filesUnder(imagesDir)).map(async (f) => ({
        file: relative(imagesDir, f),
        bytes: (await stat(f)).size,
        sha256: await sha256File(f),
      })),
    );
    await must(
      ['tar', '-czf', join(work, 'glance-images.tar.gz'), '-C', join(paths.data, 'glance'), 'images'],
      'tar of the Glance images',
    );
    o.log(`keys (${keyItems.join(', ')}) and ${images.length} image files archived`);

    // Row counts and checksums of what the dump holds: load it into a scratch server.
    t = Date.now();
    const scratch = await startScratchServer();
    let tables: TableEntry[];
    try {
      await loadDump(scratch.socket, join(work, 'mariadb.sql.gz'));
      tables = await tableStats(scratch.socket, dbs);
    } finally {
      await scratch.stop();
    }
    o.log(
      `counted and checksummed ${tables.length} tables on a scratch MariaDB in ${((Date.now() - t) / 1000).toFixed(1)} s`,
    );
    const ovnTmp = await mkdtemp(join(tmpdir(), 'osk-ovn-'));
    let ovn: OvnTableCount[] = [];
    try {
      for (const w of ['nb', 'sb']) {
        await gunzipTo(join(work, 'ovn', `${w}.db.gz`), join(ovnTmp, `${w}.db`));
        ovn = ovn.concat(await ovnCounts(join(ovnTmp, `${w}.db`)));
      }
    } finally {
      await rm(ovnTmp, { recursive: true, force: true });
    }

    const content: Record<string, string> = {
      'mariadb.sql.gz': `databases ${dbs.join(', ')}`,
      'ovn/nb.db.gz': 'OVN_Northbound (ovsdb-client backup)',
      'ovn/sb.db.gz': 'OVN_Southbound (ovsdb-client backup)',
      'keys.tar.gz': keyItems.join(', '),
      'glance-images.tar.gz': `${images.length} Glance image files`,
    };
    const files: FileEntry[] = [];
    for (const name of Object.keys(content))
      files.push({
        name,
        bytes: (await stat(join(work, name))).size,
        sha256: await sha256File(join(work, name)),
        content: content[name]!,
      });
    const manifest: Manifest = {
      format: FORMAT,
      cloud,
      oskVersion: VERSION,
      createdAt: new Date(t0).toISOString(),
      host: hostname(),
      packages: await packageVersions(),
      databaseMethod: DB_METHOD,
      databases: dbs,
      files,
      tables,
      ovn,
      images,
      seconds: (Date.now() - t0) / 1000,
    };
    const text = `${JSON.stringify(manifest, null, 2)}\n`;
    await writeFile(join(work, MANIFEST), text, { mode: 0o600 });
    await writeFile(join(work, MANIFEST_SUM), `${sha256Text(text)}  ${MANIFEST}\n`, { mode: 0o600 });
    if (existsSync(dir)) await rm(dir, { recursive: true });
    await rename(work, dir);
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }

  const { manifest } = await readManifest(dir);
  const bytes = manifest!.files.reduce((a, f) => a + f.bytes, 0);
  let removed: string[] = [];
  const kept = file.spec.backup?.copies ?? 3;
  if (useDefault) {
    const base = defaultBackupDir(cloud);
    const complete = [];
    for (const n of await readdir(base)) if (existsSync(join(base, n, MANIFEST))) complete.push(n);
    removed = retention(complete, cloud, kept);
    for (const n of removed) await rm(join(base, n), { recursive: true, force: true });
  }
  return { dir, bytes, seconds: (Date.now() - t0) / 1000, manifest: manifest!, removed, kept };
}

/** Refuse a backup unless the manifest and every file check out. Reads only. */
async function checkBackup(dir: string): Promise<Manifest> {
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
  const scratch = await startScratchServer();
  let diffs: TableDiff[];
  let found: TableEntry[];
  try {
    await loadDump(scratch.socket, join(dir, 'mariadb.sql.gz'));
    found = await tableStats(scratch.socket, manifest.databases);
    diffs = compareTables(manifest.tables, found);
  } finally {
    await scratch.stop();
  }
  const tmp = await mkdtemp(join(tmpdir(), 'osk-verify-'));
  let ovnDiffs: string[] = [];
  const imageDiffs: string[] = [];
  try {
    let ovn: OvnTableCount[] = [];
    for (const w of ['nb', 'sb']) {
      await gunzipTo(join(dir, 'ovn', `${w}.db.gz`), join(tmp, `${w}.db`));
      ovn = ovn.concat(await ovnCounts(join(tmp, `${w}.db`)));
    }
    ovnDiffs = compareOvn(manifest.ovn, ovn);
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

export interface RestoreResult {
  ok: boolean;
  cloud: string;
  from: string;
  stopped: string[];
  tablesChecked: number;
  rowsChecked: number;
  tableDiffs: string[];
  images: number;
  seconds: { total: number; stop: number; databases: number; files: number; up: number };
  summary: string;
}

export async function restoreCloud(
  from: string,
  o: { cloud?: string; confirm: (cloud: string) => Promise<boolean>; up: (file: CloudFile) => Promise<void>; log: Log },
): Promise<RestoreResult> {
  const t0 = Date.now();
  // 1. Everything is checked before anything is touched.
  const manifest = await checkBackup(from);
  const cloud = o.cloud ?? manifest.cloud;
  if (cloud !== manifest.cloud)
    throw new OskError(`the backup in ${from} is of cloud ${manifest.cloud}, not ${cloud}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'a backup restores into the cloud it was made of (its credentials are part of it)',
    });
  const paths = statePaths(cloud);
  if (!existsSync(paths.cloudFile))
    throw new OskError(`there is no all-in-one cloud named ${cloud} on this host`, {
      exitCode: ExitCode.invalidInput,
      hint: 'osk up creates it (with the same name), then restore into it',
    });
  const s = sock(paths);
  const sup = await supervisorStatus(paths);
  if (!sup?.processes.some((p) => p.id === 'mariadb' && p.state === 'running'))
    throw new OskError(`cloud ${cloud} is not running: the restore loads the databases into its MariaDB`, {
      exitCode: ExitCode.invalidInput,
      hint: 'start it with osk up, then restore',
    });
  o.log(
    `backup ${from} checked: ${manifest.files.length} files match their sha256 (${manifest.createdAt}, ${manifest.tables.length} tables)`,
  );

  // Unpack into a staging dir of the cloud (same file system) before stopping anything.
  const stage = join(paths.root, `restore-staging-${process.pid}`);
  await rm(stage, { recursive: true, force: true });
  await mkdir(join(stage, 'keys'), { recursive: true, mode: 0o700 });
  await mkdir(join(stage, 'glance'), { recursive: true, mode: 0o700 });
  try {
    await must(['tar', '-xzf', join(from, 'keys.tar.gz'), '-C', join(stage, 'keys')], 'unpacking keys.tar.gz');
    await must(
      ['tar', '-xzf', join(from, 'glance-images.tar.gz'), '-C', join(stage, 'glance')],
      'unpacking glance-images.tar.gz',
    );
    for (const w of ['nb', 'sb']) await gunzipTo(join(from, 'ovn', `${w}.db.gz`), join(stage, `ovn${w}_db.db`));
    const file = await readSavedCloudFile(join(stage, 'keys'), join(from, 'keys.tar.gz:cloud.yaml'));

    if (!(await o.confirm(cloud)))
      throw new OskError('not confirmed; nothing was touched', { exitCode: ExitCode.invalidInput });

    // 2. Stop the OpenStack services and OVN, all at once: their data is about to be replaced,
    // so no order among them matters (osk down's dependants-first order is for a clean stop),
    // only that none writes when the load starts. MariaDB stays up to load into.
    let t = Date.now();
    const { model } = await openLocalCloud(cloud);
    const stopped = hostWaves(model)
      .flat()
      .filter((id) => !KEEP_RUNNING.has(id) && sup.processes.some((p) => p.id === id));
    await Promise.all(stopped.map((id) => stopProcess(paths, id)));
    const stopS = (Date.now() - t) / 1000;
    o.log(
      `stopped ${stopped.length} programs in ${stopS.toFixed(1)} s (kept running: ${[...KEEP_RUNNING].join(', ')})`,
    );

    // 3. Databases.
    t = Date.now();
    await loadDump(s.mariadb, join(from, 'mariadb.sql.gz'));
    const found = await tableStats(s.mariadb, manifest.databases);
    const diffs = compareTables(manifest.tables, found);
    const dbS = (Date.now() - t) / 1000;
    o.log(
      `loaded ${manifest.databases.length} databases in ${dbS.toFixed(1)} s; ${diffs.length ? `${diffs.length} tables differ from the manifest` : `all ${found.length} tables have the manifest's row counts and checksums`}`,
    );

    // 4. OVN databases, keys and the secret store, images.
    t = Date.now();
    for (const w of ['nb', 'sb']) await rename(join(stage, `ovn${w}_db.db`), join(paths.data, 'ovn', `ovn${w}_db.db`));
    for (const item of await readdir(join(stage, 'keys'))) {
      if (item === 'etc') {
        for (const k of await readdir(join(stage, 'keys', 'etc', 'keystone'))) {
          await rm(join(paths.etc, 'keystone', k), { recursive: true, force: true });
          await cp(join(stage, 'keys', 'etc', 'keystone', k), join(paths.etc, 'keystone', k), {
            recursive: true,
            preserveTimestamps: true,
          });
        }
      } else {
        await cp(join(stage, 'keys', item), join(paths.root, item), { preserveTimestamps: true, force: true });
      }
    }
    const images = join(paths.data, 'glance', 'images');
    await rm(images, { recursive: true, force: true });
    await rename(join(stage, 'glance', 'images'), images);
    const filesS = (Date.now() - t) / 1000;
    o.log(
      `restored the OVN NB/SB databases, keys, secret store and ${manifest.images.length} image files in ${filesS.toFixed(1)} s`,
    );

    // 5. Memcached kept serving through the restore and still holds what Keystone and the
    // services cached from the data just replaced (a deleted project, stale role assignments):
    // empty it before anything reads it again.
    await flushMemcached();
    o.log('emptied memcached (it cached the state before the restore)');

    // 6. Start again with osk up's own code.
    t = Date.now();
    await o.up(file);
    const upS = (Date.now() - t) / 1000;
    const rows = found.reduce((a, x) => a + x.rows, 0);
    const total = (Date.now() - t0) / 1000;
    const ok = diffs.length === 0;
    return {
      ok,
      cloud,
      from,
      stopped,
      tablesChecked: found.length,
      rowsChecked: rows,
      tableDiffs: diffs.map(describeDiff),
      images: manifest.images.length,
      seconds: { total, stop: stopS, databases: dbS, files: filesS, up: upS },
      summary: [
        `cloud ${cloud} restored from ${from} (${manifest.createdAt}) in ${total.toFixed(1)} s and started again`,
        `  databases: ${found.length} tables, ${rows} rows; ${ok ? 'row counts and checksums equal to the manifest' : `${diffs.length} tables DIFFER from the manifest`}`,
        ...diffs.slice(0, 20).map((d) => `    ${describeDiff(d)}`),
        `  OVN NB/SB, keys, secret store, ${manifest.images.length} image files restored`,
      ].join('\n'),
    };
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
