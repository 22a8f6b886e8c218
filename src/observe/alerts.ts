/**
 * The alerts of a cloud: one per threshold of spec.monitoring.thresholds, and one per way an
 * OpenStack control plane breaks (Galera, RabbitMQ, Keystone, compute and other services, OVN
 * RAFT, Jobs, volumes, certificates). Pure: CloudModel in, rule definitions out.
 *
 * Metric names are the real exporters' own:
 * - ingress-nginx (the API gateway of the public endpoints): nginx_ingress_controller_requests
 *   and the histogram nginx_ingress_controller_request_duration_seconds_bucket, labelled by
 *   `ingress` (osk names each Ingress after its component). API latency and success rate are
 *   measured there: the OpenStack APIs publish no latency histogram of their own. A cloud
 *   without endpoints.publicDomain has no Ingress, so these alerts have no data there.
 * - blackbox_exporter probes of each API's version document (internal Service): probe_success,
 *   probe_duration_seconds, labelled instance=<component>; they carry the API thresholds when
 *   there is no Ingress (no endpoints.publicDomain).
 * - mysqld_exporter (global_status collector): mysql_up, mysql_global_status_wsrep_*.
 * - RabbitMQ's rabbitmq_prometheus plugin (:15692): rabbitmq_*.
 * - openstack-exporter: openstack_<service>_up, openstack_{nova,neutron,cinder}_agent_state,
 *   openstack_neutron_port{binding_vif_type}.
 * - OVN RAFT health: kube-state-metrics' ready replicas of the ovn-nb/ovn-sb StatefulSets, whose
 *   readiness probe is "cluster member that knows a leader" (no OVN exporter needed).
 * - kube-state-metrics, kubelet/cAdvisor, cert-manager: kube_*, container_*, kubelet_volume_*,
 *   certmanager_certificate_expiration_timestamp_seconds.
 *
 * Each alert carries `examples`: series on which it must fire and series on which it must stay
 * quiet, written from the same threshold values (the tests turn them into `promtool test rules`).
 */
import type { CloudModel } from '../plan/model.js';
import { resolveThresholds, type Thresholds } from './thresholds.js';

type Severity = 'critical' | 'warning';

/** One input series of a promtool unit test: `values` in promtool's expanding notation. */
interface Series {
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

const API_INGRESSES = [
  'keystone-api',
  'nova-api',
  'neutron-server',
  'cinder-api',
  'glance-api',
  'placement-api',
  'horizon',
];

/** A number as PromQL writes it (no exponent for the values used here). */
function num(n: number): string {
  return Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12)));
}

/** Counter series `start+step x count`, promtool's expanding notation. */
function counter(perMinute: number, minutes = 120): string {
  return `0+${num(perMinute)}x${minutes}`;
}
function gauge(v: number, minutes = 120): string {
  return `${num(v)}x${minutes}`;
}

/** Buckets of a latency histogram with every request in one bucket: above or below `t`. */
function histogram(metric: string, labels: string, t: number, slow: boolean, perMinute = 60): Series[] {
  const low = t / 2;
  const high = t * 2;
  return [
    { series: `${metric}{${labels},le="${num(low)}"}`, values: counter(slow ? 0 : perMinute) },
    { series: `${metric}{${labels},le="${num(high)}"}`, values: counter(perMinute) },
    { series: `${metric}{${labels},le="+Inf"}`, values: counter(perMinute) },
  ];
}

export function alertDefinitions(model: CloudModel): AlertDef[] {
  const { ctx } = model;
  const t: Thresholds = resolveThresholds(ctx.spec);
  const ns = ctx.namespace;
  const sel = `namespace="${ns}"`;
  const has = (id: string) => model.components.has(id);
  const ingresses = API_INGRESSES.filter(has);
  const ingressRe = ingresses.join('|');
  const out: AlertDef[] = [];
  const H = 'nginx_ingress_controller_request_duration_seconds_bucket';
  const R = 'nginx_ingress_controller_requests';

  // Ingresses exist only with endpoints.publicDomain: without them the API thresholds are
  // measured by the blackbox exporter's probes of each API's internal Service instead.
  const viaIngress = Boolean(ctx.spec.endpoints?.publicDomain) && ingresses.length > 0;
  const probes = has('blackbox-exporter');
  const P = 'probe_duration_seconds';
  const S = 'probe_success';
  const alternating = (n: number) => Array.from({ length: n }, (_, i) => (i % 2 ? '0' : '1')).join(' ');

  // ---- thresholds (spec.monitoring.thresholds) ------------------------------------------------
  if (has('nova-api') && !viaIngress && probes) {
    const q = `quantile_over_time(0.99, ${P}{${sel},instance="nova-api"}[10m])`;
    out.push({
      group: 'thresholds',
      alert: 'NovaApiLatencyHigh',
      expr: `${q} > ${num(t.novaApiP99)}`,
      for: '10m',
      severity: 'warning',
      summary: `Nova API p99 answer time above ${t.raw.novaApiP99}`,
      description: `p99 over 10 minutes of the time nova-api takes to answer the blackbox exporter's probe of its version document (every 15 s, internal Service) has been above ${t.raw.novaApiP99} for 10 minutes. Without endpoints.publicDomain there is no Ingress histogram of real requests; a slow version document means a saturated API process.`,
      runbook:
        'Check nova-api pod CPU and its database latency (kubectl top pod -l osk.dev/component=nova-api); scale spec.services.nova.api.replicas if saturated.',
      threshold: { value: t.novaApiP99, unit: 's' },
      panel: { title: 'Nova API p99 answer time (probes)', expr: q, legend: 'p99' },
      examples: {
        fire: {
          labels: { namespace: ns, instance: 'nova-api' },
          series: [{ series: `${P}{${sel},instance="nova-api"}`, values: gauge(t.novaApiP99 * 2) }],
        },
        quiet: { series: [{ series: `${P}{${sel},instance="nova-api"}`, values: gauge(t.novaApiP99 / 2) }] },
      },
    });
  }
  if (has('nova-api') && viaIngress) {
    const q = `histogram_quantile(0.99, sum by (le) (rate(${H}{ingress="nova-api"}[5m])))`;
    out.push({
      group: 'thresholds',
      alert: 'NovaApiLatencyHigh',
      expr: `${q} > ${num(t.novaApiP99)}`,
      for: '10m',
      severity: 'warning',
      summary: `Nova API p99 latency above ${t.raw.novaApiP99}`,
      description: `p99 of requests to the nova-api Ingress (ingress-nginx histogram) has been above ${t.raw.novaApiP99} for 10 minutes.`,
      runbook:
        'Check nova-api pod CPU and its database latency (kubectl top pod -l osk.dev/component=nova-api); scale spec.services.nova.api.replicas if saturated.',
      threshold: { value: t.novaApiP99, unit: 's' },
      panel: { title: 'Nova API p99 latency', expr: q, legend: 'p99' },
      examples: {
        fire: { labels: {}, series: histogram(H, 'ingress="nova-api"', t.novaApiP99, true) },
        quiet: { series: histogram(H, 'ingress="nova-api"', t.novaApiP99, false) },
      },
    });
  }
  if (has('neutron-server')) {
    const ratio = `count(openstack_neutron_port{${sel},binding_vif_type="binding_failed"}) / count(openstack_neutron_port{${sel}})`;
    const ports = (failed: number, ok: number): Series[] => [
      ...Array.from({ length: failed }, (_, i) => ({
        series: `openstack_neutron_port{${sel},id="f${i}",binding_vif_type="binding_failed"}`,
        values: gauge(1),
      })),
      ...Array.from({ length: ok }, (_, i) => ({
        series: `openstack_neutron_port{${sel},id="p${i}",binding_vif_type="ovs"}`,
        values: gauge(1),
      })),
    ];
    // Smallest counts just above and just below the ratio.
    const total = Math.max(10, Math.ceil(2 / t.neutronPortFailureRate));
    const bad = Math.floor(total * t.neutronPortFailureRate) + 1;
    const good = Math.max(0, Math.ceil(total * t.neutronPortFailureRate) - 1);
    out.push({
      group: 'thresholds',
      alert: 'NeutronPortFailuresHigh',
      expr: `${ratio} > ${num(t.neutronPortFailureRate)}`,
      for: '15m',
      severity: 'warning',
      summary: `More than ${t.raw.neutronPortFailureRate} of Neutron ports failed to bind`,
      description: `Ports with binding_vif_type=binding_failed (openstack-exporter) exceed ${t.raw.neutronPortFailureRate} of all ports.`,
      runbook:
        'List failed ports (openstack port list --long | grep binding_failed) and check ovn-controller on their hosts and the neutron-server log.',
      threshold: { value: t.neutronPortFailureRate, unit: 'percentunit' },
      panel: { title: 'Neutron ports failed to bind (ratio)', expr: ratio },
      examples: { fire: { labels: {}, series: ports(bad, total - bad) }, quiet: { series: ports(good, total - good) } },
    });
  }
  if (has('cinder-api') && viaIngress) {
    const sel2 = 'ingress="cinder-api",method=~"POST|PUT|DELETE"';
    const q = `histogram_quantile(0.99, sum by (le) (rate(${H}{${sel2}}[5m])))`;
    out.push({
      group: 'thresholds',
      alert: 'CinderVolumeOperationLatencyHigh',
      expr: `${q} > ${num(t.cinderOpLatency)}`,
      for: '10m',
      severity: 'warning',
      summary: `Cinder volume operations slower than ${t.raw.cinderOpLatency}`,
      description: `p99 of volume-changing requests (POST/PUT/DELETE) to the cinder-api Ingress has been above ${t.raw.cinderOpLatency}; the asynchronous backend work after the API answers is not part of this measure.`,
      runbook:
        'Check cinder-api and cinder-scheduler logs for slow database or RabbitMQ calls, and the storage backend health (ceph -s or the LVM host).',
      threshold: { value: t.cinderOpLatency, unit: 's' },
      panel: { title: 'Cinder volume-operation p99 latency', expr: q, legend: 'p99' },
      examples: {
        fire: { labels: {}, series: histogram(H, 'ingress="cinder-api",method="POST"', t.cinderOpLatency, true) },
        quiet: { series: histogram(H, 'ingress="cinder-api",method="POST"', t.cinderOpLatency, false) },
      },
    });
  }
  if (!viaIngress && probes) {
    const success = `avg_over_time(${S}{${sel}}[10m])`;
    out.push({
      group: 'thresholds',
      alert: 'ApiSuccessRateLow',
      expr: `${success} < ${num(t.apiSuccessRate)}`,
      for: '10m',
      severity: 'critical',
      summary: `{{ $labels.instance }} answered fewer than ${t.raw.apiSuccessRate} of its probes`,
      description: `Share of successful probes of the API's version document (blackbox exporter, every 15 s, internal Service) over 10 minutes is below ${t.raw.apiSuccessRate}. Without endpoints.publicDomain there is no Ingress counting real requests.`,
      runbook:
        'Look at the failed probes (probe_http_status_code, probe_failed_due_to_regex on the dashboard), the API pods (kubectl get pods -l osk.dev/component={{ $labels.instance }}) and their database and RabbitMQ alerts.',
      threshold: { value: t.apiSuccessRate, unit: 'percentunit' },
      panel: { title: 'API probe success rate', expr: success, legend: '{{instance}}' },
      examples: {
        fire: {
          labels: { namespace: ns, instance: 'keystone-api' },
          series: [{ series: `${S}{${sel},instance="keystone-api"}`, values: alternating(120) }],
        },
        quiet: { series: [{ series: `${S}{${sel},instance="keystone-api"}`, values: gauge(1) }] },
      },
    });
  }
  if (viaIngress) {
    const success = `1 - (sum by (ingress) (rate(${R}{ingress=~"${ingressRe}",status=~"5.."}[5m])) / sum by (ingress) (rate(${R}{ingress=~"${ingressRe}"}[5m])))`;
    const errorsPerThousand = (1 - t.apiSuccessRate) * 1000;
    const req = (errors: number): Series[] => [
      { series: `${R}{ingress="${ingresses[0]}",status="200"}`, values: counter(1000 - errors) },
      { series: `${R}{ingress="${ingresses[0]}",status="503"}`, values: counter(errors) },
    ];
    out.push({
      group: 'thresholds',
      alert: 'ApiSuccessRateLow',
      expr: `${success} < ${num(t.apiSuccessRate)}`,
      for: '10m',
      severity: 'critical',
      summary: `API success rate of {{ $labels.ingress }} below ${t.raw.apiSuccessRate}`,
      description: `Share of non-5xx responses of the Ingress (ingress-nginx requests counter) over 5 minutes is below ${t.raw.apiSuccessRate}.`,
      runbook:
        'Look at the 5xx responses of that API (kubectl logs -l osk.dev/component=<ingress> --since=15m | grep " 50") and at its database and RabbitMQ alerts.',
      threshold: { value: t.apiSuccessRate, unit: 'percentunit' },
      panel: { title: 'API success rate', expr: success, legend: '{{ingress}}' },
      examples: {
        // Twice the allowed error budget, and a tenth of it.
        fire: { labels: { ingress: ingresses[0]! }, series: req(Math.max(1, errorsPerThousand * 2)) },
        quiet: { series: req(errorsPerThousand / 10) },
      },
    });
    const q = `histogram_quantile(0.99, sum by (le) (rate(${H}{ingress=~"${ingressRe}"}[5m])))`;
    out.push({
      group: 'thresholds',
      alert: 'GatewayLatencyHigh',
      expr: `${q} > ${num(t.gatewayP99)}`,
      for: '10m',
      severity: 'warning',
      summary: `API gateway p99 latency above ${t.raw.gatewayP99}`,
      description: `p99 of all requests through the cloud's Ingresses (ingress-nginx histogram) has been above ${t.raw.gatewayP99} for 10 minutes.`,
      runbook:
        'Compare per-ingress latency on the dashboard: one slow API points at that service, all slow points at the ingress controller (kubectl top pod -n <ingress-nginx namespace>).',
      threshold: { value: t.gatewayP99, unit: 's' },
      panel: { title: 'Gateway p99 latency', expr: q, legend: 'p99' },
      examples: {
        fire: { labels: {}, series: histogram(H, `ingress="${ingresses[0]}"`, t.gatewayP99, true) },
        quiet: { series: histogram(H, `ingress="${ingresses[0]}"`, t.gatewayP99, false) },
      },
    });
  }
  {
    const q = `increase(kube_pod_container_status_restarts_total{${sel}}[1h])`;
    // Restarts per minute so that one hour gives twice / half the threshold (at least one).
    out.push({
      group: 'thresholds',
      alert: 'PodRestartingOften',
      expr: `${q} > ${num(t.podRestartsPerHour)}`,
      for: '5m',
      severity: 'warning',
      summary:
        'Container {{ $labels.container }} of {{ $labels.pod }} restarts more than ' +
        t.podRestartsPerHour +
        ' times an hour',
      description: `kube-state-metrics counts more than ${t.podRestartsPerHour} restarts in the last hour.`,
      runbook:
        'Read the previous container log (kubectl logs -n ' +
        ns +
        ' {{ $labels.pod }} -c {{ $labels.container }} --previous) and its last state (kubectl describe pod).',
      threshold: { value: t.podRestartsPerHour, unit: 'short' },
      panel: { title: 'Container restarts per hour', expr: q, legend: '{{pod}}/{{container}}' },
      examples: {
        fire: {
          labels: { namespace: ns, pod: 'nova-api-0', container: 'nova-api' },
          series: [
            {
              series: `kube_pod_container_status_restarts_total{${sel},pod="nova-api-0",container="nova-api"}`,
              values: counter(((t.podRestartsPerHour + 1) * 2) / 60),
            },
          ],
        },
        quiet: {
          series: [
            {
              series: `kube_pod_container_status_restarts_total{${sel},pod="nova-api-0",container="nova-api"}`,
              values: counter(t.podRestartsPerHour / 2 / 60),
            },
          ],
        },
      },
    });
  }
  const usage = (kind: 'cpu' | 'memory') => {
    const used =
      kind === 'cpu'
        ? `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{${sel},container!=""}[5m]))`
        : `sum by (namespace, pod, container) (container_memory_working_set_bytes{${sel},container!=""})`;
    return `${used} / sum by (namespace, pod, container) (kube_pod_container_resource_limits{${sel},resource="${kind}"})`;
  };
  {
    const limitCores = 2;
    const cpu = (share: number): Series[] => [
      {
        series: `container_cpu_usage_seconds_total{${sel},pod="nova-api-0",container="nova-api"}`,
        values: counter(share * limitCores * 60),
      },
      {
        series: `kube_pod_container_resource_limits{${sel},pod="nova-api-0",container="nova-api",resource="cpu",unit="core"}`,
        values: gauge(limitCores),
      },
    ];
    out.push({
      group: 'thresholds',
      alert: 'ContainerCpuNearLimit',
      expr: `${usage('cpu')} > ${num(t.containerCpu)}`,
      for: '15m',
      severity: 'warning',
      summary: `Container {{ $labels.container }} of {{ $labels.pod }} uses more than ${t.raw.containerCpu} of its CPU limit`,
      description: `CPU usage (cAdvisor) over the limit (kube-state-metrics) has been above ${t.raw.containerCpu} for 15 minutes; the container is being throttled soon.`,
      runbook: 'Raise resources.limits.cpu of that component in the cloud file, or add replicas, then osk apply.',
      threshold: { value: t.containerCpu, unit: 'percentunit' },
      panel: { title: 'Container CPU / limit', expr: usage('cpu'), legend: '{{pod}}/{{container}}' },
      examples: {
        fire: {
          labels: { namespace: ns, pod: 'nova-api-0', container: 'nova-api' },
          series: cpu(Math.min(1, t.containerCpu + 0.1)),
        },
        quiet: { series: cpu(t.containerCpu / 2) },
      },
    });
  }
  {
    const limit = 1024 * 1024 * 1024;
    const mem = (share: number): Series[] => [
      {
        series: `container_memory_working_set_bytes{${sel},pod="nova-api-0",container="nova-api"}`,
        values: gauge(Math.round(share * limit)),
      },
      {
        series: `kube_pod_container_resource_limits{${sel},pod="nova-api-0",container="nova-api",resource="memory",unit="byte"}`,
        values: gauge(limit),
      },
    ];
    out.push({
      group: 'thresholds',
      alert: 'ContainerMemoryNearLimit',
      expr: `${usage('memory')} > ${num(t.containerMemory)}`,
      for: '15m',
      severity: 'warning',
      summary: `Container {{ $labels.container }} of {{ $labels.pod }} uses more than ${t.raw.containerMemory} of its memory limit`,
      description: `Working set (cAdvisor) over the limit (kube-state-metrics) has been above ${t.raw.containerMemory} for 15 minutes; the kernel kills the container at 100%.`,
      runbook:
        'Raise resources.limits.memory of that component in the cloud file (or lower its workers), then osk apply.',
      threshold: { value: t.containerMemory, unit: 'percentunit' },
      panel: { title: 'Container memory / limit', expr: usage('memory'), legend: '{{pod}}/{{container}}' },
      examples: {
        fire: {
          labels: { namespace: ns, pod: 'nova-api-0', container: 'nova-api' },
          series: mem(Math.min(1, t.containerMemory + 0.1)),
        },
        quiet: { series: mem(t.containerMemory / 2) },
      },
    });
  }

  // ---- MariaDB / Galera (mysqld_exporter) -------------------------------------------------------
  const galera = model.components.get('mariadb')?.settings.replicas ?? 1;
  const node = (i: number) => ({ namespace: ns, instance: `mariadb-${i}` });
  const lbl = (o: Record<string, string>) =>
    Object.entries(o)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',');
  out.push({
    group: 'mariadb',
    alert: 'MariaDBDown',
    expr: `mysql_up{${sel}} == 0`,
    for: '5m',
    severity: 'critical',
    summary: 'MariaDB {{ $labels.instance }} does not answer the exporter',
    description: 'mysqld_exporter cannot connect to this MariaDB node; every OpenStack service depends on it.',
    runbook: `Check the pod (kubectl -n ${ns} get pod {{ $labels.instance }}; kubectl logs {{ $labels.instance }}) and its volume; see docs on Galera recovery before restarting more than one node.`,
    threshold: { value: 1, unit: 'short' },
    panel: { title: 'MariaDB up', expr: `mysql_up{${sel}}`, legend: '{{instance}}' },
    examples: {
      fire: { labels: node(0), series: [{ series: `mysql_up{${lbl(node(0))}}`, values: gauge(0) }] },
      quiet: { series: [{ series: `mysql_up{${lbl(node(0))}}`, values: gauge(1) }] },
    },
  });
  if (galera > 1) {
    const sizes = (v: number) =>
      Array.from({ length: galera }, (_, i) => ({
        series: `mysql_global_status_wsrep_cluster_size{${lbl(node(i))}}`,
        values: gauge(v),
      }));
    out.push({
      group: 'mariadb',
      alert: 'GaleraClusterSizeLow',
      expr: `mysql_global_status_wsrep_cluster_size{${sel}} < ${galera}`,
      for: '5m',
      severity: 'critical',
      summary: `Galera node {{ $labels.instance }} sees fewer than ${galera} members`,
      description: `wsrep_cluster_size is below the ${galera} nodes of the cloud: a node left the cluster and one more failure can cost quorum.`,
      runbook: `Find the missing node (kubectl -n ${ns} get pods -l osk.dev/component=mariadb) and read its log; it rejoins by itself once it starts, never bootstrap a second cluster.`,
      threshold: { value: galera, unit: 'short' },
      panel: {
        title: 'Galera cluster size',
        expr: `mysql_global_status_wsrep_cluster_size{${sel}}`,
        legend: '{{instance}}',
      },
      examples: { fire: { labels: node(0), series: [sizes(galera - 1)[0]!] }, quiet: { series: sizes(galera) } },
    });
    out.push({
      group: 'mariadb',
      alert: 'GaleraNodeNotSynced',
      expr: `mysql_global_status_wsrep_local_state{${sel}} != 4`,
      for: '10m',
      severity: 'warning',
      summary: 'Galera node {{ $labels.instance }} is not Synced',
      description: 'wsrep_local_state is not 4 (Synced) for 10 minutes: the node is joining, donating or stuck.',
      runbook: `Read the node's log for SST/IST progress (kubectl -n ${ns} logs {{ $labels.instance }}); if it is stuck as a donor, restart that one pod only.`,
      threshold: { value: 4, unit: 'short' },
      panel: {
        title: 'Galera local state (4 = Synced)',
        expr: `mysql_global_status_wsrep_local_state{${sel}}`,
        legend: '{{instance}}',
      },
      examples: {
        fire: {
          labels: node(1),
          series: [{ series: `mysql_global_status_wsrep_local_state{${lbl(node(1))}}`, values: gauge(1) }],
        },
        quiet: { series: [{ series: `mysql_global_status_wsrep_local_state{${lbl(node(1))}}`, values: gauge(4) }] },
      },
    });
    out.push({
      group: 'mariadb',
      alert: 'GaleraNotPrimary',
      expr: `mysql_global_status_wsrep_cluster_status{${sel}} != 1`,
      for: '1m',
      severity: 'critical',
      summary: 'Galera node {{ $labels.instance }} is in a non-Primary component',
      description: 'wsrep_cluster_status is not Primary: this node refuses writes (split brain or lost quorum).',
      runbook:
        'Check how many nodes are Primary; if none is, recover by bootstrapping from the most advanced node (highest seqno in grastate.dat) only.',
      threshold: { value: 1, unit: 'short' },
      panel: {
        title: 'Galera Primary (1) / non-Primary (0)',
        expr: `mysql_global_status_wsrep_cluster_status{${sel}}`,
        legend: '{{instance}}',
      },
      examples: {
        fire: {
          labels: node(2),
          series: [{ series: `mysql_global_status_wsrep_cluster_status{${lbl(node(2))}}`, values: gauge(0) }],
        },
        quiet: { series: [{ series: `mysql_global_status_wsrep_cluster_status{${lbl(node(2))}}`, values: gauge(1) }] },
      },
    });
  }

  // ---- RabbitMQ (rabbitmq_prometheus plugin) ----------------------------------------------------
  const rpod = { namespace: ns, pod: 'rabbitmq-0' };
  const flag = (
    metric: string,
    alert: string,
    summary: string,
    description: string,
    runbook: string,
    forDur: string,
  ): AlertDef => ({
    group: 'rabbitmq',
    alert,
    expr: `${metric}{${sel}} > 0`,
    for: forDur,
    severity: 'critical',
    summary,
    description,
    runbook,
    threshold: { value: 0, unit: 'short' },
    panel: { title: alert.replace(/([a-z])([A-Z])/g, '$1 $2'), expr: `${metric}{${sel}}`, legend: '{{pod}}' },
    examples: {
      fire: { labels: rpod, series: [{ series: `${metric}{${lbl(rpod)}}`, values: gauge(1) }] },
      quiet: { series: [{ series: `${metric}{${lbl(rpod)}}`, values: gauge(0) }] },
    },
  });
  out.push(
    flag(
      'rabbitmq_unreachable_cluster_peers_count',
      'RabbitMQPartition',
      'RabbitMQ node {{ $labels.pod }} cannot reach its peers',
      'The node counts unreachable cluster peers: a network partition (pause_minority stops the minority side).',
      `Check the network between the rabbitmq pods and their logs (kubectl -n ${ns} logs {{ $labels.pod }}); once peers are reachable, restart the paused minority node.`,
      '2m',
    ),
    flag(
      'rabbitmq_alarms_memory_used_watermark',
      'RabbitMQMemoryAlarm',
      'RabbitMQ node {{ $labels.pod }} hit its memory watermark',
      'The memory alarm is set: the broker blocks every publisher, so RPC between OpenStack services stops.',
      'Find the queue holding the memory (rabbitmqctl list_queues name messages memory) and its missing consumer; raise infra.rabbitmq memory limit or memoryHighWatermark if the load is legitimate.',
      '2m',
    ),
    flag(
      'rabbitmq_alarms_free_disk_space_watermark',
      'RabbitMQDiskAlarm',
      'RabbitMQ node {{ $labels.pod }} is below its free disk limit',
      'The disk alarm is set: the broker blocks every publisher.',
      'Grow the rabbitmq PersistentVolumeClaim (infra.rabbitmq.storage.size) or drain the queue that fills it.',
      '2m',
    ),
  );
  {
    const ready = `sum by (namespace, pod) (rabbitmq_queue_messages_ready{${sel}})`;
    out.push({
      group: 'rabbitmq',
      alert: 'RabbitMQQueueGrowing',
      expr: `${ready} > 1000 and sum by (namespace, pod) (deriv(rabbitmq_queue_messages_ready{${sel}}[15m])) > 0`,
      for: '15m',
      severity: 'warning',
      summary: 'Ready messages on RabbitMQ node {{ $labels.pod }} keep growing',
      description:
        'More than 1000 messages wait and their number has been rising for 15 minutes: a consumer (conductor, scheduler, agent) is down or too slow.',
      runbook:
        'List queues by depth (rabbitmqctl list_queues -p <vhost> name messages_ready consumers) and restart or scale the service whose queue has no consumers.',
      threshold: { value: 1000, unit: 'short' },
      panel: { title: 'RabbitMQ ready messages', expr: ready, legend: '{{pod}}' },
      examples: {
        fire: {
          labels: rpod,
          series: [{ series: `rabbitmq_queue_messages_ready{${lbl(rpod)}}`, values: '1000+20x120' }],
        },
        quiet: { series: [{ series: `rabbitmq_queue_messages_ready{${lbl(rpod)}}`, values: gauge(5000) }] },
      },
    });
  }

  // ---- OpenStack services (openstack-exporter, ingress-nginx) ------------------------------------
  if (has('keystone-api')) {
    const ratio = `sum(rate(${R}{ingress="keystone-api",status="401"}[5m])) / sum(rate(${R}{ingress="keystone-api"}[5m]))`;
    const req = (failedPerThousand: number): Series[] => [
      { series: `${R}{ingress="keystone-api",status="201"}`, values: counter(1000 - failedPerThousand) },
      { series: `${R}{ingress="keystone-api",status="401"}`, values: counter(failedPerThousand) },
    ];
    out.push({
      group: 'openstack',
      alert: 'KeystoneTokenFailuresHigh',
      expr: `${ratio} > 0.05`,
      for: '10m',
      severity: 'warning',
      summary: 'More than 5% of Keystone requests are refused (401)',
      description:
        'Token issue or validation fails for more than 5% of requests to the keystone-api Ingress: wrong credentials in a client, expired fernet keys, or memcached trouble.',
      runbook: `Read keystone-api's log for "Authorization failed" and the user/project it names (kubectl -n ${ns} logs -l osk.dev/component=keystone-api --since=15m); check the fernet-keys Secret is the same on all pods.`,
      threshold: { value: 0.05, unit: 'percentunit' },
      panel: { title: 'Keystone 401 ratio', expr: ratio },
      examples: { fire: { labels: {}, series: req(100) }, quiet: { series: req(10) } },
    });
  }
  const services: { name: string; component: string; service: string }[] = [
    { name: 'identity', component: 'keystone-api', service: 'keystone' },
    { name: 'nova', component: 'nova-api', service: 'nova' },
    { name: 'neutron', component: 'neutron-server', service: 'neutron' },
    { name: 'cinder', component: 'cinder-api', service: 'cinder' },
    { name: 'glance', component: 'glance-api', service: 'glance' },
    { name: 'placement', component: 'placement-api', service: 'placement' },
  ].filter((s) => has(s.component));
  if (has('openstack-exporter') && services.length) {
    const up = services
      .map((s) => `label_replace(openstack_${s.name}_up{${sel}}, "service", "${s.service}", "", "")`)
      .join(' or ');
    const first = services[0]!;
    out.push({
      group: 'openstack',
      alert: 'OpenStackServiceDown',
      expr: `(${up}) == 0`,
      for: '5m',
      severity: 'critical',
      summary: 'OpenStack service {{ $labels.service }} does not answer',
      description: 'openstack-exporter gets no answer (or no token) from this API through its internal endpoint.',
      runbook: `Check the API pods (kubectl -n ${ns} get pods -l app.kubernetes.io/name={{ $labels.service }}) and their logs; if every service is down, check Keystone first.`,
      threshold: { value: 1, unit: 'short' },
      panel: { title: 'OpenStack APIs up', expr: up, legend: '{{service}}' },
      examples: {
        fire: {
          labels: { namespace: ns, service: first.service },
          series: [{ series: `openstack_${first.name}_up{${sel}}`, values: gauge(0) }],
        },
        quiet: { series: [{ series: `openstack_${first.name}_up{${sel}}`, values: gauge(1) }] },
      },
    });
    if (has('nova-api')) {
      const agent = (v: number, service: string) => ({
        series: `openstack_nova_agent_state{${sel},hostname="compute-01",service="${service}",adminState="enabled",zone="nova"}`,
        values: gauge(v),
      });
      const labels = {
        namespace: ns,
        hostname: 'compute-01',
        service: 'nova-compute',
        adminState: 'enabled',
        zone: 'nova',
      };
      out.push({
        group: 'openstack',
        alert: 'NovaComputeDown',
        expr: `openstack_nova_agent_state{${sel},service="nova-compute",adminState="enabled"} == 0`,
        for: '5m',
        severity: 'critical',
        summary: 'nova-compute on {{ $labels.hostname }} is down',
        description:
          'An enabled nova-compute service has stopped reporting: no instance can be scheduled there and its instances cannot be managed.',
        runbook: `Check the nova-compute pod on that node (kubectl -n ${ns} get pods -o wide -l osk.dev/component=nova-compute | grep {{ $labels.hostname }}) and libvirt; disable the service (openstack compute service set --disable) if the node is gone.`,
        threshold: { value: 1, unit: 'short' },
        panel: {
          title: 'Nova services up',
          expr: `openstack_nova_agent_state{${sel}}`,
          legend: '{{service}} {{hostname}}',
        },
        examples: {
          fire: { labels, series: [agent(0, 'nova-compute')] },
          quiet: { series: [agent(1, 'nova-compute')] },
        },
      });
    }
    const agents: { metric: string; admin: string; service: string }[] = [
      ...(has('nova-api')
        ? [{ metric: 'openstack_nova_agent_state', admin: 'enabled', service: 'nova-scheduler' }]
        : []),
      ...(has('neutron-server')
        ? [{ metric: 'openstack_neutron_agent_state', admin: 'up', service: 'neutron-ovn-metadata-agent' }]
        : []),
      ...(has('cinder-api')
        ? [{ metric: 'openstack_cinder_agent_state', admin: 'enabled', service: 'cinder-volume' }]
        : []),
    ];
    if (agents.length) {
      const parts = [
        ...(has('nova-api') ? [`openstack_nova_agent_state{${sel},service!="nova-compute",adminState="enabled"}`] : []),
        ...(has('neutron-server') ? [`openstack_neutron_agent_state{${sel},adminState="up"}`] : []),
        ...(has('cinder-api') ? [`openstack_cinder_agent_state{${sel},adminState="enabled"}`] : []),
      ];
      const a = agents[0]!;
      const s = (v: number) => ({
        series: `${a.metric}{${sel},hostname="ctl-01",service="${a.service}",adminState="${a.admin}"}`,
        values: gauge(v),
      });
      out.push({
        group: 'openstack',
        alert: 'OpenStackAgentDown',
        expr: `(${parts.join(' or ')}) == 0`,
        for: '5m',
        severity: 'warning',
        summary: '{{ $labels.service }} on {{ $labels.hostname }} is down',
        description:
          'An enabled OpenStack service or agent (scheduler, conductor, network agent, cinder-volume, …) stopped sending heartbeats.',
        runbook: `Restart that service's pod on {{ $labels.hostname }} (kubectl -n ${ns} delete pod <pod>) after reading its log; a persistent failure usually means RabbitMQ or the database is unreachable from it.`,
        threshold: { value: 1, unit: 'short' },
        panel: {
          title: 'OpenStack services and agents up',
          expr: parts.join(' or '),
          legend: '{{service}} {{hostname}}',
        },
        examples: {
          fire: {
            labels: { namespace: ns, hostname: 'ctl-01', service: a.service, adminState: a.admin },
            series: [s(0)],
          },
          quiet: { series: [s(1)] },
        },
      });
    }
  }
  if (probes) {
    out.push({
      group: 'openstack',
      alert: 'OpenStackApiDown',
      expr: `${S}{${sel}} == 0`,
      for: '3m',
      severity: 'critical',
      summary: '{{ $labels.instance }} does not answer',
      description:
        "The API's version document on its internal Service has not answered with 200/300 within 5 s for 3 minutes (blackbox exporter probe): clients and the other services cannot use it.",
      runbook:
        'kubectl get pods -l osk.dev/component={{ $labels.instance }} and its logs; osk status -f <cloud file> shows what it waits for.',
      threshold: { value: 1, unit: 'short' },
      panel: { title: 'API probes answered (1 = yes)', expr: `${S}{${sel}}`, legend: '{{instance}}' },
      examples: {
        fire: {
          labels: { namespace: ns, instance: 'nova-api' },
          series: [{ series: `${S}{${sel},instance="nova-api"}`, values: gauge(0) }],
        },
        quiet: { series: [{ series: `${S}{${sel},instance="nova-api"}`, values: gauge(1) }] },
      },
    });
  }

  // OVN RAFT: the databases' readiness probe is "a cluster member that knows a leader"
  // (catalog/ovn.ts raftReadyCommand), so kube-state-metrics' ready counts tell leader loss
  // without an OVN exporter.
  const ovnDbs = ['ovn-nb', 'ovn-sb'].filter(has);
  if (ovnDbs.length) {
    const re = ovnDbs.join('|');
    const ready = (sts: string, v: number): Series => ({
      series: `kube_statefulset_status_replicas_ready{${sel},statefulset="${sts}"}`,
      values: gauge(v),
    });
    const want = (sts: string, v: number): Series => ({
      series: `kube_statefulset_replicas{${sel},statefulset="${sts}"}`,
      values: gauge(v),
    });
    const n = model.components.get(ovnDbs[0]!)!.settings.replicas;
    out.push({
      group: 'ovn',
      alert: 'OvnDbLeaderLost',
      expr: `kube_statefulset_status_replicas_ready{${sel},statefulset=~"${re}"} == 0 and kube_statefulset_replicas{${sel},statefulset=~"${re}"} > 0`,
      for: '2m',
      severity: 'critical',
      summary: 'OVN database {{ $labels.statefulset }} has no RAFT leader',
      description:
        'No member of the OVN RAFT cluster is ready, and a member is ready only when it is in the cluster and knows its leader: the database takes no writes, so no port, router or security group change reaches the network.',
      runbook: `In each pod run ovn-appctl -t /var/run/ovn/ovnnb_db.ctl cluster/status OVN_Northbound (ovnsb_db.ctl / OVN_Southbound for ovn-sb): restore a majority of members (kubectl -n ${ns} get pods -l osk.dev/component={{ $labels.statefulset }}).`,
      threshold: { value: 1, unit: 'short' },
      panel: {
        title: 'OVN DB members in the cluster with a leader',
        expr: `kube_statefulset_status_replicas_ready{${sel},statefulset=~"${re}"}`,
        legend: '{{statefulset}}',
      },
      examples: {
        fire: {
          labels: { namespace: ns, statefulset: ovnDbs[0]! },
          series: [ready(ovnDbs[0]!, 0), want(ovnDbs[0]!, n)],
        },
        quiet: { series: [ready(ovnDbs[0]!, n), want(ovnDbs[0]!, n)] },
      },
    });
    if (n > 1) {
      out.push({
        group: 'ovn',
        alert: 'OvnDbMemberOut',
        expr: `kube_statefulset_status_replicas_ready{${sel},statefulset=~"${re}"} < kube_statefulset_replicas{${sel},statefulset=~"${re}"}`,
        for: '10m',
        severity: 'warning',
        summary: 'OVN database {{ $labels.statefulset }} runs with fewer RAFT members than it has',
        description:
          'A member is not in the cluster or does not see the leader: one more failure can cost the majority.',
        runbook: `Check the member's cluster/status and log (kubectl -n ${ns} logs {{ $labels.statefulset }}-N); a member that cannot rejoin may need ovsdb-tool join-cluster from an empty database.`,
        threshold: { value: n, unit: 'short' },
        panel: {
          title: 'OVN DB ready members',
          expr: `kube_statefulset_status_replicas_ready{${sel},statefulset=~"${re}"}`,
          legend: '{{statefulset}}',
        },
        examples: {
          fire: {
            labels: { namespace: ns, statefulset: ovnDbs[0]! },
            series: [ready(ovnDbs[0]!, n - 1), want(ovnDbs[0]!, n)],
          },
          quiet: { series: [ready(ovnDbs[0]!, n), want(ovnDbs[0]!, n)] },
        },
      });
    }
  }

  // ---- Kubernetes (kube-state-metrics, kubelet, cert-manager) -------------------------------------
  out.push({
    group: 'kubernetes',
    alert: 'OskJobFailed',
    expr: `kube_job_status_failed{${sel}} > 0`,
    for: '5m',
    severity: 'warning',
    summary: 'Job {{ $labels.job_name }} failed',
    description:
      'A Job of the cloud (db-sync, ks-user, bootstrap, …) ran out of retries; what waits for it will not start.',
    runbook: `Read the Job's pod log (kubectl -n ${ns} logs job/{{ $labels.job_name }}), fix the cause and run osk apply again (a changed config makes a new Job).`,
    threshold: { value: 0, unit: 'short' },
    panel: { title: 'Failed Jobs', expr: `kube_job_status_failed{${sel}}`, legend: '{{job_name}}' },
    examples: {
      fire: {
        labels: { namespace: ns, job_name: 'nova-db-sync-abc12' },
        series: [{ series: `kube_job_status_failed{${sel},job_name="nova-db-sync-abc12"}`, values: gauge(1) }],
      },
      quiet: { series: [{ series: `kube_job_status_failed{${sel},job_name="nova-db-sync-abc12"}`, values: gauge(0) }] },
    },
  });
  {
    const ratio = `kubelet_volume_stats_used_bytes{${sel}} / kubelet_volume_stats_capacity_bytes{${sel}}`;
    const cap = 10 * 1024 * 1024 * 1024;
    const pvc = (share: number): Series[] => [
      {
        series: `kubelet_volume_stats_used_bytes{${sel},persistentvolumeclaim="data-mariadb-0"}`,
        values: gauge(Math.round(cap * share)),
      },
      {
        series: `kubelet_volume_stats_capacity_bytes{${sel},persistentvolumeclaim="data-mariadb-0"}`,
        values: gauge(cap),
      },
    ];
    out.push({
      group: 'kubernetes',
      alert: 'PersistentVolumeFillingUp',
      expr: `${ratio} > 0.85`,
      for: '5m',
      severity: 'warning',
      summary: 'Volume {{ $labels.persistentvolumeclaim }} is more than 85% full',
      description:
        'A claim of MariaDB, RabbitMQ or OVN is almost full; a full volume stops the database or the broker.',
      runbook:
        'Grow the claim (storage.size of that component in the cloud file, if the StorageClass allows expansion) or remove old data (binlogs, large queues).',
      threshold: { value: 0.85, unit: 'percentunit' },
      panel: { title: 'Volume usage', expr: ratio, legend: '{{persistentvolumeclaim}}' },
      examples: {
        fire: { labels: { namespace: ns, persistentvolumeclaim: 'data-mariadb-0' }, series: pvc(0.9) },
        quiet: { series: pvc(0.5) },
      },
    });
  }
  if (ctx.spec.endpoints?.tls?.enabled) {
    const names = ingresses.map((i) => `${i}-tls`).join('|');
    const left = `certmanager_certificate_expiration_timestamp_seconds{name=~"${names}"} - time()`;
    const days = 14;
    // promtool evaluates at 90m after the epoch: expiry timestamps relative to that.
    const at = 90 * 60;
    const cert = (secondsLeft: number) => ({
      series: `certmanager_certificate_expiration_timestamp_seconds{name="${ingresses[0]}-tls"}`,
      values: gauge(at + secondsLeft),
    });
    out.push({
      group: 'kubernetes',
      alert: 'CertificateExpiringSoon',
      expr: `${left} < ${days * 86400}`,
      for: '1h',
      severity: 'warning',
      summary: `Certificate {{ $labels.name }} expires in less than ${days} days`,
      description: 'cert-manager has not renewed a public API certificate although it expires soon.',
      runbook: `Look at the Certificate and its CertificateRequest (kubectl -n ${ns} describe certificate {{ $labels.name }}) and the issuer's status; fix the issuer or the DNS/HTTP challenge.`,
      threshold: { value: days * 86400, unit: 's' },
      panel: { title: 'Certificate time left', expr: left, legend: '{{name}}' },
      examples: {
        fire: { labels: { name: `${ingresses[0]}-tls` }, series: [cert(3 * 86400)] },
        quiet: { series: [cert(60 * 86400)] },
      },
    });
  }
  {
    const q = `up{${sel}}`;
    const target = { namespace: ns, job: `${ns}/mysqld-exporter` };
    out.push({
      group: 'kubernetes',
      alert: 'MetricsTargetDown',
      expr: `${q} == 0`,
      for: '10m',
      severity: 'warning',
      summary: 'Prometheus cannot scrape {{ $labels.job }}',
      description:
        'An exporter or the RabbitMQ metrics endpoint of the cloud does not answer: the alerts that read it are blind.',
      runbook: `Check the pod behind it (kubectl -n ${ns} get pods -l osk.dev/component=<exporter>) and the NetworkPolicy osk-metrics-scrape, which must admit the Prometheus pods.`,
      threshold: { value: 1, unit: 'short' },
      panel: { title: 'Scrape targets up', expr: q, legend: '{{job}} {{instance}}' },
      examples: {
        fire: { labels: target, series: [{ series: `up{${lbl(target)}}`, values: gauge(0) }] },
        quiet: { series: [{ series: `up{${lbl(target)}}`, values: gauge(1) }] },
      },
    });
  }
  return out;
}
