/**
 * `osk bootstrap <task>`: what the Kubernetes Jobs of a cloud run (from the osk image), so that
 * `osk render | kubectl apply` and GitOps bootstrap a cloud without osk at apply time. Each task
 * reads its inputs from the environment the Job gives it (credentials only from Secrets, values
 * of the cloud file only as data) and calls the same functions the all-in-one calls: the
 * databases of database.ts, the service users, catalog entries and volume types of bootstrap.ts.
 *
 *   db-init       DB_HOST, DB_NAMES (space-separated), DB_USER, DB_PASSWORD, MARIADB_ROOT_PASSWORD,
 *                 DB_GRANTS (optional, one grant a line), DB_MAX_CONNECTIONS (optional)
 *   ks-user       SERVICE_USER, SERVICE_PASSWORD
 *   ks-register   SERVICE_TYPE, SERVICE_NAME, ENDPOINT_INTERNAL, ENDPOINT_PUBLIC (admin = internal),
 *                 SERVICE_ROLES (optional, space-separated: roles the service's policy names)
 *   volume-types  VOLUME_TYPES (two lines per type: its name, its backend), VOLUME_QOS (optional,
 *                 two lines per limit: the type's name, then key=value)
 * The three OpenStack tasks log in with the openstack CLI's variables (OS_AUTH_URL, OS_USERNAME,
 * OS_PASSWORD, OS_PROJECT_NAME, OS_USER_DOMAIN_NAME, OS_PROJECT_DOMAIN_NAME, OS_REGION_NAME,
 * OS_INTERFACE).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ExitCode, OskError } from '../errors.js';
import type { Interface } from '../openstack/catalog.js';
import { OpenStackClient } from '../openstack/index.js';
import type { BootstrapTask } from '../catalog/common.js';
import { runCommand } from '../run-command.js';
import { ensureEndpoint, ensureServiceUser, ensureVolumeTypes } from './bootstrap.js';
import { ensureDatabaseUser } from './database.js';

type Env = NodeJS.ProcessEnv;

/** A variable the Job always sets; missing means the Job is not osk's (exit 2). */
function need(env: Env, name: string): string {
  const v = env[name];
  if (v === undefined || v === '')
    throw new OskError(`${name} is not set: osk bootstrap reads its inputs from the Job's environment`, {
      exitCode: ExitCode.invalidInput,
    });
  return v;
}

/** Rows of `n` fields, one field a line (catalog/script-input.ts rowsEnv). */
function rows(env: Env, name: string, n: number): string[][] {
  const text = env[name] ?? '';
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines.length % n !== 0)
    throw new OskError(`${name} must hold ${n} lines per entry, not ${lines.length} lines`, {
      exitCode: ExitCode.invalidInput,
    });
  return Array.from({ length: lines.length / n }, (_, i) => lines.slice(i * n, i * n + n));
}

/** The cloud administrator, as the openstack CLI reads it from OS_* variables. */
function adminClientFromEnv(env: Env): OpenStackClient {
  const iface = env.OS_INTERFACE ?? 'public';
  if (!['public', 'internal', 'admin'].includes(iface))
    throw new OskError(`OS_INTERFACE must be public, internal or admin, not "${iface}"`, {
      exitCode: ExitCode.invalidInput,
    });
  return new OpenStackClient({
    auth: {
      type: 'password',
      authUrl: need(env, 'OS_AUTH_URL'),
      username: need(env, 'OS_USERNAME'),
      userDomainName: env.OS_USER_DOMAIN_NAME ?? 'Default',
      password: need(env, 'OS_PASSWORD'),
      scope: { project: { name: need(env, 'OS_PROJECT_NAME'), domainName: env.OS_PROJECT_DOMAIN_NAME ?? 'Default' } },
    },
    region: need(env, 'OS_REGION_NAME'),
    interface: iface as Interface,
    timeoutMs: 60_000,
  });
}

async function withAdmin(env: Env, fn: (os: OpenStackClient) => Promise<string>): Promise<string> {
  const os = adminClientFromEnv(env);
  try {
    return await fn(os);
  } finally {
    await os.close();
  }
}

async function dbInit(env: Env, log: (line: string) => void): Promise<string> {
  const host = need(env, 'DB_HOST');
  // The host's runner and client (builtins.ts), over TCP as root instead of the local socket; the
  // password by environment (MYSQL_PWD), the SQL on standard input: neither is in the argv.
  const rootEnv = { ...env, MYSQL_PWD: need(env, 'MARIADB_ROOT_PASSWORD') };
  const mariadb = (sql: string) =>
    runCommand(['mariadb', '-h', host, '-u', 'root', '--batch', '--skip-column-names'], { stdin: sql, env: rootEnv });
  // The Job may start before MariaDB answers: wait, as long as Kubernetes lets the Job run.
  for (;;) {
    const r = await mariadb('SELECT 1;');
    if (r.code === 0) break;
    log(`waiting for MariaDB at ${host}: ${r.out.trim().split('\n').at(-1)}`);
    await sleep(2000);
  }
  const max = env.DB_MAX_CONNECTIONS;
  return ensureDatabaseUser(mariadb, {
    databases: (env.DB_NAMES ?? '').split(/\s+/).filter(Boolean),
    user: need(env, 'DB_USER'),
    password: need(env, 'DB_PASSWORD'),
    from: '%',
    grants: (env.DB_GRANTS ?? '').split('\n').filter(Boolean),
    ...(max ? { maxConnections: Number(max) } : {}),
  });
}

function volumeTypes(env: Env): { name: string; backend: string; qos?: Record<string, number> }[] {
  const qos = new Map<string, Record<string, number>>();
  for (const [type, property] of rows(env, 'VOLUME_QOS', 2) as [string, string][]) {
    const m = /^([a-z_]+)=(\d+)$/.exec(property);
    if (!m) throw new OskError(`VOLUME_QOS: "${property}" is not key=number`, { exitCode: ExitCode.invalidInput });
    qos.set(type, { ...qos.get(type), [m[1]!]: Number(m[2]) });
  }
  return (rows(env, 'VOLUME_TYPES', 2) as [string, string][]).map(([name, backend]) => {
    const q = qos.get(name);
    return { name, backend, ...(q ? { qos: q } : {}) };
  });
}

/** Runs one task; the answer is the line the Job logs. `log` gets progress (waiting) lines. */
export async function runBootstrapTask(task: BootstrapTask, env: Env, log: (line: string) => void): Promise<string> {
  switch (task) {
    case 'db-init':
      return dbInit(env, log);
    case 'ks-user':
      return withAdmin(env, (os) => ensureServiceUser(os, need(env, 'SERVICE_USER'), need(env, 'SERVICE_PASSWORD')));
    case 'ks-register':
      return withAdmin(env, (os) =>
        ensureEndpoint(os, {
          type: need(env, 'SERVICE_TYPE'),
          name: need(env, 'SERVICE_NAME'),
          internalUrl: need(env, 'ENDPOINT_INTERNAL'),
          publicUrl: need(env, 'ENDPOINT_PUBLIC'),
          region: need(env, 'OS_REGION_NAME'),
          roles: (env.SERVICE_ROLES ?? '').split(' ').filter(Boolean),
        }),
      );
    case 'volume-types':
      return withAdmin(env, (os) => ensureVolumeTypes(os, volumeTypes(env)));
  }
}
