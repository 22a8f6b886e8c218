/**
 * The OpenStack services: Keystone token failures (ingress-nginx), APIs, compute services and
 * agents (openstack-exporter), and the APIs' version documents (blackbox exporter).
 */
import { type AlertContext, INGRESS_REQUESTS, PROBE_SUCCESS } from './context.js';
import { rule } from './rule.js';
import { counter, gauge, oneSeries } from './series.js';
import type { AlertDef, Series } from './types.js';

const GROUP = 'openstack';

/** The openstack-exporter `up` metric of each API: openstack_<name>_up, reported as `service`. */
const SERVICES: { name: string; component: string; service: string }[] = [
  { name: 'identity', component: 'keystone-api', service: 'keystone' },
  { name: 'nova', component: 'nova-api', service: 'nova' },
  { name: 'neutron', component: 'neutron-server', service: 'neutron' },
  { name: 'cinder', component: 'cinder-api', service: 'cinder' },
  { name: 'glance', component: 'glance-api', service: 'glance' },
  { name: 'placement', component: 'placement-api', service: 'placement' },
  { name: 'loadbalancer', component: 'octavia-api', service: 'octavia' },
];

/**
 * The heartbeat metrics of the services and agents other than nova-compute (which has its own
 * alert), with the service of each that the examples use.
 */
const AGENTS = [
  {
    component: 'nova-api',
    metric: 'openstack_nova_agent_state',
    filter: 'service!="nova-compute",adminState="enabled"',
    admin: 'enabled',
    service: 'nova-scheduler',
  },
  {
    component: 'neutron-server',
    metric: 'openstack_neutron_agent_state',
    filter: 'adminState="up"',
    admin: 'up',
    service: 'neutron-ovn-metadata-agent',
  },
  {
    component: 'cinder-api',
    metric: 'openstack_cinder_agent_state',
    filter: 'adminState="enabled"',
    admin: 'enabled',
    service: 'cinder-volume',
  },
];

function keystoneTokenFailures({ ns }: AlertContext): AlertDef {
  const R = INGRESS_REQUESTS;
  const req = (failedPerThousand: number): Series[] => [
    { series: `${R}{ingress="keystone-api",status="201"}`, values: counter(1000 - failedPerThousand) },
    { series: `${R}{ingress="keystone-api",status="401"}`, values: counter(failedPerThousand) },
  ];
  return rule(GROUP, {
    alert: 'KeystoneTokenFailuresHigh',
    quantity: `sum(rate(${R}{ingress="keystone-api",status="401"}[5m])) / sum(rate(${R}{ingress="keystone-api"}[5m]))`,
    when: '> 0.05',
    for: '10m',
    severity: 'warning',
    summary: 'More than 5% of Keystone requests are refused (401)',
    description:
      'Token issue or validation fails for more than 5% of requests to the keystone-api Ingress: wrong credentials in a client, expired fernet keys, or memcached trouble.',
    runbook: `Read keystone-api's log for "Authorization failed" and the user/project it names (kubectl -n ${ns} logs -l osk.dev/component=keystone-api --since=15m); check the fernet-keys Secret is the same on all pods.`,
    line: 0.05,
    unit: 'percentunit',
    title: 'Keystone 401 ratio',
    examples: { fire: { labels: {}, series: req(100) }, quiet: { series: req(10) } },
  });
}

function serviceDown({ ns, sel }: AlertContext, services: typeof SERVICES): AlertDef {
  const up = services
    .map((s) => `label_replace(openstack_${s.name}_up{${sel}}, "service", "${s.service}", "", "")`)
    .join(' or ');
  const first = services[0]!;
  const series = (v: number) => [{ series: `openstack_${first.name}_up{${sel}}`, values: gauge(v) }];
  return rule(GROUP, {
    alert: 'OpenStackServiceDown',
    quantity: up,
    expr: `(${up}) == 0`,
    for: '5m',
    severity: 'critical',
    summary: 'OpenStack service {{ $labels.service }} does not answer',
    description: 'openstack-exporter gets no answer (or no token) from this API through its internal endpoint.',
    runbook: `Check the API pods (kubectl -n ${ns} get pods -l app.kubernetes.io/name={{ $labels.service }}) and their logs; if every service is down, check Keystone first.`,
    line: 1,
    unit: 'short',
    title: 'OpenStack APIs up',
    legend: '{{service}}',
    examples: {
      fire: { labels: { namespace: ns, service: first.service }, series: series(0) },
      quiet: { series: series(1) },
    },
  });
}

function novaComputeDown({ ns, sel }: AlertContext): AlertDef {
  const host = { namespace: ns, hostname: 'compute-01', service: 'nova-compute', adminState: 'enabled', zone: 'nova' };
  return rule(GROUP, {
    alert: 'NovaComputeDown',
    quantity: `openstack_nova_agent_state{${sel}}`,
    expr: `openstack_nova_agent_state{${sel},service="nova-compute",adminState="enabled"} == 0`,
    for: '5m',
    severity: 'critical',
    summary: 'nova-compute on {{ $labels.hostname }} is down',
    description:
      'An enabled nova-compute service has stopped reporting: no instance can be scheduled there and its instances cannot be managed.',
    runbook: `Check the nova-compute pod on that node (kubectl -n ${ns} get pods -o wide -l osk.dev/component=nova-compute | grep {{ $labels.hostname }}) and libvirt; disable the service (openstack compute service set --disable) if the node is gone.`,
    line: 1,
    unit: 'short',
    title: 'Nova services up',
    legend: '{{service}} {{hostname}}',
    examples: oneSeries('openstack_nova_agent_state', host, gauge(0), gauge(1)),
  });
}

function agentDown({ ns, sel }: AlertContext, agents: typeof AGENTS): AlertDef {
  const parts = agents.map((a) => `${a.metric}{${sel},${a.filter}}`).join(' or ');
  const a = agents[0]!;
  const host = { namespace: ns, hostname: 'ctl-01', service: a.service, adminState: a.admin };
  return rule(GROUP, {
    alert: 'OpenStackAgentDown',
    quantity: parts,
    expr: `(${parts}) == 0`,
    for: '5m',
    severity: 'warning',
    summary: '{{ $labels.service }} on {{ $labels.hostname }} is down',
    description:
      'An enabled OpenStack service or agent (scheduler, conductor, network agent, cinder-volume, …) stopped sending heartbeats.',
    runbook: `Restart that service's pod on {{ $labels.hostname }} (kubectl -n ${ns} delete pod <pod>) after reading its log; a persistent failure usually means RabbitMQ or the database is unreachable from it.`,
    line: 1,
    unit: 'short',
    title: 'OpenStack services and agents up',
    legend: '{{service}} {{hostname}}',
    examples: oneSeries(a.metric, host, gauge(0), gauge(1)),
  });
}

function apiDown({ ns, sel }: AlertContext): AlertDef {
  return rule(GROUP, {
    alert: 'OpenStackApiDown',
    quantity: `${PROBE_SUCCESS}{${sel}}`,
    when: '== 0',
    for: '3m',
    severity: 'critical',
    summary: '{{ $labels.instance }} does not answer',
    description:
      "The API's version document on its internal Service has not answered with 200/300 within 5 s for 3 minutes (blackbox exporter probe): clients and the other services cannot use it.",
    runbook:
      'kubectl get pods -l osk.dev/component={{ $labels.instance }} and its logs; osk status -f <cloud file> shows what it waits for.',
    line: 1,
    unit: 'short',
    title: 'API probes answered (1 = yes)',
    legend: '{{instance}}',
    examples: oneSeries(PROBE_SUCCESS, { namespace: ns, instance: 'nova-api' }, gauge(0), gauge(1)),
  });
}

/** What openstack-exporter reports: APIs up, nova-compute and the other services' heartbeats. */
function exporterAlerts(c: AlertContext): AlertDef[] {
  const services = SERVICES.filter((s) => c.has(s.component));
  if (!c.has('openstack-exporter') || !services.length) return [];
  const agents = AGENTS.filter((a) => c.has(a.component));
  return [
    serviceDown(c, services),
    ...(c.has('nova-api') ? [novaComputeDown(c)] : []),
    ...(agents.length ? [agentDown(c, agents)] : []),
  ];
}

export function openstackAlerts(c: AlertContext): AlertDef[] {
  return [
    ...(c.has('keystone-api') ? [keystoneTokenFailures(c)] : []),
    ...exporterAlerts(c),
    ...(c.probes ? [apiDown(c)] : []),
  ];
}
