/**
 * The container thresholds of spec.monitoring.thresholds: restarts per hour (kube-state-metrics)
 * and CPU / memory use against the container's limit (cAdvisor over kube-state-metrics).
 */
import type { AlertContext } from './context.js';
import { rule } from './rule.js';
import { counter, gauge, num } from './series.js';
import type { AlertDef, Series } from './types.js';

const GROUP = 'thresholds';
/** The container every example is about. */
const POD = { pod: 'nova-api-0', container: 'nova-api' };
const EXAMPLE = `pod="${POD.pod}",container="${POD.container}"`;
const GIB = 1024 * 1024 * 1024;

function restarts({ t, ns, sel }: AlertContext): AlertDef {
  const metric = `kube_pod_container_status_restarts_total{${sel},${EXAMPLE}}`;
  return rule(GROUP, {
    alert: 'PodRestartingOften',
    quantity: `increase(kube_pod_container_status_restarts_total{${sel}}[1h])`,
    when: `> ${num(t.podRestartsPerHour)}`,
    for: '5m',
    severity: 'warning',
    summary: `Container {{ $labels.container }} of {{ $labels.pod }} restarts more than ${t.podRestartsPerHour} times an hour`,
    description: `kube-state-metrics counts more than ${t.podRestartsPerHour} restarts in the last hour.`,
    runbook: `Read the previous container log (kubectl logs -n ${ns} {{ $labels.pod }} -c {{ $labels.container }} --previous) and its last state (kubectl describe pod).`,
    line: t.podRestartsPerHour,
    unit: 'short',
    title: 'Container restarts per hour',
    legend: '{{pod}}/{{container}}',
    // Restarts per minute so that one hour gives twice / half the threshold (at least one).
    examples: {
      fire: {
        labels: { namespace: ns, ...POD },
        series: [{ series: metric, values: counter(((t.podRestartsPerHour + 1) * 2) / 60) }],
      },
      quiet: { series: [{ series: metric, values: counter(t.podRestartsPerHour / 2 / 60) }] },
    },
  });
}

/** What differs between the CPU and the memory alert. */
const RESOURCES = {
  cpu: {
    alert: 'ContainerCpuNearLimit',
    threshold: 'containerCpu',
    used: (sel: string) =>
      `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{${sel},container!=""}[5m]))`,
    /** Usage series at `share` of a 2-core limit, and that limit. */
    series: (sel: string, share: number): Series[] => [
      { series: `container_cpu_usage_seconds_total{${sel},${EXAMPLE}}`, values: counter(share * 2 * 60) },
      {
        series: `kube_pod_container_resource_limits{${sel},${EXAMPLE},resource="cpu",unit="core"}`,
        values: gauge(2),
      },
    ],
    title: 'Container CPU / limit',
    summary: (raw: string) =>
      `Container {{ $labels.container }} of {{ $labels.pod }} uses more than ${raw} of its CPU limit`,
    description: (raw: string) =>
      `CPU usage (cAdvisor) over the limit (kube-state-metrics) has been above ${raw} for 15 minutes; the container is being throttled soon.`,
    runbook: 'Raise resources.limits.cpu of that component in the cloud file, or add replicas, then osk apply.',
  },
  memory: {
    alert: 'ContainerMemoryNearLimit',
    threshold: 'containerMemory',
    used: (sel: string) =>
      `sum by (namespace, pod, container) (container_memory_working_set_bytes{${sel},container!=""})`,
    /** Working set at `share` of a 1 GiB limit, and that limit. */
    series: (sel: string, share: number): Series[] => [
      {
        series: `container_memory_working_set_bytes{${sel},${EXAMPLE}}`,
        values: gauge(Math.round(share * GIB)),
      },
      {
        series: `kube_pod_container_resource_limits{${sel},${EXAMPLE},resource="memory",unit="byte"}`,
        values: gauge(GIB),
      },
    ],
    title: 'Container memory / limit',
    summary: (raw: string) =>
      `Container {{ $labels.container }} of {{ $labels.pod }} uses more than ${raw} of its memory limit`,
    description: (raw: string) =>
      `Working set (cAdvisor) over the limit (kube-state-metrics) has been above ${raw} for 15 minutes; the kernel kills the container at 100%.`,
    runbook:
      'Raise resources.limits.memory of that component in the cloud file (or lower its workers), then osk apply.',
  },
} as const;

function nearLimit({ t, ns, sel }: AlertContext, kind: keyof typeof RESOURCES): AlertDef {
  const r = RESOURCES[kind];
  const limit = t[r.threshold];
  const raw = t.raw[r.threshold];
  return rule(GROUP, {
    alert: r.alert,
    quantity: `${r.used(sel)} / sum by (namespace, pod, container) (kube_pod_container_resource_limits{${sel},resource="${kind}"})`,
    when: `> ${num(limit)}`,
    for: '15m',
    severity: 'warning',
    summary: r.summary(raw),
    description: r.description(raw),
    runbook: r.runbook,
    line: limit,
    unit: 'percentunit',
    title: r.title,
    legend: '{{pod}}/{{container}}',
    examples: {
      fire: { labels: { namespace: ns, ...POD }, series: r.series(sel, Math.min(1, limit + 0.1)) },
      quiet: { series: r.series(sel, limit / 2) },
    },
  });
}

export function containerAlerts(c: AlertContext): AlertDef[] {
  return [restarts(c), nearLimit(c, 'cpu'), nearLimit(c, 'memory')];
}
