/**
 * The thresholds only a cluster can measure, for `osk health -f cloud.yaml`: pod restarts per
 * hour (from the pods' container statuses), container CPU and memory against their limits (from
 * metrics.k8s.io, i.e. metrics-server). The gateway p99 needs the ingress controller's histogram
 * in Prometheus, which the API server does not have: it stays "not measured" here and is watched
 * by the PrometheusRule osk renders.
 *
 * Restarts per hour: the API keeps a container's restart count and the time of its last restart,
 * not each restart's time. For a pod younger than an hour every restart is in the last hour; for
 * an older one the rate is its count over its age, except that a container whose last restart was
 * within the hour counts at least 1. The verdict names the worst pods.
 */
import type { KubeApi } from '../targets/kubernetes/kube-api.js';
import { resolveThresholds } from '../spec/thresholds.js';
import type { Verdict } from './health.js';
import type { CloudSpec } from '../spec/schema.js';
import { quantityValue } from '../spec/rules.js';

export interface PodInfo {
  metadata: { name: string; creationTimestamp?: string };
  spec?: {
    containers?: { name: string; resources?: { limits?: Record<string, string>; requests?: Record<string, string> } }[];
  };
  status?: {
    startTime?: string;
    containerStatuses?: {
      name: string;
      restartCount?: number;
      lastState?: { terminated?: { finishedAt?: string; reason?: string } };
    }[];
  };
}

interface PodMetrics {
  metadata: { name: string };
  containers: { name: string; usage: { cpu?: string; memory?: string } }[];
}

interface PodRestarts {
  pod: string;
  container: string;
  restarts: number;
  perHour: number;
  lastReason?: string;
}

const HOUR = 3600_000;

export function restartRates(pods: readonly PodInfo[], now: number): PodRestarts[] {
  const out: PodRestarts[] = [];
  for (const p of pods) {
    const started = Date.parse(p.status?.startTime ?? p.metadata.creationTimestamp ?? '');
    const ageMs = Number.isFinite(started) ? Math.max(0, now - started) : 0;
    for (const c of p.status?.containerStatuses ?? []) {
      const n = c.restartCount ?? 0;
      if (n === 0) continue;
      const last = Date.parse(c.lastState?.terminated?.finishedAt ?? '');
      let perHour = ageMs <= HOUR ? n : (n * HOUR) / ageMs;
      if (Number.isFinite(last) && now - last <= HOUR) perHour = Math.max(perHour, 1);
      out.push({
        pod: p.metadata.name,
        container: c.name,
        restarts: n,
        perHour: Math.round(perHour * 100) / 100,
        ...(c.lastState?.terminated?.reason ? { lastReason: c.lastState.terminated.reason } : {}),
      });
    }
  }
  return out.sort((a, b) => b.perHour - a.perHour);
}

/** Kubernetes quantities: CPU in cores ("250m", "1", "12345n"), memory in bytes ("512Mi", "1G"). */
export function quantity(q: string): number {
  const v = quantityValue(q);
  if (v === undefined) throw new Error(`not a Kubernetes quantity: ${q}`);
  return v;
}

interface UsageRatio {
  pod: string;
  container: string;
  resource: 'cpu' | 'memory';
  used: number;
  limit: number;
  ratio: number;
  /** Which bound the ratio is against: the limit, or the request when there is no limit. */
  of: 'limit' | 'request';
}

/** Usage over the container's limit (or its request when it has no limit); containers with neither are left out. */
export function usageRatios(pods: readonly PodInfo[], metrics: readonly PodMetrics[]): UsageRatio[] {
  const specs = new Map(
    pods.map((p) => [p.metadata.name, new Map((p.spec?.containers ?? []).map((c) => [c.name, c.resources ?? {}]))]),
  );
  const out: UsageRatio[] = [];
  for (const m of metrics) {
    for (const c of m.containers) {
      const res = specs.get(m.metadata.name)?.get(c.name);
      if (!res) continue;
      for (const resource of ['cpu', 'memory'] as const) {
        const usedQ = c.usage[resource];
        const bound = res.limits?.[resource] ?? res.requests?.[resource];
        if (!usedQ || !bound) continue;
        const used = quantity(usedQ);
        const limit = quantity(bound);
        if (limit <= 0) continue;
        out.push({
          pod: m.metadata.name,
          container: c.name,
          resource,
          used,
          limit,
          ratio: used / limit,
          of: res.limits?.[resource] ? 'limit' : 'request',
        });
      }
    }
  }
  return out.sort((a, b) => b.ratio - a.ratio);
}

const pct = (r: number) => `${Math.round(r * 1000) / 10}%`;

interface KubeHealthInputs {
  pods: PodInfo[];
  /** undefined: metrics.k8s.io is not served (no metrics-server). */
  metrics?: PodMetrics[];
  now: number;
}

/** The verdicts of the four Kubernetes thresholds. */
export function kubeVerdicts(spec: CloudSpec, i: KubeHealthInputs): Verdict[] {
  const t = resolveThresholds(spec);
  const src = (k: keyof typeof t.raw) =>
    `${t.raw[k]} (${spec.monitoring?.thresholds?.[k] !== undefined ? 'cloud file' : 'default'})`;
  const out: Verdict[] = [];
  out.push({
    threshold: 'gatewayP99',
    limit: src('gatewayP99'),
    measured: '',
    state: 'not-measured',
    detail: 'needs the ingress controller histogram in Prometheus (the alert GatewayLatencyHigh watches it)',
  });

  const rates = restartRates(i.pods, i.now);
  const worst = rates[0];
  const over = rates.filter((r) => r.perHour > t.podRestartsPerHour);
  out.push({
    threshold: 'podRestartsPerHour',
    limit: src('podRestartsPerHour'),
    measured: worst ? String(worst.perHour) : '0',
    state: over.length ? 'breach' : 'ok',
    detail: over.length
      ? `${over.length} containers restart more often: ${over
          .slice(0, 3)
          .map(
            (r) =>
              `${r.pod}/${r.container} ${r.restarts} restarts (${r.perHour}/h${r.lastReason ? `, last ${r.lastReason}` : ''})`,
          )
          .join(', ')}${over.length > 3 ? ', …' : ''}`
      : `${i.pods.length} pods${worst ? `; most: ${worst.pod}/${worst.container} ${worst.perHour}/h` : ', no restarts'}`,
  });

  for (const [threshold, resource, limit] of [
    ['containerCpu', 'cpu', t.containerCpu],
    ['containerMemory', 'memory', t.containerMemory],
  ] as const) {
    if (!i.metrics) {
      out.push({
        threshold,
        limit: src(threshold),
        measured: '',
        state: 'not-measured',
        detail: 'the cluster does not serve metrics.k8s.io: install metrics-server to measure container usage',
      });
      continue;
    }
    const rs = usageRatios(i.pods, i.metrics).filter((r) => r.resource === resource);
    const bad = rs.filter((r) => r.ratio > limit);
    const top = rs[0];
    out.push({
      threshold,
      limit: src(threshold),
      measured: top ? pct(top.ratio) : '',
      state: !rs.length ? 'not-measured' : bad.length ? 'breach' : 'ok',
      detail: !rs.length
        ? 'no container reported usage with a limit or request'
        : bad.length
          ? `${bad.length} containers above: ${bad
              .slice(0, 3)
              .map((r) => `${r.pod}/${r.container} ${pct(r.ratio)} of its ${r.of}`)
              .join(', ')}${bad.length > 3 ? ', …' : ''}`
          : `highest: ${top!.pod}/${top!.container} ${pct(top!.ratio)} of its ${top!.of}`,
    });
  }
  return out;
}

/** Reads the cloud's pods and (when served) their metrics. */
export async function readKubeHealth(
  api: KubeApi,
  namespace: string,
  cloud: string,
  now = Date.now(),
): Promise<KubeHealthInputs> {
  const selector = `app.kubernetes.io/instance=${cloud}`;
  const pods = (
    await api.request<{ items: PodInfo[] }>('GET', `/api/v1/namespaces/${namespace}/pods`, {
      query: { labelSelector: selector },
      what: `list pods in namespace ${namespace}`,
    })
  ).body.items;
  let metrics: PodMetrics[] | undefined;
  if (await api.serves('metrics.k8s.io/v1beta1', 'PodMetrics')) {
    metrics = (
      await api.request<{ items: PodMetrics[] }>('GET', `/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods`, {
        query: { labelSelector: selector },
        what: `read pod metrics in namespace ${namespace}`,
      })
    ).body.items;
  }
  return { pods, ...(metrics ? { metrics } : {}), now };
}
