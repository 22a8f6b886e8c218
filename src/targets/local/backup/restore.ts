/**
 * Restore of an all-in-one cloud from its backup: everything checked and unpacked before anything
 * is stopped, then the services stopped, the data replaced, caches emptied and the cloud started
 * again with osk up's own code.
 */
import { connect } from 'node:net';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, OskError } from '../../../errors.js';
import type { CloudFile } from '../../../spec/schema.js';
import { openLocalCloud } from '../cloud.js';
import { stopProcess, supervisorStatus } from '../control.js';
import { readSavedCloudFile } from '../../../state/cloud-file.js';
import { type StatePaths, statePaths } from '../../../state/paths.js';
import { hostWaves } from '../up.js';
import { gunzipTo } from './gzip.js';
import { type Log, must, sock } from './host-tools.js';
import { type Manifest, type TableDiff, type TableEntry, compareTables, describeDiff } from './manifest.js';
import { loadDump, tableStats } from './mariadb.js';
import { checkBackup } from './verify.js';

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

type Supervisor = NonNullable<Awaited<ReturnType<typeof supervisorStatus>>>;

/** Step 1, before anything is touched: the backup, the cloud it restores into, that cloud running. */
async function checkRestore(
  from: string,
  wanted: string | undefined,
): Promise<{ manifest: Manifest; cloud: string; paths: StatePaths; sup: Supervisor }> {
  const manifest = await checkBackup(from);
  const cloud = wanted ?? manifest.cloud;
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
  const sup = await supervisorStatus(paths);
  if (!sup?.processes.some((p) => p.id === 'mariadb' && p.state === 'running'))
    throw new OskError(`cloud ${cloud} is not running: the restore loads the databases into its MariaDB`, {
      exitCode: ExitCode.invalidInput,
      hint: 'start it with osk up, then restore',
    });
  return { manifest, cloud, paths, sup };
}

/** Unpack the archives into the staging dir; returns the cloud file of the backup. */
async function unpack(from: string, stage: string): Promise<CloudFile> {
  await must(['tar', '-xzf', join(from, 'keys.tar.gz'), '-C', join(stage, 'keys')], 'unpacking keys.tar.gz');
  await must(
    ['tar', '-xzf', join(from, 'glance-images.tar.gz'), '-C', join(stage, 'glance')],
    'unpacking glance-images.tar.gz',
  );
  for (const w of ['nb', 'sb']) await gunzipTo(join(from, 'ovn', `${w}.db.gz`), join(stage, `ovn${w}_db.db`));
  return readSavedCloudFile(join(stage, 'keys'), join(from, 'keys.tar.gz:cloud.yaml'));
}

/**
 * Step 2: stop the OpenStack services and OVN, all at once: their data is about to be replaced,
 * so no order among them matters (osk down's dependants-first order is for a clean stop), only
 * that none writes when the load starts. MariaDB stays up to load into.
 */
async function stopWriters(cloud: string, paths: StatePaths, sup: Supervisor): Promise<string[]> {
  const { model } = await openLocalCloud(cloud);
  const stopped = hostWaves(model)
    .flat()
    .filter((id) => !KEEP_RUNNING.has(id) && sup.processes.some((p) => p.id === id));
  await Promise.all(stopped.map((id) => stopProcess(paths, id)));
  return stopped;
}

/** Step 4: OVN databases, keys and the secret store, images, moved in from the staging dir. */
async function restoreFiles(stage: string, paths: StatePaths): Promise<void> {
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
}

const seconds = (since: number) => (Date.now() - since) / 1000;

export async function restoreCloud(
  from: string,
  o: { cloud?: string; confirm: (cloud: string) => Promise<boolean>; up: (file: CloudFile) => Promise<void>; log: Log },
): Promise<RestoreResult> {
  const t0 = Date.now();
  // 1. Everything is checked before anything is touched.
  const { manifest, cloud, paths, sup } = await checkRestore(from, o.cloud);
  const s = sock(paths);
  o.log(
    `backup ${from} checked: ${manifest.files.length} files match their sha256 (${manifest.createdAt}, ${manifest.tables.length} tables)`,
  );

  // Unpack into a staging dir of the cloud (same file system) before stopping anything.
  const stage = join(paths.root, `restore-staging-${process.pid}`);
  await rm(stage, { recursive: true, force: true });
  await mkdir(join(stage, 'keys'), { recursive: true, mode: 0o700 });
  await mkdir(join(stage, 'glance'), { recursive: true, mode: 0o700 });
  try {
    const file = await unpack(from, stage);
    if (!(await o.confirm(cloud)))
      throw new OskError('not confirmed; nothing was touched', { exitCode: ExitCode.invalidInput });

    // 2. Stop what writes the data.
    let t = Date.now();
    const stopped = await stopWriters(cloud, paths, sup);
    const stopS = seconds(t);
    o.log(
      `stopped ${stopped.length} programs in ${stopS.toFixed(1)} s (kept running: ${[...KEEP_RUNNING].join(', ')})`,
    );

    // 3. Databases.
    t = Date.now();
    await loadDump(s.mariadb, join(from, 'mariadb.sql.gz'));
    const found = await tableStats(s.mariadb, manifest.databases);
    const diffs = compareTables(manifest.tables, found);
    const dbS = seconds(t);
    o.log(
      `loaded ${manifest.databases.length} databases in ${dbS.toFixed(1)} s; ${diffs.length ? `${diffs.length} tables differ from the manifest` : `all ${found.length} tables have the manifest's row counts and checksums`}`,
    );

    // 4. OVN databases, keys and the secret store, images.
    t = Date.now();
    await restoreFiles(stage, paths);
    const filesS = seconds(t);
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
    const upS = seconds(t);
    const total = seconds(t0);
    return restoreResult(
      { cloud, from, manifest, stopped, found, diffs },
      { total, stop: stopS, databases: dbS, files: filesS, up: upS },
    );
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

function restoreResult(
  r: { cloud: string; from: string; manifest: Manifest; stopped: string[]; found: TableEntry[]; diffs: TableDiff[] },
  seconds: RestoreResult['seconds'],
): RestoreResult {
  const { cloud, from, manifest, found, diffs } = r;
  const rows = found.reduce((a, x) => a + x.rows, 0);
  const ok = diffs.length === 0;
  return {
    ok,
    cloud,
    from,
    stopped: r.stopped,
    tablesChecked: found.length,
    rowsChecked: rows,
    tableDiffs: diffs.map(describeDiff),
    images: manifest.images.length,
    seconds,
    summary: [
      `cloud ${cloud} restored from ${from} (${manifest.createdAt}) in ${seconds.total.toFixed(1)} s and started again`,
      `  databases: ${found.length} tables, ${rows} rows; ${ok ? 'row counts and checksums equal to the manifest' : `${diffs.length} tables DIFFER from the manifest`}`,
      ...diffs.slice(0, 20).map((d) => `    ${describeDiff(d)}`),
      `  OVN NB/SB, keys, secret store, ${manifest.images.length} image files restored`,
    ].join('\n'),
  };
}
