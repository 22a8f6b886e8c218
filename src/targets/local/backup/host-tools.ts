/**
 * What backup, verify and restore of an all-in-one cloud do on the host: reach the cloud's
 * sockets, run programs that must succeed, count rows of MariaDB dumps and OVSDB files.
 */
import { gunzipTo } from './gzip.js';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { hostMariadbSocket } from '../../../catalog/mariadb.js';
import { OskError } from '../../../errors.js';
import type { StatePaths } from '../../../state/paths.js';
import { runCommand } from '../../../run-command.js';
import type { OvnTableCount, TableEntry } from './manifest.js';
import { loadDump, startScratchServer, tableStats } from './mariadb.js';

export type Log = (line: string) => void;

export const sock = (p: StatePaths) => ({
  mariadb: hostMariadbSocket(p.run),
  nb: join(p.run, 'ovnnb_db.sock'),
  sb: join(p.run, 'ovnsb_db.sock'),
});

export async function must(command: string[], what: string, timeoutMs = 600_000): Promise<string> {
  const r = await runCommand(command, { timeoutMs });
  if (r.code !== 0)
    throw new OskError(`${what} failed (exit ${r.code}): ${r.out.trim().split('\n').slice(-3).join(' ')}`);
  return r.out;
}

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

export async function packageVersions(): Promise<Record<string, string>> {
  const r = await runCommand(['dpkg-query', '-W', '-f=${Package}\t${Version}\n', ...PACKAGES]);
  const out: Record<string, string> = {};
  for (const l of r.out.split('\n')) {
    const [p, v] = l.split('\t');
    if (p && v) out[p] = v;
  }
  return out;
}

export async function filesUnder(dir: string): Promise<string[]> {
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

/** Row counts of both OVN databases of a backup, unpacked into `tmp` to be read. */
export async function backupOvnCounts(backupDir: string, tmp: string): Promise<OvnTableCount[]> {
  let ovn: OvnTableCount[] = [];
  for (const w of ['nb', 'sb']) {
    await gunzipTo(join(backupDir, 'ovn', `${w}.db.gz`), join(tmp, `${w}.db`));
    ovn = ovn.concat(await ovnCounts(join(tmp, `${w}.db`)));
  }
  return ovn;
}

/** Row counts and checksums of what a dump holds, measured on a scratch MariaDB loaded from it. */
export async function dumpTableStats(dump: string, dbs: readonly string[]): Promise<TableEntry[]> {
  const scratch = await startScratchServer();
  try {
    await loadDump(scratch.socket, dump);
    return await tableStats(scratch.socket, dbs);
  } finally {
    await scratch.stop();
  }
}
