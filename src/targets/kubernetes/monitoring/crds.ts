/**
 * Rendered objects whose kinds come from CRDs a cluster may not have (Prometheus Operator's
 * PrometheusRule, ServiceMonitor, PodMonitor). The apply engine asks which ones need what and
 * skips them, with one line, when the cluster lacks the CRD.
 */

/** A CRD-provided kind osk may render, and what to tell the user when it is missing. */
interface OptionalKind {
  group: string;
  kind: string;
  /** Who provides the CRD, for the skip message. */
  provider: string;
}

const OPTIONAL_KINDS: readonly OptionalKind[] = [
  { group: 'monitoring.coreos.com', kind: 'PrometheusRule', provider: 'Prometheus Operator' },
  { group: 'monitoring.coreos.com', kind: 'ServiceMonitor', provider: 'Prometheus Operator' },
  { group: 'monitoring.coreos.com', kind: 'PodMonitor', provider: 'Prometheus Operator' },
  { group: 'velero.io', kind: 'Schedule', provider: 'Velero' },
];

/** Objects of one CRD group/kind among the rendered ones. */
interface CrdNeed extends OptionalKind {
  /** Objects as "Kind/name", in render order. */
  objects: string[];
}

type AnyObject = { apiVersion?: string; kind?: string; metadata?: { name?: string } };

/**
 * Which rendered objects need which CRD (group and kind), grouped by group/kind in the order of
 * OPTIONAL_KINDS; kinds with no object are left out. Built-in kinds never appear.
 */
export function objectsNeedingCrds(objects: readonly AnyObject[]): CrdNeed[] {
  const out: CrdNeed[] = [];
  for (const k of OPTIONAL_KINDS) {
    const mine = objects.filter((o) => o.kind === k.kind && (o.apiVersion ?? '').split('/')[0] === k.group);
    if (mine.length) out.push({ ...k, objects: mine.map((o) => `${k.kind}/${o.metadata?.name ?? '?'}`) });
  }
  return out;
}

/**
 * The one line the apply engine prints when it skips objects because their CRD group is missing,
 * e.g. "skipped 7 monitoring objects: the cluster has no monitoring.coreos.com CRDs (Prometheus
 * Operator); install it or set spec.monitoring.enabled: false".
 */
export function skipMessage(needs: readonly CrdNeed[]): string | undefined {
  const n = needs.reduce((s, x) => s + x.objects.length, 0);
  if (n === 0) return undefined;
  // One clause per provider, each naming the switch in the cloud file that turns it off.
  const off: Record<string, string> = {
    'monitoring.coreos.com': 'spec.monitoring.enabled: false',
    'velero.io': 'spec.backup.enabled: false',
  };
  const what: Record<string, string> = { 'monitoring.coreos.com': 'monitoring', 'velero.io': 'backup' };
  const clauses = [...new Set(needs.map((x) => x.group))].map((g) => {
    const mine = needs.filter((x) => x.group === g);
    const count = mine.reduce((s, x) => s + x.objects.length, 0);
    const provider = [...new Set(mine.map((x) => x.provider))].join(', ');
    return `skipped ${count} ${what[g] ?? g} object${count === 1 ? '' : 's'}: the cluster has no ${g} CRDs (${provider}); install it or set ${off[g] ?? 'the feature off'}`;
  });
  return clauses.join('; ');
}
