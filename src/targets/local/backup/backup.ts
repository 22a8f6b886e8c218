/**
 * Backup of an all-in-one cloud; verify.ts checks one (restore drill), restore.ts restores it.
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
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, dirname, join, relative } from 'node:path';
import { VERSION } from '../../../version.js';
import { ExitCode, OskError } from '../../../errors.js';
import { readSavedCloudFile } from '../../../state/cloud-file.js';
import { defaultBackupsDir, type StatePaths, statePaths } from '../../../state/paths.js';
import { runCommand } from '../../../run-command.js';
import { backupOvnCounts, dumpTableStats, filesUnder, type Log, must, packageVersions, sock } from './host-tools.js';
import { gzipCommand } from './gzip.js';
import {
  FORMAT,
  type FileEntry,
  MANIFEST,
  MANIFEST_SUM,
  type Manifest,
  backupName,
  readManifest,
  retention,
  sha256File,
  sha256Text,
} from './manifest.js';
import { dumpDatabases, listDatabases, nonTransactional } from './mariadb.js';

const DB_METHOD = 'mariadb-dump --single-transaction (logical, one consistent InnoDB snapshot of all databases)';

export interface BackupResult {
  dir: string;
  bytes: number;
  seconds: number;
  manifest: Manifest;
  /** Older backups deleted by retention. */
  removed: string[];
  kept: number;
}

const since = (t: number) => ((Date.now() - t) / 1000).toFixed(1);

/** A backup reads the running cloud: its MariaDB answers and both OVN databases have their socket. */
async function requireRunning(cloud: string, s: ReturnType<typeof sock>): Promise<void> {
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
}

async function backupOvn(s: ReturnType<typeof sock>, work: string, log: Log): Promise<void> {
  const t = Date.now();
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
  log(`OVN NB and SB backed up in ${since(t)} s`);
}

/** keys.tar.gz and glance-images.tar.gz; returns what the keys archive holds and the images' sums. */
async function archiveKeysAndImages(
  paths: StatePaths,
  work: string,
  log: Log,
): Promise<{ keyItems: string[]; images: Manifest['images'] }> {
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
  log(`keys (${keyItems.join(', ')}) and ${images.length} image files archived`);
  return { keyItems, images };
}

/** Write every file of the backup into `work`, the manifest last. */
async function writeBackup(cloud: string, paths: StatePaths, work: string, t0: number, log: Log): Promise<void> {
  const s = sock(paths);
  const dbs = await listDatabases(s.mariadb);
  const odd = await nonTransactional(s.mariadb, dbs);
  if (odd.length) log(`warning: not InnoDB, so not covered by the dump's snapshot: ${odd.join(', ')}`);
  let t = Date.now();
  await dumpDatabases(s.mariadb, dbs, join(work, 'mariadb.sql.gz'));
  log(`dumped ${dbs.length} databases (${dbs.join(', ')}) in ${since(t)} s`);
  await backupOvn(s, work, log);
  const { keyItems, images } = await archiveKeysAndImages(paths, work, log);

  // Row counts and checksums of what the dump holds: load it into a scratch server.
  t = Date.now();
  const tables = await dumpTableStats(join(work, 'mariadb.sql.gz'), dbs);
  log(`counted and checksummed ${tables.length} tables on a scratch MariaDB in ${since(t)} s`);
  const ovnTmp = await mkdtemp(join(tmpdir(), 'osk-ovn-'));
  let ovn: Manifest['ovn'];
  try {
    ovn = await backupOvnCounts(work, ovnTmp);
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
}

/** Keep the newest `kept` complete backups in the default directory; returns the ones deleted. */
async function pruneDefaultDir(cloud: string, kept: number): Promise<string[]> {
  const base = defaultBackupsDir(cloud);
  const complete = [];
  for (const n of await readdir(base)) if (existsSync(join(base, n, MANIFEST))) complete.push(n);
  const removed = retention(complete, cloud, kept);
  for (const n of removed) await rm(join(base, n), { recursive: true, force: true });
  return removed;
}

export async function backupCloud(cloud: string, o: { to?: string; log: Log; now?: Date }): Promise<BackupResult> {
  const t0 = Date.now();
  const paths = statePaths(cloud);
  const file = await readSavedCloudFile(paths.root);
  if (file.spec.storage?.backend === 'ceph')
    // A backup without the cluster's data would restore image and volume rows whose data is gone:
    // refused rather than written and called restorable.
    throw new OskError(
      `cloud ${cloud} keeps its images, volumes and instance disks in its own Ceph cluster, which osk backup does not copy yet: a backup of it could not be restored`,
      {
        exitCode: ExitCode.invalidInput,
        hint: "back volumes up with Cinder (openstack volume backup create: into the cluster's backups pool); osk backup covers clouds with storage.backend local",
      },
    );
  await requireRunning(cloud, sock(paths));

  const useDefault = !o.to;
  const dir = o.to ?? join(defaultBackupsDir(cloud), backupName(cloud, o.now ?? new Date()));
  if (existsSync(dir) && (await readdir(dir)).length > 0)
    throw new OskError(`${dir} exists and is not empty; a backup goes into a new or empty directory`, {
      exitCode: ExitCode.invalidInput,
    });
  // Written aside and renamed into place: a directory with that name is a complete backup.
  const work = `${dir}.partial-${process.pid}`;
  await mkdir(dirname(dir), { recursive: true, mode: 0o700 });
  await rm(work, { recursive: true, force: true });
  await mkdir(join(work, 'ovn'), { recursive: true, mode: 0o700 });
  try {
    await writeBackup(cloud, paths, work, t0, o.log);
    if (existsSync(dir)) await rm(dir, { recursive: true });
    await rename(work, dir);
  } catch (e) {
    await rm(work, { recursive: true, force: true });
    throw e;
  }

  const { manifest } = await readManifest(dir);
  const bytes = manifest!.files.reduce((a, f) => a + f.bytes, 0);
  const kept = file.spec.backup?.copies ?? 3;
  const removed = useDefault ? await pruneDefaultDir(cloud, kept) : [];
  return { dir, bytes, seconds: (Date.now() - t0) / 1000, manifest: manifest!, removed, kept };
}
