/** The shape of one alert: its Prometheus rule, its dashboard panel and its promtool examples. */

export type Severity = 'critical' | 'warning';

/** One input series of a promtool unit test: `values` in promtool's expanding notation. */
export interface Series {
  series: string;
  values: string;
}

interface AlertExample {
  series: Series[];
}

export interface AlertDef {
  group: string;
  alert: string;
  expr: string;
  for: string;
  severity: Severity;
  /** Uses only {{ $labels.x }} (no $value), so the tests can expand it exactly. */
  summary: string;
  description: string;
  /** One actionable line. */
  runbook: string;
  /** Threshold drawn on the dashboard panel, in the unit of `panel.expr`. */
  threshold?: { value: number; unit: 'percentunit' | 's' | 'short' | 'bytes' };
  /** The quantity compared to the threshold, for a dashboard panel (defaults to expr). */
  panel?: { title: string; expr: string; legend?: string };
  examples: { fire: AlertExample & { labels: Record<string, string> }; quiet: AlertExample };
}
