/**
 * Keystone key rotation on one host. `osk up` writes what to rotate (key-rotation.json: the
 * store names of each key repository, its directory, the interval); the supervisor rotates on
 * that schedule and `osk rotate-keys` rotates now. Both take the cloud's key lock, which `osk up`
 * holds while it reads the store and writes files, so a rotation and an up never interleave
 * (an up that loaded the old keys would otherwise write them back).
 *
 * Order of a rotation: the new set is saved in the secret store first (atomic rename, 0600), then
 * the key files are written from it, one atomic rename each, in an order that never removes a
 * key that may have signed a live token before the new primary is in place. Keystone reads the
 * repository on every token operation, so it needs no restart. A crash between the two writes
 * is repaired by the next rotation or `osk up`, which write the files from the store.
 */
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hostConfigArgs } from '../../catalog/common.js';
import { rotateKeySet, everySeconds } from '../../config/key-rotation.js';
import { SecretStore } from '../../state/secret-store.js';
import { OskError } from '../../errors.js';
import type { CloudModel } from '../../plan/model.js';
import { writeIfChanged } from './files.js';
import type { StatePaths } from '../../state/paths.js';
import { isAlive, startTimeOf } from './process-tree.js';

interface KeyRepository {
  /** The Kubernetes Secret name of the set, used as its name here too (keystone-fernet-keys). */
  set: string;
  dir: string;
  /** Store names, index order: [0] staged … [n-1] primary. */
  names: string[];
}

/** The credential key repository: rotated with keystone-manage (credential-rotation.ts). */
export interface CredentialKeyRepository extends KeyRepository {
  /** Seconds between rotations; absent: only `osk rotate-keys --credentials` rotates. */
  everySeconds?: number;
  /** keystone-manage with the arguments that make it read the cloud's keystone.conf. */
  keystoneManage: string[];
}

export interface KeyRotationConfig {
  cloud: string;
  /** Seconds between rotations; absent: only `osk rotate-keys` rotates. */
  everySeconds?: number;
  maxActiveKeys: number;
  /** The fernet (token) key repositories. */
  repositories: KeyRepository[];
  credentials?: CredentialKeyRepository;
}

const configFile = (paths: StatePaths) => join(paths.root, 'key-rotation.json');
const lastFile = (paths: StatePaths) => join(paths.pids, 'keys-rotated-at');
export const credentialsLastFile = (paths: StatePaths) => join(paths.pids, 'credential-keys-rotated-at');
const lockFile = (paths: StatePaths) => join(paths.pids, 'keys.lock');

/** What the model says is rotated: secrets marked `rotates`, grouped by set, and the directory their host files live in. */
export function keyRotationConfig(
  model: CloudModel,
  cloud: string,
  schedule: { every?: string; maxActiveKeys: number; credentialsEvery?: string },
): KeyRotationConfig {
  const fernet = keyRepositories(model, 'fernet');
  const [credential] = keyRepositories(model, 'credential');
  return {
    cloud,
    ...(schedule.every ? { everySeconds: everySeconds(schedule.every) } : {}),
    maxActiveKeys: schedule.maxActiveKeys,
    repositories: fernet,
    ...(credential
      ? {
          credentials: {
            ...credential,
            ...(schedule.credentialsEvery ? { everySeconds: everySeconds(schedule.credentialsEvery) } : {}),
            keystoneManage: [
              'keystone-manage',
              ...hostConfigArgs(model.ctx, 'keystone', '/etc/keystone', 'keystone.conf'),
            ],
          },
        }
      : {}),
  };
}

function keyRepositories(model: CloudModel, kind: 'fernet' | 'credential'): KeyRepository[] {
  const dirOf = new Map<string, string>();
  for (const c of model.components.values()) {
    const h = c.host;
    if (!h || (h.kind !== 'process' && h.kind !== 'step')) continue;
    for (const f of h.files ?? []) if (f.secret) dirOf.set(f.secret, f.path.slice(0, f.path.lastIndexOf('/')));
  }
  const sets = new Map<string, { key: number; name: string }[]>();
  for (const d of model.secrets.values()) {
    if (d.rotates !== kind) continue;
    sets.set(d.k8sSecret, [...(sets.get(d.k8sSecret) ?? []), { key: Number(d.key), name: d.name }]);
  }
  const repositories: KeyRepository[] = [];
  for (const [set, entries] of sets) {
    entries.sort((a, b) => a.key - b.key);
    const dir = dirOf.get(entries[0]!.name);
    if (!dir) throw new Error(`catalog bug: the rotated keys of ${set} have no host file`);
    repositories.push({ set, dir, names: entries.map((e) => e.name) });
  }
  return repositories;
}

export async function writeKeyRotationConfig(paths: StatePaths, config: KeyRotationConfig): Promise<void> {
  await writeFile(configFile(paths), `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
}

export async function readKeyRotationConfig(paths: StatePaths): Promise<KeyRotationConfig | undefined> {
  try {
    return JSON.parse(await readFile(configFile(paths), 'utf8')) as KeyRotationConfig;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new OskError(`cannot read ${configFile(paths)}: ${(e as Error).message}`, {
      hint: 'run osk up again to rewrite it',
    });
  }
}

/**
 * The cloud's key lock: an exclusive file holding the PID and start time of its owner. A lock
 * whose owner is gone is taken over. `waitMs` says how long to wait for a live owner.
 */
export async function withKeyLock<T>(
  paths: StatePaths,
  what: string,
  waitMs: number,
  fn: () => Promise<T>,
): Promise<T> {
  await mkdir(paths.pids, { recursive: true, mode: 0o700 });
  const deadline = Date.now() + waitMs;
  const me = JSON.stringify({ pid: process.pid, startTime: startTimeOf(process.pid) ?? 0, what });
  for (;;) {
    try {
      const fh = await open(lockFile(paths), 'wx', 0o600);
      await fh.writeFile(me);
      await fh.close();
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = await readFile(lockFile(paths), 'utf8')
        .then((t) => JSON.parse(t) as { pid: number; startTime: number; what: string })
        .catch(() => undefined);
      if (!holder || !isAlive({ pid: holder.pid, startTime: holder.startTime })) {
        await rm(lockFile(paths), { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new OskError(`the keys of cloud ${paths.root} are in use by ${holder.what} (pid ${holder.pid})`, {
          hint: 'run the command again once it has finished',
        });
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(lockFile(paths), { force: true });
  }
}

/**
 * Write a repository from its keys (index order). Keys 1 … n-1 first, ascending: slot i takes
 * the key that was at i+1 or (last) the old staged key, so until the last slot is written every
 * old validating key is still present and the primary is the old one; then the new staged key 0;
 * then slots beyond n (a shrunk set) go. Reading it at any moment, Keystone finds a usable set.
 */
export async function writeKeyRepository(dir: string, keys: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  for (let i = 1; i < keys.length; i++) await writeIfChanged(join(dir, String(i)), keys[i]!, 0o600);
  await writeIfChanged(join(dir, '0'), keys[0]!, 0o600);
  for (const f of await readdir(dir)) {
    if (/^[0-9]+$/.test(f) && Number(f) >= keys.length) await rm(join(dir, f), { force: true });
  }
}

interface RotationResult {
  rotated: { set: string; dir: string; keys: number }[];
  at: string;
}

/** Rotate every repository of the cloud now: store first, then files. */
export async function rotateLocalKeys(paths: StatePaths, who: string, waitMs = 30_000): Promise<RotationResult> {
  const config = await readKeyRotationConfig(paths);
  if (!config)
    throw new OskError(`cloud ${paths.root} has no key rotation settings (${configFile(paths)})`, {
      hint: 'run osk up (it writes them), then rotate',
    });
  return withKeyLock(paths, who, waitMs, async () => {
    const store = await SecretStore.open(paths.secrets, config.cloud);
    const next = config.repositories.map((r) => ({
      repo: r,
      keys: rotateKeySet(
        r.names.map((n) => store.get(n)),
        config.maxActiveKeys,
      ),
    }));
    for (const { repo, keys } of next) {
      if (keys.length !== repo.names.length)
        throw new Error(`catalog bug: ${repo.set} has ${repo.names.length} keys, a rotation gives ${keys.length}`);
      for (const [i, k] of keys.entries()) store.replace(repo.names[i]!, k);
    }
    await store.save();
    for (const { repo, keys } of next) await writeKeyRepository(repo.dir, keys);
    const at = new Date().toISOString();
    await writeFile(lastFile(paths), `${at}\n`, { mode: 0o600 });
    return { rotated: next.map(({ repo, keys }) => ({ set: repo.set, dir: repo.dir, keys: keys.length })), at };
  });
}

/**
 * When the last rotation happened. Without a record: when the cloud's keys were made (the
 * store's age), or, for a rotation that starts its clock, now (recorded).
 */
async function lastRotation(paths: StatePaths, r: ScheduledRotation): Promise<number | undefined> {
  const t = await readFile(r.stamp, 'utf8').catch(() => undefined);
  if (t && !Number.isNaN(Date.parse(t.trim()))) return Date.parse(t.trim());
  if (r.startsClock) {
    await writeFile(r.stamp, `${new Date().toISOString()}\n`, { mode: 0o600 });
    return Date.now();
  }
  if (!existsSync(paths.secrets)) return undefined;
  return (await stat(paths.secrets)).mtimeMs;
}

/** One kind of scheduled rotation for the supervisor's timer. */
export interface ScheduledRotation {
  /** The file holding the time of the last rotation (survives restarts of supervisor and host). */
  stamp: string;
  /** Seconds between rotations by the cloud's settings, or undefined: not scheduled. */
  everySeconds(config: KeyRotationConfig): number | undefined;
  /** Rotate now; the line to log. */
  rotate(): Promise<string>;
  /** After a failure, the next try waits this long (the next tick otherwise). */
  retryAfterMs?: number;
  /**
   * Without a record of the last rotation, the first comes one interval after the timer first
   * sees the schedule (the store's age, the fallback, changes with every other rotation).
   */
  startsClock?: boolean;
}

/** Keystone's fernet keys, by keyRotation.every. */
export function fernetRotation(paths: StatePaths): ScheduledRotation {
  return {
    stamp: lastFile(paths),
    everySeconds: (c) => (c.repositories.length ? c.everySeconds : undefined),
    rotate: async () => {
      const r = await rotateLocalKeys(paths, 'the supervisor (scheduled key rotation)', 0);
      return `${r.at} rotated keystone keys: ${r.rotated.map((x) => `${x.set} (${x.keys} keys)`).join(', ')}`;
    },
  };
}

/**
 * The supervisor's timer: once a minute, rotate when the interval has passed since the last
 * rotation. Checking against a time kept in the state dir (not a timer of the interval's length)
 * makes the schedule survive supervisor restarts and host reboots.
 */
export function startRotationTimer(
  paths: StatePaths,
  log: (line: string) => void,
  checkEveryMs = 60_000,
  rotations: ScheduledRotation[] = [fernetRotation(paths)],
): () => void {
  let busy = false;
  const retryAt = new Map<ScheduledRotation, number>();
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const config = await readKeyRotationConfig(paths).catch((e: Error) => {
        log(`${new Date().toISOString()} key rotation not done: ${e.message}`);
        return undefined;
      });
      for (const r of rotations) {
        const every = config && r.everySeconds(config);
        if (!every || Date.now() < (retryAt.get(r) ?? 0)) continue;
        const last = await lastRotation(paths, r);
        if (last !== undefined && Date.now() - last < every * 1000) continue;
        try {
          log(await r.rotate());
        } catch (e) {
          // Held by osk up, or a problem to report: a later tick tries again.
          retryAt.set(r, Date.now() + (r.retryAfterMs ?? 0));
          log(`${new Date().toISOString()} key rotation not done: ${(e as Error).message}`);
        }
      }
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), checkEveryMs);
  timer.unref();
  void tick();
  return () => clearInterval(timer);
}
