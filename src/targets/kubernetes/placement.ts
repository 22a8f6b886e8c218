/**
 * Which nodes a pod template may run on, computed the way the scheduler and the DaemonSet
 * controller decide it (nodeSelector, required node affinity, taints and tolerations), and
 * said in words. Readiness needs it because a DaemonSet's own status cannot tell "ready on
 * every node it should run on" from "ready on none because its selector matches nothing":
 * both read desired = ready. Messages need it because the scheduler only says "didn't match
 * Pod's node affinity/selector", never which selector.
 */

export interface NodeLike {
  metadata: { name: string; labels?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: Taint[] };
}

interface Taint {
  key: string;
  value?: string;
  effect: string;
}

interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
}

interface Requirement {
  key: string;
  operator: string;
  values?: string[];
}

interface Term {
  matchExpressions?: Requirement[];
  matchFields?: Requirement[];
}

/** The parts of a pod spec that decide placement. */
export interface PlacementSpec {
  nodeSelector?: Record<string, string>;
  hostNetwork?: boolean;
  tolerations?: Toleration[];
  affinity?: { nodeAffinity?: { requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: Term[] } } };
}

function requirementHolds(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      // As in Kubernetes: a node without the label satisfies NotIn.
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const n = Number(value);
      const bound = Number(values[0]);
      if (value === undefined || !Number.isInteger(n) || !Number.isInteger(bound)) return false;
      return r.operator === 'Gt' ? n > bound : n < bound;
    }
    default:
      return false;
  }
}

function termHolds(t: Term, node: NodeLike): boolean {
  const labels = node.metadata.labels ?? {};
  const exprs = t.matchExpressions ?? [];
  const fields = t.matchFields ?? [];
  // An empty term matches no node (Kubernetes' rule).
  if (exprs.length === 0 && fields.length === 0) return false;
  return (
    exprs.every((r) => requirementHolds(r, labels[r.key])) &&
    fields.every((r) => requirementHolds(r, r.key === 'metadata.name' ? node.metadata.name : undefined))
  );
}

/** nodeSelector and required node affinity (terms ORed, requirements within a term ANDed). */
export function labelsMatch(spec: PlacementSpec, node: NodeLike): boolean {
  const labels = node.metadata.labels ?? {};
  if (!Object.entries(spec.nodeSelector ?? {}).every(([k, v]) => labels[k] === v)) return false;
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  return !terms || terms.some((t) => termHolds(t, node));
}

function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (!t.key) return t.operator === 'Exists';
  if (t.key !== taint.key) return false;
  return t.operator === 'Exists' || (t.value ?? '') === (taint.value ?? '');
}

/** The tolerations the DaemonSet controller adds to every daemon pod (and counts nodes with). */
const DAEMON_TOLERATED = new Set(
  ['not-ready', 'unreachable', 'disk-pressure', 'memory-pressure', 'pid-pressure', 'unschedulable'].map(
    (k) => `node.kubernetes.io/${k}`,
  ),
);
const HOST_NETWORK_DAEMON_TOLERATED = 'node.kubernetes.io/network-unavailable';

/** Taints that keep this pod off the node (only NoSchedule and NoExecute keep a pod off). */
function blockingTaints(spec: PlacementSpec, node: NodeLike, daemonSet: boolean): Taint[] {
  const auto = (key: string) =>
    daemonSet && (DAEMON_TOLERATED.has(key) || (spec.hostNetwork === true && key === HOST_NETWORK_DAEMON_TOLERATED));
  return (node.spec?.taints ?? []).filter(
    (taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') &&
      !auto(taint.key) &&
      !(spec.tolerations ?? []).some((t) => tolerates(t, taint)),
  );
}

/** Nodes this pod may run on: for a DaemonSet, the nodes its controller wants a pod on. */
export function eligibleNodes(spec: PlacementSpec, nodes: NodeLike[], daemonSet: boolean): NodeLike[] {
  return nodes.filter(
    (n) =>
      labelsMatch(spec, n) && blockingTaints(spec, n, daemonSet).length === 0 && (daemonSet || !n.spec?.unschedulable),
  );
}

function requirementText(r: Requirement): string {
  const v = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return v.length === 1 ? `${r.key}=${v[0]}` : `${r.key} in (${v.join(', ')})`;
    case 'NotIn':
      return v.length === 1 ? `${r.key}!=${v[0]}` : `${r.key} not in (${v.join(', ')})`;
    case 'Exists':
      return `label ${r.key}`;
    case 'DoesNotExist':
      return `no label ${r.key}`;
    case 'Gt':
      return `${r.key}>${v[0]}`;
    case 'Lt':
      return `${r.key}<${v[0]}`;
    default:
      return `${r.key} ${r.operator} ${v.join(',')}`;
  }
}

/** "openstack-compute-node=enabled and (nvidia.com/gpu.present!=true)", or undefined when any node will do. */
export function placementText(spec: PlacementSpec): string | undefined {
  // Sorted: the API server returns maps sorted, so a rendered and a live spec read the same.
  const parts = Object.entries(spec.nodeSelector ?? {})
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`);
  const terms = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  const termTexts = terms.map(
    (t) =>
      [
        ...(t.matchExpressions ?? []).map(requirementText),
        ...(t.matchFields ?? []).map((r) => requirementText({ ...r, key: `node ${r.key}` })),
      ].join(' and ') || 'nothing',
  );
  if (termTexts.length === 1) parts.push(termTexts[0]!);
  else if (termTexts.length > 1) parts.push(`(${termTexts.join(' or ')})`);
  return parts.length ? parts.join(' and ') : undefined;
}

/**
 * Where a pod template can run, in words: "needs nodes with openstack-control-plane=enabled;
 * 0 of 5 nodes have it", plus the taints that keep otherwise matching nodes out.
 */
export function placementSummary(
  spec: PlacementSpec,
  nodes: NodeLike[],
  daemonSet: boolean,
): { eligible: number; text: string } {
  const matching = nodes.filter((n) => labelsMatch(spec, n));
  const eligible = eligibleNodes(spec, nodes, daemonSet);
  const want = placementText(spec);
  let text = want
    ? `needs nodes with ${want}; ${matching.length} of ${nodes.length} nodes have it`
    : `may run on any node; ${nodes.length} nodes`;
  const tainted = matching.filter((n) => blockingTaints(spec, n, daemonSet).length > 0);
  if (tainted.length) {
    const taints = [
      ...new Set(
        tainted.flatMap((n) =>
          blockingTaints(spec, n, daemonSet).map((t) => `${t.key}${t.value ? `=${t.value}` : ''}:${t.effect}`),
        ),
      ),
    ];
    text += `, ${tainted.length} of them with taints it does not tolerate (${taints.join(', ')})`;
  }
  if (!daemonSet) {
    const cordoned = matching.filter((n) => n.spec?.unschedulable && blockingTaints(spec, n, daemonSet).length === 0);
    if (cordoned.length) text += `, ${cordoned.length} of them cordoned`;
  }
  return { eligible: eligible.length, text };
}
