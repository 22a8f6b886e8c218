/**
 * `osk health`: the statistics and verdicts (pure; the probes themselves are in health-run.ts).
 *
 * Percentiles use the nearest-rank method on the successful calls' latencies: pXX is the
 * smallest sample with at least XX% of the samples at or below it (p99 of 20 samples is the
 * slowest one). Failed calls count against the success rate, not in the latencies (a refused
 * connection answers in 1 ms and would make a dead API look fast).
 */
import { ExitCode, OskError } from '../errors.js';
import type { CloudSpec } from '../spec/schema.js';
import { DEFAULT_THRESHOLDS, ratio, seconds } from '../spec/thresholds.js';

/** One call of one probe. */
export interface Sample {
  ok: boolean;
  ms: number;
  /** The server's (or the transport's) message when the call failed. */
  error?: string;
}

export interface ApiStats {
  /** e.g. `nova`, `neutron-port`. */
  api: string;
  /** What was called, e.g. `GET /servers?limit=10`. */
  call: string;
  probes: number;
  ok: number;
  failed: number;
  /** 0..1 */
  successRate: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
  /** Distinct failure messages with how often each was seen. */
  errors: { message: string; count: number }[];
}

/** Nearest-rank percentile of `p` (0 < p ≤ 100); null for no samples. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile must be in (0, 100], got ${p}`);
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(api: string, call: string, samples: readonly Sample[]): ApiStats {
  const good = samples.filter((s) => s.ok).map((s) => s.ms);
  const errs = new Map<string, number>();
  for (const s of samples) if (!s.ok) errs.set(s.error ?? 'failed', (errs.get(s.error ?? 'failed') ?? 0) + 1);
  return {
    api,
    call,
    probes: samples.length,
    ok: good.length,
    failed: samples.length - good.length,
    successRate: samples.length ? good.length / samples.length : 0,
    p50Ms: round(percentile(good, 50)),
    p99Ms: round(percentile(good, 99)),
    maxMs: round(good.length ? Math.max(...good) : null),
    errors: [...errs].map(([message, count]) => ({ message, count })).sort((a, b) => b.count - a.count),
  };
}

function round(ms: number | null): number | null {
  return ms === null ? null : Math.round(ms * 10) / 10;
}

/** The thresholds `osk health` can measure against any OpenStack, in seconds and ratios. */
interface HealthLimits {
  novaApiP99: number;
  neutronPortFailureRate: number;
  cinderOpLatency: number;
  apiSuccessRate: number;
  /** As written (cloud file, flag or default), for messages. */
  raw: { novaApiP99: string; neutronPortFailureRate: string; cinderOpLatency: string; apiSuccessRate: string };
  /** Where each came from: `flag`, `cloud file` or `default`. */
  source: Record<'novaApiP99' | 'neutronPortFailureRate' | 'cinderOpLatency' | 'apiSuccessRate', string>;
}

/** Thresholds of the cloud file that need a Kubernetes target (nothing to measure them with here). */
export const KUBERNETES_ONLY = ['gatewayP99', 'podRestartsPerHour', 'containerCpu', 'containerMemory'] as const;

interface LimitFlags {
  novaApiP99?: string;
  neutronPortFailureRate?: string;
  cinderOpLatency?: string;
  apiSuccessRate?: string;
}

const bad = (m: string) => new OskError(m, { exitCode: ExitCode.invalidInput });

/** Flags win over the cloud file, which wins over the defaults. Bad values are bad input (exit 2). */
export function resolveLimits(spec: CloudSpec | undefined, flags: LimitFlags): HealthLimits {
  const file = spec?.monitoring?.thresholds;
  const pick = <K extends keyof LimitFlags>(k: K): [string, string] =>
    flags[k] !== undefined
      ? [flags[k]!, 'flag']
      : file?.[k] !== undefined
        ? [file[k], 'cloud file']
        : [DEFAULT_THRESHOLDS[k], 'default'];
  const [nova, novaSrc] = pick('novaApiP99');
  const [port, portSrc] = pick('neutronPortFailureRate');
  const [cinder, cinderSrc] = pick('cinderOpLatency');
  const [success, successSrc] = pick('apiSuccessRate');
  const dur = (v: string, flag: string) => {
    try {
      return seconds(v);
    } catch {
      throw bad(`${flag} must be a duration such as 500ms, 2s or 1.5s, not "${v}"`);
    }
  };
  const pct = (v: string, flag: string) => {
    let r: number;
    try {
      r = ratio(v);
    } catch {
      throw bad(`${flag} must be a percentage such as 1% or 99.9%, not "${v}"`);
    }
    if (r > 1) throw bad(`${flag} must be at most 100%, not "${v}"`);
    return r;
  };
  return {
    novaApiP99: dur(nova, '--nova-api-p99'),
    neutronPortFailureRate: pct(port, '--neutron-port-failure-rate'),
    cinderOpLatency: dur(cinder, '--cinder-op-latency'),
    apiSuccessRate: pct(success, '--api-success-rate'),
    raw: { novaApiP99: nova, neutronPortFailureRate: port, cinderOpLatency: cinder, apiSuccessRate: success },
    source: {
      novaApiP99: novaSrc,
      neutronPortFailureRate: portSrc,
      cinderOpLatency: cinderSrc,
      apiSuccessRate: successSrc,
    },
  };
}

type VerdictState = 'ok' | 'breach' | 'not-measured';

export interface Verdict {
  threshold: string;
  limit: string;
  measured: string;
  state: VerdictState;
  detail: string;
}

const ms = (v: number | null) => (v === null ? 'n/a' : `${v} ms`);
const pctText = (r: number) => `${(Math.round(r * 100_000) / 1000).toString()}%`;

type ApiThreshold = keyof HealthLimits['source'];

/** A threshold as the user set it, and where from: `500ms (cloud file)`. */
const limitText = (limits: HealthLimits, k: ApiThreshold) => `${limits.raw[k]} (${limits.source[k]})`;

/**
 * The verdict of each threshold. `write`: the Cinder volume create/delete probes ran (otherwise
 * cinderOpLatency is not measured).
 */
export function verdicts(
  stats: readonly ApiStats[],
  limits: HealthLimits,
  opts: { write: boolean; target: 'osk' | 'openstack' },
): Verdict[] {
  const by = (api: string) => stats.filter((s) => s.api === api);
  const nova = by('nova');
  const vol = by('cinder-volume');
  return [
    nova.length
      ? p99Verdict('novaApiP99', nova, limits, 'no nova call succeeded', 'p99 of nova API calls')
      : notMeasured('novaApiP99', limits, 'no nova probe ran'),
    portVerdict(by('neutron-port'), limits),
    opts.write && vol.length
      ? p99Verdict(
          'cinderOpLatency',
          vol,
          limits,
          'no volume operation succeeded',
          'p99 of volume create (until available) and delete (until gone)',
        )
      : notMeasured('cinderOpLatency', limits, 'needs --write (creates and deletes volumes)'),
    successVerdict(stats, limits),
    ...KUBERNETES_ONLY.map(
      (k): Verdict => ({
        threshold: k,
        limit: '',
        measured: '',
        state: 'not-measured',
        detail:
          opts.target === 'osk'
            ? 'Kubernetes only: not measured on an all-in-one cloud'
            : 'Kubernetes only: not measured by API probes',
      }),
    ),
  ];
}

function notMeasured(threshold: ApiThreshold, limits: HealthLimits, detail: string): Verdict {
  return { threshold, limit: limitText(limits, threshold), measured: '', state: 'not-measured', detail };
}

/** A latency threshold against the worst p99 of the probes that ran; none succeeding is a breach. */
function p99Verdict(
  threshold: 'novaApiP99' | 'cinderOpLatency',
  stats: readonly ApiStats[],
  limits: HealthLimits,
  noneSucceeded: string,
  detail: string,
): Verdict {
  const limit = limitText(limits, threshold);
  const p99 = maxOf(stats.map((s) => s.p99Ms));
  if (p99 === null) return { threshold, limit, measured: 'n/a', state: 'breach', detail: noneSucceeded };
  return { threshold, limit, measured: ms(p99), state: p99 <= limits[threshold] * 1000 ? 'ok' : 'breach', detail };
}

function portVerdict(port: readonly ApiStats[], limits: HealthLimits): Verdict {
  if (!port.length) return notMeasured('neutronPortFailureRate', limits, 'no port probe ran');
  const n = port.reduce((a, s) => a + s.probes, 0);
  const f = port.reduce((a, s) => a + s.failed, 0);
  const rate = n ? f / n : 0;
  return {
    threshold: 'neutronPortFailureRate',
    limit: limitText(limits, 'neutronPortFailureRate'),
    measured: pctText(rate),
    state: rate <= limits.neutronPortFailureRate ? 'ok' : 'breach',
    detail: `${f} of ${n} port create/delete calls failed`,
  };
}

function successVerdict(stats: readonly ApiStats[], limits: HealthLimits): Verdict {
  const n = stats.reduce((a, s) => a + s.probes, 0);
  const ok = stats.reduce((a, s) => a + s.ok, 0);
  const rate = n ? ok / n : 0;
  const failing = stats.filter((s) => s.failed > 0).map((s) => s.api);
  return {
    threshold: 'apiSuccessRate',
    limit: limitText(limits, 'apiSuccessRate'),
    measured: n ? pctText(rate) : '',
    state: !n ? 'not-measured' : rate >= limits.apiSuccessRate ? 'ok' : 'breach',
    detail: `${ok} of ${n} calls succeeded${failing.length ? `; failing: ${[...new Set(failing)].join(', ')}` : ''}`,
  };
}

/** The API thresholds when no API was probed (a Kubernetes target without --os-cloud). */
export function notProbed(limits: HealthLimits): Verdict[] {
  return (['novaApiP99', 'neutronPortFailureRate', 'cinderOpLatency', 'apiSuccessRate'] as const).map((k) =>
    notMeasured(k, limits, 'APIs not probed: add --os-cloud NAME (a clouds.yaml entry of this cloud)'),
  );
}

function maxOf(vs: (number | null)[]): number | null {
  const xs = vs.filter((v): v is number => v !== null);
  return xs.length === vs.length && xs.length ? Math.max(...xs) : null;
}

export interface HealthReport {
  target: { kind: 'osk' | 'openstack' | 'kubernetes'; cloud: string; authUrl: string };
  probes: number;
  concurrency: number;
  write: boolean;
  seconds: number;
  apis: ApiStats[];
  thresholds: Verdict[];
  /** No threshold broken. */
  healthy: boolean;
}

export function healthTable(r: HealthReport): string {
  const lines: string[] = [];
  const where = { osk: 'osk all-in-one', openstack: 'clouds.yaml', kubernetes: 'Kubernetes' }[r.target.kind];
  lines.push(
    `cloud ${r.target.cloud} (${where}${r.target.authUrl ? `, ${r.target.authUrl}` : ''}): ${r.apis.length ? `${r.probes} probes per call, concurrency ${r.concurrency}, ` : 'no API probes, '}${r.seconds.toFixed(1)} s`,
  );
  if (r.apis.length) {
    lines.push('');
    lines.push(
      ...table([
        ['API', 'CALL', 'OK', 'FAILED', 'SUCCESS', 'P50', 'P99', 'MAX'],
        ...r.apis.map((a) => [
          a.api,
          a.call,
          String(a.ok),
          String(a.failed),
          pctText(a.successRate),
          ms(a.p50Ms),
          ms(a.p99Ms),
          ms(a.maxMs),
        ]),
      ]),
    );
  }
  const errs = r.apis.filter((a) => a.errors.length);
  if (errs.length) {
    lines.push('', 'failures:');
    for (const a of errs) for (const e of a.errors) lines.push(`  ${a.api} (${e.count}×): ${e.message}`);
  }
  lines.push('');
  lines.push(
    ...table([
      ['THRESHOLD', 'LIMIT', 'MEASURED', 'VERDICT', 'DETAIL'],
      ...r.thresholds.map((v) => [
        v.threshold,
        v.limit,
        v.measured,
        v.state === 'breach' ? 'BREACH' : v.state,
        v.detail,
      ]),
    ]),
  );
  const broken = r.thresholds.filter((v) => v.state === 'breach').map((v) => v.threshold);
  lines.push('', broken.length ? `UNHEALTHY: ${broken.join(', ')} broken` : 'healthy: no threshold broken');
  return `${lines.join('\n')}\n`;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) =>
    r
      .map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
}
