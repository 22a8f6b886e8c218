/**
 * Builders of PromQL numbers and promtool input series, shared by every alert group, so that
 * the examples on which an alert must fire or stay quiet are written from the same values.
 */
import type { AlertDef, Series } from './types.js';

/** A number as PromQL writes it (no exponent for the values used here). */
export function num(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/** Counter series `start+step x count`, promtool's expanding notation. */
export function counter(perMinute: number, minutes = 120): string {
  return `0+${num(perMinute)}x${minutes}`;
}

export function gauge(v: number, minutes = 120): string {
  return `${num(v)}x${minutes}`;
}

/** `n` samples alternating 1 and 0: a probe that fails every other time. */
export function alternating(n: number): string {
  return Array.from({ length: n }, (_, i) => (i % 2 ? '0' : '1')).join(' ');
}

/** A label set as PromQL writes it inside braces. */
export function lbl(o: Record<string, string>): string {
  return Object.entries(o)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
}

/** Buckets of a latency histogram with every request in one bucket: above or below `t`. */
export function histogram(metric: string, labels: string, t: number, slow: boolean, perMinute = 60): Series[] {
  const low = t / 2;
  const high = t * 2;
  return [
    { series: `${metric}{${labels},le="${num(low)}"}`, values: counter(slow ? 0 : perMinute) },
    { series: `${metric}{${labels},le="${num(high)}"}`, values: counter(perMinute) },
    { series: `${metric}{${labels},le="+Inf"}`, values: counter(perMinute) },
  ];
}

/** Examples on one series whose labels are also the labels of the fired alert. */
export function oneSeries(
  metric: string,
  labels: Record<string, string>,
  fire: string,
  quiet: string,
): AlertDef['examples'] {
  const series = `${metric}{${lbl(labels)}}`;
  return { fire: { labels, series: [{ series, values: fire }] }, quiet: { series: [{ series, values: quiet }] } };
}
