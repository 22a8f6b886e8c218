/**
 * The API thresholds of spec.monitoring.thresholds: Nova latency, Neutron port failures, Cinder
 * volume-operation latency, API success rate and gateway latency. Measured on ingress-nginx when
 * the cloud has public Ingresses, otherwise on the blackbox exporter's probes.
 */
import { type AlertContext, INGRESS_LATENCY, INGRESS_REQUESTS, PROBE_DURATION, PROBE_SUCCESS } from './context.js';
import { rule } from './rule.js';
import { alternating, counter, gauge, histogram, num, oneSeries } from './series.js';
import type { AlertDef, Series } from './types.js';

const GROUP = 'thresholds';

/** p99 of the ingress-nginx histogram for `selector`, with examples in one bucket above / below `limit`. */
function ingressP99(selector: string, exampleLabels: string, limit: number) {
  return {
    quantity: `histogram_quantile(0.99, sum by (le) (rate(${INGRESS_LATENCY}{${selector}}[5m])))`,
    examples: {
      fire: { labels: {}, series: histogram(INGRESS_LATENCY, exampleLabels, limit, true) },
      quiet: { series: histogram(INGRESS_LATENCY, exampleLabels, limit, false) },
    },
  };
}

function novaLatency({ t, ns, sel, has, viaIngress, probes }: AlertContext): AlertDef[] {
  if (!has('nova-api')) return [];
  const common = {
    alert: 'NovaApiLatencyHigh',
    when: `> ${num(t.novaApiP99)}`,
    for: '10m',
    severity: 'warning',
    runbook:
      'Check nova-api pod CPU and its database latency (kubectl top pod -l osk.dev/component=nova-api); scale spec.services.nova.api.replicas if saturated.',
    line: t.novaApiP99,
    unit: 's',
    legend: 'p99',
  } as const;
  if (viaIngress) {
    return [
      rule(GROUP, {
        ...common,
        ...ingressP99('ingress="nova-api"', 'ingress="nova-api"', t.novaApiP99),
        summary: `Nova API p99 latency above ${t.raw.novaApiP99}`,
        description: `p99 of requests to the nova-api Ingress (ingress-nginx histogram) has been above ${t.raw.novaApiP99} for 10 minutes.`,
        title: 'Nova API p99 latency',
      }),
    ];
  }
  if (!probes) return [];
  const probe = { namespace: ns, instance: 'nova-api' };
  return [
    rule(GROUP, {
      ...common,
      quantity: `quantile_over_time(0.99, ${PROBE_DURATION}{${sel},instance="nova-api"}[10m])`,
      summary: `Nova API p99 answer time above ${t.raw.novaApiP99}`,
      description: `p99 over 10 minutes of the time nova-api takes to answer the blackbox exporter's probe of its version document (every 15 s, internal Service) has been above ${t.raw.novaApiP99} for 10 minutes. Without endpoints.publicDomain there is no Ingress histogram of real requests; a slow version document means a saturated API process.`,
      title: 'Nova API p99 answer time (probes)',
      examples: oneSeries(PROBE_DURATION, probe, gauge(t.novaApiP99 * 2), gauge(t.novaApiP99 / 2)),
    }),
  ];
}

function neutronPortFailures({ t, sel, has }: AlertContext): AlertDef[] {
  if (!has('neutron-server')) return [];
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
  return [
    rule(GROUP, {
      alert: 'NeutronPortFailuresHigh',
      quantity: `count(openstack_neutron_port{${sel},binding_vif_type="binding_failed"}) / count(openstack_neutron_port{${sel}})`,
      when: `> ${num(t.neutronPortFailureRate)}`,
      for: '15m',
      severity: 'warning',
      summary: `More than ${t.raw.neutronPortFailureRate} of Neutron ports failed to bind`,
      description: `Ports with binding_vif_type=binding_failed (openstack-exporter) exceed ${t.raw.neutronPortFailureRate} of all ports.`,
      runbook:
        'List failed ports (openstack port list --long | grep binding_failed) and check ovn-controller on their hosts and the neutron-server log.',
      line: t.neutronPortFailureRate,
      unit: 'percentunit',
      title: 'Neutron ports failed to bind (ratio)',
      examples: { fire: { labels: {}, series: ports(bad, total - bad) }, quiet: { series: ports(good, total - good) } },
    }),
  ];
}

function cinderLatency({ t, has, viaIngress }: AlertContext): AlertDef[] {
  if (!has('cinder-api') || !viaIngress) return [];
  return [
    rule(GROUP, {
      alert: 'CinderVolumeOperationLatencyHigh',
      ...ingressP99(
        'ingress="cinder-api",method=~"POST|PUT|DELETE"',
        'ingress="cinder-api",method="POST"',
        t.cinderOpLatency,
      ),
      when: `> ${num(t.cinderOpLatency)}`,
      for: '10m',
      severity: 'warning',
      summary: `Cinder volume operations slower than ${t.raw.cinderOpLatency}`,
      description: `p99 of volume-changing requests (POST/PUT/DELETE) to the cinder-api Ingress has been above ${t.raw.cinderOpLatency}; the asynchronous backend work after the API answers is not part of this measure.`,
      runbook:
        'Check cinder-api and cinder-scheduler logs for slow database or RabbitMQ calls, and the storage backend health (ceph -s or the LVM host).',
      line: t.cinderOpLatency,
      unit: 's',
      title: 'Cinder volume-operation p99 latency',
      legend: 'p99',
    }),
  ];
}

function probeSuccess({ t, ns, sel }: AlertContext): AlertDef {
  const probe = { namespace: ns, instance: 'keystone-api' };
  return rule(GROUP, {
    alert: 'ApiSuccessRateLow',
    quantity: `avg_over_time(${PROBE_SUCCESS}{${sel}}[10m])`,
    when: `< ${num(t.apiSuccessRate)}`,
    for: '10m',
    severity: 'critical',
    summary: `{{ $labels.instance }} answered fewer than ${t.raw.apiSuccessRate} of its probes`,
    description: `Share of successful probes of the API's version document (blackbox exporter, every 15 s, internal Service) over 10 minutes is below ${t.raw.apiSuccessRate}. Without endpoints.publicDomain there is no Ingress counting real requests.`,
    runbook:
      'Look at the failed probes (probe_http_status_code, probe_failed_due_to_regex on the dashboard), the API pods (kubectl get pods -l osk.dev/component={{ $labels.instance }}) and their database and RabbitMQ alerts.',
    line: t.apiSuccessRate,
    unit: 'percentunit',
    title: 'API probe success rate',
    legend: '{{instance}}',
    examples: oneSeries(PROBE_SUCCESS, probe, alternating(120), gauge(1)),
  });
}

function ingressSuccess({ t, ingresses, ingressRe }: AlertContext): AlertDef {
  const R = INGRESS_REQUESTS;
  const errorsPerThousand = (1 - t.apiSuccessRate) * 1000;
  const req = (errors: number): Series[] => [
    { series: `${R}{ingress="${ingresses[0]}",status="200"}`, values: counter(1000 - errors) },
    { series: `${R}{ingress="${ingresses[0]}",status="503"}`, values: counter(errors) },
  ];
  return rule(GROUP, {
    alert: 'ApiSuccessRateLow',
    quantity: `1 - (sum by (ingress) (rate(${R}{ingress=~"${ingressRe}",status=~"5.."}[5m])) / sum by (ingress) (rate(${R}{ingress=~"${ingressRe}"}[5m])))`,
    when: `< ${num(t.apiSuccessRate)}`,
    for: '10m',
    severity: 'critical',
    summary: `API success rate of {{ $labels.ingress }} below ${t.raw.apiSuccessRate}`,
    description: `Share of non-5xx responses of the Ingress (ingress-nginx requests counter) over 5 minutes is below ${t.raw.apiSuccessRate}.`,
    runbook:
      'Look at the 5xx responses of that API (kubectl logs -l osk.dev/component=<ingress> --since=15m | grep " 50") and at its database and RabbitMQ alerts.',
    line: t.apiSuccessRate,
    unit: 'percentunit',
    title: 'API success rate',
    legend: '{{ingress}}',
    examples: {
      // Twice the allowed error budget, and a tenth of it.
      fire: { labels: { ingress: ingresses[0]! }, series: req(Math.max(1, errorsPerThousand * 2)) },
      quiet: { series: req(errorsPerThousand / 10) },
    },
  });
}

function gatewayLatency({ t, ingresses, ingressRe }: AlertContext): AlertDef {
  return rule(GROUP, {
    alert: 'GatewayLatencyHigh',
    ...ingressP99(`ingress=~"${ingressRe}"`, `ingress="${ingresses[0]}"`, t.gatewayP99),
    when: `> ${num(t.gatewayP99)}`,
    for: '10m',
    severity: 'warning',
    summary: `API gateway p99 latency above ${t.raw.gatewayP99}`,
    description: `p99 of all requests through the cloud's Ingresses (ingress-nginx histogram) has been above ${t.raw.gatewayP99} for 10 minutes.`,
    runbook:
      'Compare per-ingress latency on the dashboard: one slow API points at that service, all slow points at the ingress controller (kubectl top pod -n <ingress-nginx namespace>).',
    line: t.gatewayP99,
    unit: 's',
    title: 'Gateway p99 latency',
    legend: 'p99',
  });
}

function apiSuccess(c: AlertContext): AlertDef[] {
  if (c.viaIngress) return [ingressSuccess(c), gatewayLatency(c)];
  return c.probes ? [probeSuccess(c)] : [];
}

export function apiThresholdAlerts(c: AlertContext): AlertDef[] {
  return [...novaLatency(c), ...neutronPortFailures(c), ...cinderLatency(c), ...apiSuccess(c)];
}
