/**
 * OVN RAFT: the databases' readiness probe is "a cluster member that knows a leader"
 * (catalog/ovn.ts raftReadyCommand), so kube-state-metrics' ready counts tell leader loss
 * without an OVN exporter.
 */
import type { AlertContext } from './context.js';
import { rule } from './rule.js';
import { gauge } from './series.js';
import type { AlertDef, Series } from './types.js';

const GROUP = 'ovn';

export function ovnAlerts({ model, ns, sel, has }: AlertContext): AlertDef[] {
  const dbs = ['ovn-nb', 'ovn-sb'].filter(has);
  const db = dbs[0];
  if (db === undefined) return [];
  const re = dbs.join('|');
  const ready = `kube_statefulset_status_replicas_ready{${sel},statefulset=~"${re}"}`;
  const wanted = `kube_statefulset_replicas{${sel},statefulset=~"${re}"}`;
  const n = model.components.get(db)!.settings.replicas;
  /** The first database with `v` of its `n` members ready. */
  const members = (v: number): Series[] => [
    { series: `kube_statefulset_status_replicas_ready{${sel},statefulset="${db}"}`, values: gauge(v) },
    { series: `kube_statefulset_replicas{${sel},statefulset="${db}"}`, values: gauge(n) },
  ];
  const examples = (readyWhenFiring: number) => ({
    fire: { labels: { namespace: ns, statefulset: db }, series: members(readyWhenFiring) },
    quiet: { series: members(n) },
  });
  const leaderLost = rule(GROUP, {
    alert: 'OvnDbLeaderLost',
    quantity: ready,
    expr: `${ready} == 0 and ${wanted} > 0`,
    for: '2m',
    severity: 'critical',
    summary: 'OVN database {{ $labels.statefulset }} has no RAFT leader',
    description:
      'No member of the OVN RAFT cluster is ready, and a member is ready only when it is in the cluster and knows its leader: the database takes no writes, so no port, router or security group change reaches the network.',
    runbook: `In each pod run ovn-appctl -t /var/run/ovn/ovnnb_db.ctl cluster/status OVN_Northbound (ovnsb_db.ctl / OVN_Southbound for ovn-sb): restore a majority of members (kubectl -n ${ns} get pods -l osk.dev/component={{ $labels.statefulset }}).`,
    line: 1,
    unit: 'short',
    title: 'OVN DB members in the cluster with a leader',
    legend: '{{statefulset}}',
    examples: examples(0),
  });
  if (n <= 1) return [leaderLost];
  const memberOut = rule(GROUP, {
    alert: 'OvnDbMemberOut',
    quantity: ready,
    expr: `${ready} < ${wanted}`,
    for: '10m',
    severity: 'warning',
    summary: 'OVN database {{ $labels.statefulset }} runs with fewer RAFT members than it has',
    description: 'A member is not in the cluster or does not see the leader: one more failure can cost the majority.',
    runbook: `Check the member's cluster/status and log (kubectl -n ${ns} logs {{ $labels.statefulset }}-N); a member that cannot rejoin may need ovsdb-tool join-cluster from an empty database.`,
    line: n,
    unit: 'short',
    title: 'OVN DB ready members',
    legend: '{{statefulset}}',
    examples: examples(n - 1),
  });
  return [leaderLost, memberOut];
}
