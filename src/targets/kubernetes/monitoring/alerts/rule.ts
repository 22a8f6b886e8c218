/**
 * The one shape of every alert: a quantity compared to a value, drawn on its dashboard panel as
 * that quantity against a threshold line. The groups only say what differs.
 */
import type { AlertDef, Severity } from './types.js';

type Unit = NonNullable<AlertDef['threshold']>['unit'];

export type RuleInput = {
  alert: string;
  /** The quantity compared, which is also what the dashboard panel draws. */
  quantity: string;
  for: string;
  severity: Severity;
  summary: string;
  description: string;
  runbook: string;
  /** Where the panel draws the threshold line. */
  line: number;
  unit: Unit;
  title: string;
  legend?: string;
  examples: AlertDef['examples'];
} & (
  | {
      /** The comparison that follows the quantity, e.g. `> 0.05`. */
      when: string;
    }
  | {
      /** The whole expression, when it is more than `quantity when`. */
      expr: string;
    }
);

export function rule(group: string, r: RuleInput): AlertDef {
  return {
    group,
    alert: r.alert,
    expr: 'expr' in r ? r.expr : `${r.quantity} ${r.when}`,
    for: r.for,
    severity: r.severity,
    summary: r.summary,
    description: r.description,
    runbook: r.runbook,
    threshold: { value: r.line, unit: r.unit },
    panel: { title: r.title, expr: r.quantity, ...(r.legend === undefined ? {} : { legend: r.legend }) },
    examples: r.examples,
  };
}
