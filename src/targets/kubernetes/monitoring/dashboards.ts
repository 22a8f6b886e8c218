/**
 * Grafana dashboards of a cloud: one panel per alert, showing the quantity the alert compares
 * and its threshold drawn as a line. Shipped as ConfigMaps labelled grafana_dashboard: "1" (the
 * Grafana sidecar convention).
 *
 * Written as plain data in the layout Grafana's foundation SDK builds (schema version, defaults,
 * grid positions): the SDK's builders are ~1 MB of code that every render would load for three
 * small documents. testing/sdk-dashboards.ts builds the same dashboards with the SDK, and the
 * tests check that the JSON is the same, key order included.
 */
import type { AlertDef } from './alerts.js';

type Json = Record<string, unknown>;

interface DashboardDef {
  /** File stem and uid suffix, e.g. "thresholds". */
  name: string;
  title: string;
  json: Json;
}

const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };

/** The dashboards: which alert groups each shows. */
export const FAMILIES: { name: string; title: string; groups: string[] }[] = [
  { name: 'thresholds', title: 'SLOs and resource thresholds', groups: ['thresholds'] },
  {
    name: 'control-plane',
    title: 'Control plane: MariaDB, RabbitMQ, OpenStack services, OVN',
    groups: ['mariadb', 'rabbitmq', 'openstack', 'ovn'],
  },
  { name: 'kubernetes', title: 'Jobs, volumes, certificates and scrape targets', groups: ['kubernetes'] },
];

/** Grafana's grid is 24 units wide; a panel is half of it, 8 high (the SDK's span(12), height(8)). */
const GRID_WIDTH = 24;
const PANEL = { h: 8, w: 12 };

function panel(a: AlertDef, id: number): Json {
  const p = a.panel ?? { title: a.alert, expr: a.expr };
  const target: Json = { expr: p.expr, refId: 'A', datasource: { ...DATASOURCE } };
  if (p.legend) target.legendFormat = p.legend;
  const defaults: Json = { custom: a.threshold ? { thresholdsStyle: { mode: 'line' } } : {} };
  if (a.threshold) {
    defaults.unit = a.threshold.unit;
    defaults.thresholds = {
      mode: 'absolute',
      steps: [
        { value: null, color: 'green' },
        { value: a.threshold.value, color: 'red' },
      ],
    };
  }
  return {
    type: 'timeseries',
    transparent: false,
    repeatDirection: 'h',
    options: {
      legend: { displayMode: 'list', placement: 'bottom', showLegend: false, calcs: [] },
      tooltip: { mode: 'single', sort: 'asc' },
    },
    fieldConfig: { defaults, overrides: [] },
    id,
    title: p.title,
    description: `${a.alert} (${a.severity}): ${a.description} Runbook: ${a.runbook}`,
    datasource: { ...DATASOURCE },
    targets: [target],
  };
}

/** Lays panels out as the SDK does: left to right, a new line when the width is used up; a row takes a line of its own. */
class Grid {
  private x = 0;
  private y = 0;
  private lastHeight = 0;

  row(): { x: number; y: number; h: number; w: number } {
    const pos = { x: 0, y: this.y + this.lastHeight, h: 1, w: GRID_WIDTH };
    this.x = 0;
    this.y = pos.y + 1;
    this.lastHeight = 0;
    return pos;
  }

  panel(): { h: number; w: number; x: number; y: number } {
    const pos = { ...PANEL, x: this.x, y: this.y };
    this.x += PANEL.w;
    this.lastHeight = Math.max(this.lastHeight, PANEL.h);
    if (this.x >= GRID_WIDTH) {
      this.x = 0;
      this.y += this.lastHeight;
      this.lastHeight = 0;
    }
    return pos;
  }
}

export function dashboards(cloud: string, namespace: string, alerts: AlertDef[]): DashboardDef[] {
  const out: DashboardDef[] = [];
  for (const f of FAMILIES) {
    const mine = alerts.filter((a) => f.groups.includes(a.group));
    if (!mine.length) continue;
    const grid = new Grid();
    const panels: Json[] = [];
    let id = 1;
    for (const group of f.groups) {
      const inGroup = mine.filter((a) => a.group === group);
      if (!inGroup.length) continue;
      panels.push({ type: 'row', collapsed: false, id: id++, panels: [], title: group, gridPos: grid.row() });
      for (const a of inGroup) panels.push({ ...panel(a, id++), gridPos: grid.panel() });
    }
    const json: Json = {
      timezone: 'browser',
      editable: true,
      graphTooltip: 0,
      fiscalYearStartMonth: 0,
      schemaVersion: 42,
      templating: {
        list: [
          {
            type: 'datasource',
            name: 'datasource',
            skipUrlSync: false,
            multi: false,
            allowCustomValue: true,
            includeAll: false,
            auto: false,
            auto_min: '10s',
            auto_count: 30,
            label: 'Data source',
            query: 'prometheus',
          },
        ],
      },
      annotations: {},
      title: `OpenStack ${cloud} (${namespace}): ${f.title}`,
      uid: `osk-${cloud}-${f.name}`.slice(0, 40),
      tags: ['osk', 'openstack', cloud],
      refresh: '1m',
      time: { from: 'now-6h', to: 'now' },
      panels,
    };
    out.push({ name: f.name, title: f.title, json });
  }
  return out;
}
