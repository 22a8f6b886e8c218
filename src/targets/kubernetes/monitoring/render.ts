/**
 * The monitoring objects of a cloud on Kubernetes: one PrometheusRule with every alert, a
 * PodMonitor per metrics source (RabbitMQ's plugin and osk's exporters), a NetworkPolicy per
 * source that admits the scrapes (the namespace denies by default), and the Grafana dashboards
 * as ConfigMaps. Nothing when spec.monitoring.enabled is false.
 */
import { API_PROBE_MODULE, EXPORTER_PORTS, probedApis } from '../../../catalog/monitoring.js';
import type { CloudModel } from '../../../plan/model.js';
import type { KubernetesAddOn } from '../add-on.js';
import { baseLabels, selectorFor } from '../labels.js';
import type { KubeObject } from '../objects.js';
import { alertDefinitions, type AlertDef } from './alerts.js';
import { dashboards } from './dashboards.js';
import { ConfigMap, NetworkPolicy, PodMonitor, PrometheusRule } from '../k8s.js';

export const DASHBOARD_LABEL = 'grafana_dashboard';

/** A rule group as Prometheus reads it (the PrometheusRule spec and promtool's file format). */
interface RuleGroup {
  name: string;
  rules: {
    alert: string;
    expr: string;
    for: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
  }[];
}

function monitoringEnabled(model: CloudModel): boolean {
  return model.ctx.spec.monitoring?.enabled !== false;
}

function ruleGroups(alerts: AlertDef[], cloud: string): RuleGroup[] {
  const groups = new Map<string, RuleGroup>();
  for (const a of alerts) {
    const name = `osk-${cloud}-${a.group}`;
    const g = groups.get(name) ?? { name, rules: [] };
    g.rules.push({
      alert: a.alert,
      expr: a.expr,
      for: a.for,
      labels: { severity: a.severity, osk_cloud: cloud },
      annotations: { summary: a.summary, description: a.description, runbook: a.runbook },
    });
    groups.set(name, g);
  }
  return [...groups.values()];
}

/** Where Prometheus scrapes: component, container port name and number, path and parameters. */
interface ScrapeSource {
  component: string;
  port: string;
  portNumber: number;
  endpoints: {
    path: string;
    params?: Record<string, string[]>;
    instance?: string;
    interval?: string;
    scrapeTimeout?: string;
  }[];
}

function scrapeSources(model: CloudModel): ScrapeSource[] {
  const { ctx, components } = model;
  const out: ScrapeSource[] = [];
  if (components.has('rabbitmq'))
    out.push({ component: 'rabbitmq', port: 'prometheus', portNumber: 15692, endpoints: [{ path: '/metrics' }] });
  const mariadb = components.get('mariadb');
  if (components.has('mysqld-exporter') && mariadb) {
    out.push({
      component: 'mysqld-exporter',
      port: 'metrics',
      portNumber: EXPORTER_PORTS.mysqld,
      endpoints: Array.from({ length: mariadb.settings.replicas }, (_, i) => ({
        path: '/probe',
        params: { target: [`${ctx.topology.podHost('mariadb', i)}:3306`], auth_module: ['client'] },
        instance: `mariadb-${i}`,
      })),
    });
  }
  const memcached = components.get('memcached');
  if (components.has('memcached-exporter') && memcached) {
    out.push({
      component: 'memcached-exporter',
      port: 'metrics',
      portNumber: EXPORTER_PORTS.memcached,
      endpoints: Array.from({ length: memcached.settings.replicas }, (_, i) => ({
        path: '/scrape',
        params: { target: [`${ctx.topology.podHost('memcached', i)}:11211`] },
        instance: `memcached-${i}`,
      })),
    });
  }
  // One probe of each API's version document per scrape, labelled with the API's component.
  if (components.has('blackbox-exporter')) {
    out.push({
      component: 'blackbox-exporter',
      port: 'metrics',
      portNumber: EXPORTER_PORTS.blackbox,
      endpoints: probedApis(ctx).map((a) => ({
        path: '/probe',
        params: { module: [API_PROBE_MODULE], target: [a.url] },
        instance: a.component,
        interval: '15s',
        scrapeTimeout: '10s',
      })),
    });
  }
  // Every scrape of openstack-exporter calls each API: scrape it seldom, and let it take its time.
  if (components.has('openstack-exporter'))
    out.push({
      component: 'openstack-exporter',
      port: 'metrics',
      portNumber: EXPORTER_PORTS.openstack,
      endpoints: [{ path: '/metrics', interval: '60s', scrapeTimeout: '50s' }],
    });
  return out;
}

/** Alerts, scrape configs and dashboards (spec.monitoring). */
export const monitoringAddOn: KubernetesAddOn = { group: 'monitoring', objects: monitoringObjects };

function monitoringObjects(model: CloudModel): KubeObject[] {
  if (!monitoringEnabled(model)) return [];
  const { ctx } = model;
  const ns = ctx.namespace;
  const labels = baseLabels(ctx);
  const alerts = alertDefinitions(model);
  const out: KubeObject[] = [
    PrometheusRule({
      metadata: { name: `osk-${ctx.name}-alerts`, namespace: ns, labels: { ...labels, role: 'alert-rules' } },
      spec: { groups: ruleGroups(alerts, ctx.name) },
    }),
  ];
  for (const s of scrapeSources(model)) {
    const c = model.components.get(s.component)!;
    out.push(
      PodMonitor({
        metadata: { name: s.component, namespace: ns, labels },
        spec: {
          selector: { matchLabels: selectorFor(ctx, c) },
          podMetricsEndpoints: s.endpoints.map((e) => ({
            port: s.port,
            path: e.path,
            ...(e.params ? { params: e.params } : {}),
            ...(e.interval ? { interval: e.interval } : {}),
            ...(e.scrapeTimeout ? { scrapeTimeout: e.scrapeTimeout } : {}),
            ...(e.instance ? { relabelings: [{ targetLabel: 'instance', replacement: e.instance }] } : {}),
          })),
        },
      }),
      // Prometheus runs in another namespace (which one is the cluster's business): admit scrapes
      // of the metrics port from any namespace, nothing else.
      NetworkPolicy({
        metadata: { name: `${s.component}-metrics-scrape`, namespace: ns, labels },
        spec: {
          podSelector: { matchLabels: selectorFor(ctx, c) },
          policyTypes: ['Ingress'],
          ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ protocol: 'TCP', port: s.portNumber }] }],
        },
      }),
    );
  }
  for (const d of dashboards(ctx.name, ns, alerts)) {
    out.push(
      ConfigMap({
        metadata: { name: `osk-dashboard-${d.name}`, namespace: ns, labels: { ...labels, [DASHBOARD_LABEL]: '1' } },
        data: { [`osk-${ctx.name}-${d.name}.json`]: `${JSON.stringify(d.json, null, 2)}\n` },
      }),
    );
  }
  return out;
}
