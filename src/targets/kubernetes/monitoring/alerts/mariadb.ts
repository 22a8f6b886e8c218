/** MariaDB and Galera health from mysqld_exporter (global_status collector). */
import type { AlertContext } from './context.js';
import { rule } from './rule.js';
import { gauge, lbl, oneSeries } from './series.js';
import type { AlertDef } from './types.js';

const GROUP = 'mariadb';

export function mariadbAlerts({ model, ns, sel }: AlertContext): AlertDef[] {
  const galera = model.components.get('mariadb')?.settings.replicas ?? 1;
  const node = (i: number) => ({ namespace: ns, instance: `mariadb-${i}` });
  const down = rule(GROUP, {
    alert: 'MariaDBDown',
    quantity: `mysql_up{${sel}}`,
    when: '== 0',
    for: '5m',
    severity: 'critical',
    summary: 'MariaDB {{ $labels.instance }} does not answer the exporter',
    description: 'mysqld_exporter cannot connect to this MariaDB node; every OpenStack service depends on it.',
    runbook: `Check the pod (kubectl -n ${ns} get pod {{ $labels.instance }}; kubectl logs {{ $labels.instance }}) and its volume; see docs on Galera recovery before restarting more than one node.`,
    line: 1,
    unit: 'short',
    title: 'MariaDB up',
    legend: '{{instance}}',
    examples: oneSeries('mysql_up', node(0), gauge(0), gauge(1)),
  });
  return galera > 1 ? [down, ...galeraAlerts(ns, sel, galera, node)] : [down];
}

/** The cluster alerts, only for a Galera cluster of `size` nodes. */
function galeraAlerts(ns: string, sel: string, size: number, node: (i: number) => Record<string, string>): AlertDef[] {
  const sizes = (v: number) =>
    Array.from({ length: size }, (_, i) => ({
      series: `mysql_global_status_wsrep_cluster_size{${lbl(node(i))}}`,
      values: gauge(v),
    }));
  const wsrep = (name: string) => `mysql_global_status_wsrep_${name}`;
  return [
    rule(GROUP, {
      alert: 'GaleraClusterSizeLow',
      quantity: `${wsrep('cluster_size')}{${sel}}`,
      when: `< ${size}`,
      for: '5m',
      severity: 'critical',
      summary: `Galera node {{ $labels.instance }} sees fewer than ${size} members`,
      description: `wsrep_cluster_size is below the ${size} nodes of the cloud: a node left the cluster and one more failure can cost quorum.`,
      runbook: `Find the missing node (kubectl -n ${ns} get pods -l osk.dev/component=mariadb) and read its log; it rejoins by itself once it starts, never bootstrap a second cluster.`,
      line: size,
      unit: 'short',
      title: 'Galera cluster size',
      legend: '{{instance}}',
      examples: { fire: { labels: node(0), series: [sizes(size - 1)[0]!] }, quiet: { series: sizes(size) } },
    }),
    rule(GROUP, {
      alert: 'GaleraNodeNotSynced',
      quantity: `${wsrep('local_state')}{${sel}}`,
      when: '!= 4',
      for: '10m',
      severity: 'warning',
      summary: 'Galera node {{ $labels.instance }} is not Synced',
      description: 'wsrep_local_state is not 4 (Synced) for 10 minutes: the node is joining, donating or stuck.',
      runbook: `Read the node's log for SST/IST progress (kubectl -n ${ns} logs {{ $labels.instance }}); if it is stuck as a donor, restart that one pod only.`,
      line: 4,
      unit: 'short',
      title: 'Galera local state (4 = Synced)',
      legend: '{{instance}}',
      examples: oneSeries(wsrep('local_state'), node(1), gauge(1), gauge(4)),
    }),
    rule(GROUP, {
      alert: 'GaleraNotPrimary',
      quantity: `${wsrep('cluster_status')}{${sel}}`,
      when: '!= 1',
      for: '1m',
      severity: 'critical',
      summary: 'Galera node {{ $labels.instance }} is in a non-Primary component',
      description: 'wsrep_cluster_status is not Primary: this node refuses writes (split brain or lost quorum).',
      runbook:
        'Check how many nodes are Primary; if none is, recover by bootstrapping from the most advanced node (highest seqno in grastate.dat) only.',
      line: 1,
      unit: 'short',
      title: 'Galera Primary (1) / non-Primary (0)',
      legend: '{{instance}}',
      examples: oneSeries(wsrep('cluster_status'), node(2), gauge(0), gauge(1)),
    }),
  ];
}
