/**
 * The reference for monitoring/dashboards.ts: the same dashboards built with Grafana's foundation
 * SDK (its builders fill in Grafana's defaults and lay the panels out on the grid). osk renders
 * them as plain data, without loading the SDK's ~1 MB of builders on every render; the tests
 * check that both give the same JSON, key order included.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { AlertDef } from '../monitoring/alerts.js';
import { FAMILIES } from '../monitoring/dashboards.js';

interface DashboardDef {
  /** File stem and uid suffix, e.g. "thresholds". */
  name: string;
  title: string;
  json: dashboard.Dashboard;
}

const DATASOURCE: common.DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

function panel(a: AlertDef, id: number): timeseries.PanelBuilder {
  const p = a.panel ?? { title: a.alert, expr: a.expr };
  const q = new prometheus.DataqueryBuilder().expr(p.expr).refId('A').datasource(DATASOURCE);
  if (p.legend) q.legendFormat(p.legend);
  const b = new timeseries.PanelBuilder()
    .id(id)
    .title(p.title)
    .description(`${a.alert} (${a.severity}): ${a.description} Runbook: ${a.runbook}`)
    .datasource(DATASOURCE)
    .withTarget(q)
    .height(8)
    .span(12);
  if (a.threshold) {
    b.unit(a.threshold.unit)
      .thresholds(
        new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
          { value: null, color: 'green' },
          { value: a.threshold.value, color: 'red' },
        ]),
      )
      .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line));
  }
  return b;
}

export function sdkDashboards(cloud: string, namespace: string, alerts: AlertDef[]): DashboardDef[] {
  const out: DashboardDef[] = [];
  for (const f of FAMILIES) {
    const mine = alerts.filter((a) => f.groups.includes(a.group));
    if (!mine.length) continue;
    const b = new dashboard.DashboardBuilder(`OpenStack ${cloud} (${namespace}): ${f.title}`)
      .uid(`osk-${cloud}-${f.name}`.slice(0, 40))
      .tags(['osk', 'openstack', cloud])
      .refresh('1m')
      .time({ from: 'now-6h', to: 'now' })
      .timezone('browser')
      .withVariable(new dashboard.DatasourceVariableBuilder('datasource').label('Data source').type('prometheus'));
    let id = 1;
    for (const group of f.groups) {
      const inGroup = mine.filter((a) => a.group === group);
      if (!inGroup.length) continue;
      b.withRow(new dashboard.RowBuilder(group).id(id++));
      for (const a of inGroup) b.withPanel(panel(a, id++));
    }
    out.push({ name: f.name, title: f.title, json: b.build() });
  }
  return out;
}
