/**
 * Processes by PID, never by name: a PID file records the PID and the process's start time
 * (field 22 of /proc/PID/stat), so a PID reused by an unrelated program is never signalled.
 * Every supervised program leads its own process group, so stopping it stops its children
 * (uwsgi workers, epmd, neutron workers) too.
 */
import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';

export interface PidRecord {
  pid: number;
  /** Start time in clock ticks since boot, from /proc/PID/stat. */
  startTime: number;
  /** Content hash of what runs (command, environment, config files). */
  hash: string;
  command: string[];
  env: Record<string, string>;
  log: string;
  startedAt: string;
}

export function startTimeOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const v = Number(rest[19]);
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** Alive and still the same process that was recorded (not a zombie, not a reused PID). */
export function isAlive(rec: Pick<PidRecord, 'pid' | 'startTime'>): boolean {
  const st = startTimeOf(rec.pid);
  if (st === undefined || st !== rec.startTime) return false;
  try {
    const state = readFileSync(`/proc/${rec.pid}/stat`, 'utf8');
    return state.slice(state.lastIndexOf(')') + 2, state.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export async function readPidFile(path: string): Promise<PidRecord | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as PidRecord;
  } catch {
    return undefined;
  }
}

export async function writePidFile(path: string, rec: PidRecord): Promise<void> {
  await writeFile(path, `${JSON.stringify(rec, null, 2)}\n`, { mode: 0o600 });
}

export async function removePidFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // The group may be gone already; fall back to the leader alone.
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** TERM to the process group, KILL after the grace period; resolves when the group is gone. */
export async function stopGroup(
  rec: Pick<PidRecord, 'pid' | 'startTime'>,
  graceMs = 20_000,
): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isAlive(rec)) {
    // The leader is gone; its group may still hold children (e.g. a uwsgi worker).
    if (groupAlive(rec.pid)) signalGroup(rec.pid, 'SIGKILL');
    return 'gone';
  }
  signalGroup(rec.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(rec) && !groupAlive(rec.pid)) return 'stopped';
    await new Promise((r) => setTimeout(r, 100));
  }
  signalGroup(rec.pid, 'SIGKILL');
  for (let i = 0; i < 50 && groupAlive(rec.pid); i++) await new Promise((r) => setTimeout(r, 100));
  return 'killed';
}
