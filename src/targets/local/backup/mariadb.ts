/**
 * The MariaDB side of backups: a logical dump of every OpenStack database in one consistent
 * snapshot (mariadb-dump --single-transaction: every table of an OpenStack database is InnoDB),
 * loading a dump, per-table row counts and CHECKSUM TABLE, and a scratch mariadbd in a temp dir
 * (its own socket, no TCP) for restore drills that never touch the cloud's own server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { OskError } from '../../../errors.js';
import { mariadbExec } from '../probes.js';
import { runCommand } from '../../../run-command.js';
import { gzipCommand } from './gzip.js';
import type { TableEntry } from './manifest.js';

const SYSTEM = new Set(['mysql', 'information_schema', 'performance_schema', 'sys']);

async function sql(socket: string, query: string, timeoutMs = 300_000): Promise<string[][]> {
  const r = await mariadbExec(socket, query, timeoutMs);
  if (r.code !== 0) throw new OskError(`MariaDB on ${socket}: ${r.out.trim().split('\n').slice(-3).join(' ')}`);
  return r.out
    .split('\n')
    .filter((l) => l.length)
    .map((l) => l.split('\t'));
}

export async function listDatabases(socket: string): Promise<string[]> {
  return (await sql(socket, 'SELECT schema_name FROM information_schema.schemata ORDER BY 1'))
    .map((r) => r[0]!)
    .filter((d) => !SYSTEM.has(d));
}

/** Tables that are not InnoDB: --single-transaction would not make their copy consistent. */
export async function nonTransactional(socket: string, dbs: readonly string[]): Promise<string[]> {
  if (!dbs.length) return [];
  const rows = await sql(
    socket,
    `SELECT CONCAT(table_schema,'.',table_name,' (',engine,')') FROM information_schema.tables WHERE table_type='BASE TABLE' AND engine <> 'InnoDB' AND table_schema IN (${dbs.map(quote).join(',')})`,
  );
  return rows.map((r) => r[0]!);
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const ident = (s: string) => `\`${s.replace(/`/g, '``')}\``;

/** One mariadb-dump of all `dbs` (one snapshot for all of them), gzip-compressed into `out`. */
export async function dumpDatabases(socket: string, dbs: readonly string[], out: string): Promise<void> {
  const args = [
    `--socket=${socket}`,
    '--single-transaction',
    '--quick',
    '--routines',
    '--triggers',
    '--events',
    '--hex-blob',
    '--add-drop-database',
    '--default-character-set=utf8mb4',
    '--databases',
    ...dbs,
  ];
  await gzipCommand(['mariadb-dump', ...args], out, 'mariadb-dump');
}

/** Feed a gzip-compressed SQL dump to the server on `socket`. */
export async function loadDump(socket: string, gz: string): Promise<void> {
  const p = spawn('mariadb', [`--socket=${socket}`, '--batch', '--default-character-set=utf8mb4'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let err = '';
  p.stderr.on('data', (d) => (err += d));
  p.stdout.resume();
  const exited = new Promise<number>((resolve) => {
    p.on('error', (e) => {
      err += e.message;
      resolve(127);
    });
    p.on('close', (code) => resolve(code ?? 1));
  });
  try {
    await pipeline(createReadStream(gz), createGunzip(), p.stdin);
  } catch (e) {
    p.kill('SIGKILL');
    await exited;
    throw new OskError(`loading ${gz} failed: ${(e as Error).message}${err ? `; mariadb said: ${err.trim()}` : ''}`);
  }
  const code = await exited;
  if (code !== 0)
    throw new OskError(`loading ${gz} failed (mariadb exit ${code}): ${err.trim().split('\n').slice(-3).join(' ')}`);
}

/** Row count and CHECKSUM TABLE of every base table of `dbs`. */
export async function tableStats(socket: string, dbs: readonly string[]): Promise<TableEntry[]> {
  if (!dbs.length) return [];
  const tables = (
    await sql(
      socket,
      `SELECT table_schema, table_name FROM information_schema.tables WHERE table_type='BASE TABLE' AND table_schema IN (${dbs.map(quote).join(',')}) ORDER BY 1, 2`,
    )
  ).map((r) => ({ db: r[0]!, table: r[1]! }));
  if (!tables.length) return [];
  const counts = new Map<string, number>();
  const sums = new Map<string, string | null>();
  // In chunks: one statement per table, a few hundred per client run.
  for (let i = 0; i < tables.length; i += 200) {
    const chunk = tables.slice(i, i + 200);
    for (const r of await sql(
      socket,
      chunk
        .map((t) => `SELECT ${quote(`${t.db}.${t.table}`)}, COUNT(*) FROM ${ident(t.db)}.${ident(t.table)};`)
        .join('\n'),
    ))
      counts.set(r[0]!, Number(r[1]));
    for (const r of await sql(
      socket,
      `CHECKSUM TABLE ${chunk.map((t) => `${ident(t.db)}.${ident(t.table)}`).join(', ')}`,
    ))
      sums.set(r[0]!, r[1] === 'NULL' || r[1] === undefined ? null : r[1]);
  }
  return tables.map((t) => ({
    db: t.db,
    table: t.table,
    rows: counts.get(`${t.db}.${t.table}`) ?? -1,
    checksum: sums.get(`${t.db}.${t.table}`) ?? null,
  }));
}

/** A throwaway mariadbd: its own data dir and socket in a temp dir, no TCP port. */
interface ScratchServer {
  socket: string;
  dir: string;
  stop(): Promise<void>;
}

export async function startScratchServer(): Promise<ScratchServer> {
  const dir = await mkdtemp(join(tmpdir(), 'osk-scratch-db-'));
  const data = join(dir, 'data');
  await mkdir(data, { mode: 0o700 });
  const socket = join(dir, 'mysqld.sock');
  const root = process.getuid?.() === 0 ? ['--user=root'] : [];
  const common = ['--no-defaults', `--datadir=${data}`, ...root];
  const inst = await runCommand(
    ['mariadb-install-db', ...common, '--auth-root-authentication-method=socket', '--skip-test-db'],
    { timeoutMs: 120_000 },
  );
  if (inst.code !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new OskError(
      `mariadb-install-db for the scratch server failed: ${inst.out.trim().split('\n').slice(-3).join(' ')}`,
    );
  }
  const child: ChildProcess = spawn(
    'mariadbd',
    [
      ...common,
      `--socket=${socket}`,
      '--skip-networking',
      `--pid-file=${join(dir, 'mysqld.pid')}`,
      `--log-error=${join(dir, 'error.log')}`,
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_general_ci',
      '--innodb-buffer-pool-size=64M',
      '--innodb-flush-log-at-trx-commit=0',
      '--skip-log-bin',
    ],
    { stdio: 'ignore' },
  );
  let exited = false;
  const gone = new Promise<void>((resolve) =>
    child.on('close', () => {
      exited = true;
      resolve();
    }),
  );
  const stop = async () => {
    if (!exited) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await gone;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 300; i++) {
    if (exited) break;
    const r = await runCommand(['mariadb-admin', `--socket=${socket}`, '--connect-timeout=2', 'ping'], {
      timeoutMs: 5000,
    });
    if (r.code === 0) return { socket, dir, stop };
    await new Promise((r2) => setTimeout(r2, 200));
  }
  const log = await runCommand(['tail', '-n', '5', join(dir, 'error.log')]);
  await stop();
  throw new OskError(`the scratch mariadbd did not start: ${log.out.trim()}`);
}
