/**
 * Small helpers shared by the resource modules: path segments, "find by name", "not found is
 * undefined", and waiting for a status.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OskError } from '../errors.js';
import { isNotFound } from './errors.js';

/** One path segment from an id or name (names like keypair names may hold anything). */
export const seg = (s: string): string => encodeURIComponent(s);

/** A call whose 404 means "not there": undefined instead of an error. */
export async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** A delete whose 404 means "already gone". Returns whether something was deleted. */
export async function ignoreMissing(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/**
 * The one item with exactly this name, undefined when none. Services filter by name loosely
 * (nova: a regex; some ignore the filter), so the match is checked here; two with the same name
 * is an error rather than a guess.
 */
export function exactlyOne<T extends { id?: string; uuid?: string; name?: string | null }>(
  items: readonly T[],
  name: string,
  what: string,
  where = '',
): T | undefined {
  const hits = items.filter((i) => i.name === name);
  if (hits.length > 1) {
    const ids = hits.map((h) => h.id ?? h.uuid ?? '?').join(', ');
    throw new OskError(
      `there are ${hits.length} ${what}s named "${name}"${where ? ` ${where}` : ''} (${ids}); osk cannot tell which one is meant`,
      {
        hint: `rename or delete the extra ${what}s so the name is unique`,
      },
    );
  }
  return hits[0];
}

export interface WaitOptions {
  /** Give up after this long; default 10 minutes. */
  timeoutMs?: number;
  /** Between polls; default 2 s. */
  intervalMs?: number;
  /** Called with each polled state (progress output). */
  onPoll?: (status: string) => void;
}

/**
 * Poll until `done`; fail at once when `failed` says why (an ERROR status), or when the time is
 * up, saying what the thing was last seen doing.
 */
export async function waitUntil<T>(w: {
  what: string;
  target: string;
  poll: () => Promise<T>;
  status: (t: T) => string;
  done: (t: T) => boolean;
  failed?: (t: T) => Promise<string | undefined> | string | undefined;
  opts?: WaitOptions;
}): Promise<T> {
  const timeoutMs = w.opts?.timeoutMs ?? 600_000;
  const intervalMs = w.opts?.intervalMs ?? 2_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await w.poll();
    w.opts?.onPoll?.(w.status(t));
    if (w.done(t)) return t;
    const why = await w.failed?.(t);
    if (why !== undefined) throw new OskError(`${w.what} ${why}`);
    if (Date.now() + intervalMs > deadline) {
      throw new OskError(
        `${w.what} is still ${w.status(t)} after ${Math.round(timeoutMs / 1000)} s of waiting for ${w.target}`,
        {
          hint: 'the service may be slow or stuck: look at its log, or wait longer',
        },
      );
    }
    await sleep(intervalMs);
  }
}
