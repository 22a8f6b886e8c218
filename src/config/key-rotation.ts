/**
 * Keystone key rotation, the pure part: the next set of a fernet key repository, and the
 * schedule. Both targets (the supervisor on one host, the CronJob on Kubernetes) follow it.
 *
 * osk keeps a key repository dense: keys 0 … n-1, where 0 is the staged key, n-1 the primary
 * (the one that signs) and the ones between are secondaries (they only validate). Keystone only
 * cares about that order (0 staged, highest primary), not about the numbers, so a rotation
 * renumbers instead of growing the indices as `keystone-manage fernet_rotate` does; the
 * semantics are the same:
 *   - the staged key becomes the primary (every node already knew it, so tokens it signs are
 *     valid everywhere at once),
 *   - the old primary becomes the newest secondary (tokens it signed stay valid),
 *   - a new staged key 0 is created,
 *   - the oldest secondaries are dropped so that at most maxActiveKeys keys remain.
 */
import { fernetKey } from './secrets.js';

/** The next key set: [new staged, kept secondaries oldest first …, old primary, old staged as primary]. */
export function rotateKeySet(
  keys: readonly string[],
  maxActiveKeys: number,
  newKey: () => string = fernetKey,
): string[] {
  if (keys.length < 2)
    throw new Error(`a key repository holds at least a staged and a primary key, found ${keys.length}`);
  if (maxActiveKeys < 3)
    throw new Error(
      `maxActiveKeys must be at least 3 (staged, primary and the previous primary), found ${maxActiveKeys}`,
    );
  const [staged, ...validating] = keys as [string, ...string[]];
  // Old secondaries and the old primary, oldest first; room for maxActiveKeys - 2 of them.
  const kept = validating.slice(-(maxActiveKeys - 2));
  return [newKey(), ...kept, staged];
}

const UNIT_SECONDS = { m: 60, h: 3600, d: 86400 } as const;

/** "30m", "12h", "7d" → seconds. */
export function everySeconds(every: string): number {
  const m = /^([1-9][0-9]{0,3})([mhd])$/.exec(every);
  if (!m) throw new Error(`not a rotation interval: ${every} (use e.g. 30m, 12h or 7d)`);
  return Number(m[1]) * UNIT_SECONDS[m[2] as keyof typeof UNIT_SECONDS];
}

/**
 * The cron schedule of a rotation interval, for the Kubernetes CronJob. Only intervals that
 * divide their next unit evenly have one (minutes of an hour, hours of a day); days use the
 * day of the month, so "7d" rotates on the 1st, 8th, 15th, 22nd and 29th.
 */
export function cronOf(every: string): string | undefined {
  const m = /^([1-9][0-9]{0,3})([mhd])$/.exec(every);
  if (!m) return undefined;
  const n = Number(m[1]);
  switch (m[2]) {
    case 'm':
      return n < 60 && 60 % n === 0
        ? `*/${n} * * * *`
        : n % 60 === 0 && 24 % (n / 60) === 0
          ? `0 */${n / 60} * * *`
          : undefined;
    case 'h':
      return n === 24 ? '0 0 * * *' : n < 24 && 24 % n === 0 ? `0 */${n} * * *` : undefined;
    default:
      return n === 1 ? '0 0 * * *' : n <= 28 ? `0 0 */${n} * *` : undefined;
  }
}

/**
 * Why a rotation interval is unsafe for tokens, or undefined. A key signs for one interval,
 * then validates for maxActiveKeys - 2 more before it is dropped, so a token issued at the last
 * moment a key was primary must expire within that time.
 */
export function rotationProblem(
  every: string,
  maxActiveKeys: number,
  tokenExpirationSeconds: number,
): string | undefined {
  const validFor = everySeconds(every) * (maxActiveKeys - 2);
  if (tokenExpirationSeconds > validFor) {
    return `tokens live ${tokenExpirationSeconds} s but a key that signed one is dropped ${validFor} s after it stops signing (every ${every} × (maxActiveKeys ${maxActiveKeys} - 2)), so tokens would stop validating before they expire`;
  }
  return undefined;
}
