/**
 * A service's databases and its MariaDB user, the same SQL on every target: the all-in-one runs
 * it through the `mariadb` client on the local socket (targets/local/builtins.ts), a Kubernetes
 * Job through the same client over TCP as root (`osk bootstrap db-init`, bootstrap/tasks.ts).
 * Rerunning converges: what exists is kept, and the password is put back to the store's, so the
 * store stays the one source of truth (a restored store, a reset database).
 */
import { OskError } from '../errors.js';

export interface DatabaseUser {
  /** Databases the user gets all privileges on (none for a monitoring user). */
  databases: readonly string[];
  user: string;
  password: string;
  /** Where the user may connect from: 127.0.0.1 on one host, any pod ('%') on Kubernetes. */
  from: '127.0.0.1' | '%';
  /** More grants, each "privileges ON object" (the metrics user's server-wide monitoring privileges). */
  grants?: readonly string[];
  maxConnections?: number;
}

/**
 * Identifiers, grants and passwords come from the catalog and the store (base62), never from
 * the cloud file; a Job's environment could still be edited, so each is checked to be only
 * that before it is put into SQL.
 */
function ident(name: string): string {
  if (!/^[A-Za-z0-9_]+$/.test(name)) throw new OskError(`not a SQL identifier osk makes: ${JSON.stringify(name)}`);
  return name;
}

function grant(g: string): string {
  if (!/^[A-Z][A-Z ,]* ON (\*|[A-Za-z0-9_]+)\.\*$/.test(g))
    throw new OskError(`not a grant osk makes ("PRIVILEGE[, …] ON db.*"): ${JSON.stringify(g)}`);
  return g;
}

export function dbInitSql(u: DatabaseUser): string {
  if (!/^[A-Za-z0-9]+$/.test(u.password)) throw new OskError('the store password is not base62');
  if (u.maxConnections !== undefined && !(Number.isInteger(u.maxConnections) && u.maxConnections > 0))
    throw new OskError(`the connection limit must be a whole number above 0, not ${u.maxConnections}`);
  const who = `'${ident(u.user)}'@'${u.from}'`;
  const limit = u.maxConnections ? ` WITH MAX_USER_CONNECTIONS ${u.maxConnections}` : '';
  return [
    ...u.databases.map(
      (d) => `CREATE DATABASE IF NOT EXISTS \`${ident(d)}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;`,
    ),
    `CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY '${u.password}';`,
    // Keeps the password in step with the store (a restored store, a reset database).
    `ALTER USER ${who} IDENTIFIED BY '${u.password}'${limit};`,
    ...u.databases.map((d) => `GRANT ALL PRIVILEGES ON \`${ident(d)}\`.* TO ${who};`),
    ...(u.grants ?? []).map((g) => `GRANT ${grant(g)} TO ${who};`),
    '',
  ].join('\n');
}

/** Runs the SQL with `mariadb` (the caller's connection); the answer is one line for the log. */
export async function ensureDatabaseUser(
  mariadb: (sql: string) => Promise<{ code: number; out: string }>,
  u: DatabaseUser,
): Promise<string> {
  const dbs = u.databases.length
    ? `database${u.databases.length > 1 ? 's' : ''} ${u.databases.join(', ')}`
    : 'no database';
  const r = await mariadb(dbInitSql(u));
  if (r.code !== 0) throw new OskError(`creating ${dbs} for user ${u.user} failed: ${r.out.trim()}`);
  return u.databases.length ? `${dbs}, user ${u.user}` : `user ${u.user}`;
}
