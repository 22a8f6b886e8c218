/**
 * Five-field cron schedules (and @daily & co.): the one parser the loader validates with and the
 * renderer computes Velero TTLs with, so a schedule the loader accepts is one render can use.
 * The grammar is the common subset of Kubernetes CronJobs and Velero Schedules: numbers, `*`,
 * ranges `a-b`, steps `/n` and lists `,` (no month or day names).
 */

const CRON_MACROS: Readonly<Record<string, string>> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

const FIELDS = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12 },
  { name: 'day of week', min: 0, max: 7 },
] as const;

interface CronFields {
  minutes: Set<number>;
  hours: Set<number>;
  daysOfMonth: Set<number>;
  months: Set<number>;
  daysOfWeek: Set<number>;
  domAny: boolean;
  dowAny: boolean;
}

/** The parsed schedule, or why it is not one (naming the field and its allowed range). */
function parseCron(schedule: string): { ok: true; fields: CronFields } | { ok: false; why: string } {
  const expr = CRON_MACROS[schedule.trim()] ?? schedule.trim();
  if (expr.startsWith('@'))
    return { ok: false, why: `unknown macro "${expr}" (use @yearly, @monthly, @weekly, @daily or @hourly)` };
  const parts = expr.split(/\s+/);
  if (parts.length !== 5)
    return {
      ok: false,
      why: `a cron schedule has five fields (minute hour day-of-month month day-of-week), found ${parts.length}`,
    };
  const sets: Set<number>[] = [];
  for (let i = 0; i < 5; i++) {
    const f = FIELDS[i]!;
    const r = field(parts[i]!, f.min, f.max);
    if (typeof r === 'string')
      return {
        ok: false,
        why: `field ${i + 1} (${f.name}) "${parts[i]}" is ${r.startsWith('out') || r.startsWith('the') ? r : `wrong: ${r}`}`,
      };
    sets.push(r);
  }
  const [minutes, hours, daysOfMonth, months, daysOfWeek] = sets as [
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
    Set<number>,
  ];
  if (daysOfWeek.has(7)) daysOfWeek.add(0);
  return {
    ok: true,
    fields: { minutes, hours, daysOfMonth, months, daysOfWeek, domAny: parts[2] === '*', dowAny: parts[4] === '*' },
  };
}

function field(text: string, min: number, max: number): Set<number> | string {
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\*|(\d{1,2})(?:-(\d{1,2}))?)(?:\/(\d{1,2}))?$/.exec(part);
    if (!m) return `expected a number from ${min} to ${max}, *, a range a-b, a step /n or a list with ","`;
    const lo = m[1] === '*' ? min : Number(m[2]);
    const hi = m[1] === '*' ? max : m[3] !== undefined ? Number(m[3]) : m[4] !== undefined ? max : lo;
    const step = m[4] !== undefined ? Number(m[4]) : 1;
    if (lo < min || hi > max) return `out of range ${min}-${max}`;
    if (lo > hi) return `the range ${lo}-${hi} is backwards`;
    if (step < 1) return 'a step must be at least 1';
    for (let v = lo; v <= hi; v += step) out.add(v);
  }
  return out;
}

/**
 * The periods already found: a render asks about the cloud's backup schedule three times (the
 * file's check, the Velero Schedule's own check, its backups' TTL), and each walk of three years
 * took a render about a millisecond. A cloud file has a schedule or two; the bound is for
 * processes that check many files.
 */
const periods = new Map<string, number | undefined>();

/**
 * The longest gap, in minutes, between consecutive runs of a five-field cron schedule (or
 * @daily & co.), found by walking the runs of three years (a leap year and every month end included).
 * undefined when it is not a schedule or never runs.
 */
export function cronPeriodMinutes(schedule: string): number | undefined {
  if (periods.has(schedule)) return periods.get(schedule);
  const minutes = walkedPeriodMinutes(schedule);
  if (periods.size >= 64) periods.clear();
  periods.set(schedule, minutes);
  return minutes;
}

function walkedPeriodMinutes(schedule: string): number | undefined {
  const parsed = parseCron(schedule);
  if (!parsed.ok) return undefined;
  const { minutes: mi, hours: ho, daysOfMonth: dom, months: mo, daysOfWeek: dow, domAny, dowAny } = parsed.fields;
  const hours = [...ho].sort((a, b) => a - b);
  const mins = [...mi].sort((a, b) => a - b);
  let prev: number | undefined;
  let first: number | undefined;
  let longest = 0;
  const start = Date.UTC(2027, 0, 1);
  const days = 1096; // 2027 to 2029, 2028 a leap year
  for (let d = 0; d < days; d++) {
    const day = new Date(start + d * 86_400_000);
    if (!mo.has(day.getUTCMonth() + 1)) continue;
    const domOk = dom.has(day.getUTCDate());
    const dowOk = dow.has(day.getUTCDay());
    // cron: when both day fields are restricted, either may match.
    if (!(domAny && dowAny ? true : domAny ? dowOk : dowAny ? domOk : domOk || dowOk)) continue;
    for (const h of hours) {
      for (const m of mins) {
        const t = d * 1440 + h * 60 + m;
        if (prev !== undefined) longest = Math.max(longest, t - prev);
        else first = t;
        prev = t;
      }
    }
  }
  if (prev === undefined || first === undefined) return undefined;
  // A single run in three years: call the gap the whole window.
  if (longest === 0) return days * 1440;
  return longest;
}

/** Why a schedule cannot be used (including one that never runs, e.g. 30 February), or undefined. */
export function cronProblem(schedule: string): string | undefined {
  const parsed = parseCron(schedule);
  if (!parsed.ok) return parsed.why;
  if (cronPeriodMinutes(schedule) === undefined) return 'the schedule never runs (no such day in any month it names)';
  return undefined;
}
