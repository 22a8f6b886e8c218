/** spec.monitoring.thresholds as numbers in the units PromQL compares: seconds and ratios. */
import type { CloudSpec } from './schema.js';

type Raw = {
  novaApiP99: string;
  neutronPortFailureRate: string;
  cinderOpLatency: string;
  apiSuccessRate: string;
  gatewayP99: string;
  podRestartsPerHour: number;
  containerCpu: string;
  containerMemory: string;
};

export interface Thresholds {
  novaApiP99: number;
  neutronPortFailureRate: number;
  cinderOpLatency: number;
  apiSuccessRate: number;
  gatewayP99: number;
  podRestartsPerHour: number;
  containerCpu: number;
  containerMemory: number;
  /** As written in the cloud file (for messages). */
  raw: Raw;
}

export const DEFAULT_THRESHOLDS: Raw = {
  novaApiP99: '500ms',
  neutronPortFailureRate: '1%',
  cinderOpLatency: '3s',
  apiSuccessRate: '99.9%',
  gatewayP99: '200ms',
  podRestartsPerHour: 3,
  containerCpu: '70%',
  containerMemory: '80%',
};

/** "500ms" → 0.5, "3s" → 3, "5m" → 300, "1h" → 3600. */
export function seconds(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  const n = Number(m[1]);
  return { ms: n / 1000, s: n, m: n * 60, h: n * 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

/** "99.9%" → 0.999. */
export function ratio(p: string): number {
  const m = /^(\d+(?:\.\d+)?)%$/.exec(p);
  if (!m) throw new Error(`not a percentage: ${p}`);
  return Number((Number(m[1]) / 100).toPrecision(12));
}

export function resolveThresholds(spec: CloudSpec): Thresholds {
  const raw: Raw = { ...DEFAULT_THRESHOLDS, ...(spec.monitoring?.thresholds ?? {}) };
  return {
    novaApiP99: seconds(raw.novaApiP99),
    neutronPortFailureRate: ratio(raw.neutronPortFailureRate),
    cinderOpLatency: seconds(raw.cinderOpLatency),
    apiSuccessRate: ratio(raw.apiSuccessRate),
    gatewayP99: seconds(raw.gatewayP99),
    podRestartsPerHour: raw.podRestartsPerHour,
    containerCpu: ratio(raw.containerCpu),
    containerMemory: ratio(raw.containerMemory),
    raw,
  };
}
