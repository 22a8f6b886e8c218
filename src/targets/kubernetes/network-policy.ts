/**
 * NetworkPolicies from the model's edges: the namespace denies everything by default, and each
 * component may receive exactly the connections other components make to it (and send exactly
 * the ones it makes), on the ports the references name. DNS is allowed to all.
 */
import type {
  INetworkPolicyIngressRule,
  INetworkPolicyEgressRule,
  INetworkPolicyPeer,
  INetworkPolicyPort,
} from 'kubernetes-models/networking.k8s.io/v1';
import type { ComponentDef } from '../../catalog/types.js';
import type { CloudModel, Edge } from '../../plan/model.js';
import { baseLabels, selectorFor } from './labels.js';
import { NetworkPolicy } from './k8s.js';

const ANYWHERE: INetworkPolicyPeer[] = [{ ipBlock: { cidr: '0.0.0.0/0' } }, { ipBlock: { cidr: '::/0' } }];

type Traffic = Edge & { port: number };

export function networkPolicies(model: CloudModel): NetworkPolicy[] {
  const { ctx, components } = model;
  const ns = ctx.namespace;
  const out: NetworkPolicy[] = [
    NetworkPolicy({
      metadata: { name: 'default-deny', namespace: ns, labels: baseLabels(ctx) },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    }),
    NetworkPolicy({
      metadata: { name: 'allow-dns', namespace: ns, labels: baseLabels(ctx) },
      spec: {
        podSelector: {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ namespaceSelector: {}, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: [
              { protocol: 'UDP', port: 53 },
              { protocol: 'TCP', port: 53 },
            ],
          },
        ],
      },
    }),
  ];
  const traffic = model.edges.filter((e): e is Traffic => e.port !== undefined);
  for (const c of components.values()) {
    if (c.hostNetwork) continue; // NetworkPolicies do not apply to host-network pods
    const ingress = ingressRules(model, c, traffic);
    const egress = egressRules(model, c, traffic);
    if (ingress.length === 0 && egress.length === 0) continue;
    out.push(
      NetworkPolicy({
        metadata: { name: c.id, namespace: ns, labels: baseLabels(ctx) },
        spec: {
          podSelector: { matchLabels: selectorFor(ctx, c) },
          policyTypes: [...(ingress.length ? ['Ingress' as const] : []), ...(egress.length ? ['Egress' as const] : [])],
          ...(ingress.length ? { ingress } : {}),
          ...(egress.length ? { egress } : {}),
        },
      }),
    );
  }
  return out;
}

/** Peers of a clustered StatefulSet talk to each other on all their ports (both directions). */
function clusterPeers(
  model: CloudModel,
  c: ComponentDef,
): { peers: INetworkPolicyPeer[]; ports: INetworkPolicyPort[] } | undefined {
  if (c.workload !== 'StatefulSet' || c.settings.replicas <= 1 || !c.ports?.length) return undefined;
  return {
    peers: [{ podSelector: { matchLabels: selectorFor(model.ctx, c) } }],
    ports: c.ports.map((p) => ({ protocol: p.protocol ?? 'TCP', port: p.port })),
  };
}

function ingressRules(model: CloudModel, c: ComponentDef, traffic: Traffic[]): INetworkPolicyIngressRule[] {
  const { ctx, components } = model;
  const ingress: INetworkPolicyIngressRule[] = [];
  // Incoming, grouped by port: from pods of each source, or from anywhere for host-network
  // sources (node IPs are not selectable by labels).
  const inbound = traffic.filter((e) => e.to === c.id);
  for (const port of [...new Set(inbound.map((e) => e.port))].sort((a, b) => a - b)) {
    const sources = [...new Set(inbound.filter((e) => e.port === port).map((e) => e.from))].sort();
    const hostSources = sources.filter((s) => components.get(s)?.hostNetwork);
    const from: INetworkPolicyPeer[] = hostSources.length
      ? ANYWHERE
      : sources.map((s) => ({ podSelector: { matchLabels: selectorFor(ctx, components.get(s)!) } }));
    ingress.push({ from, ports: [{ protocol: 'TCP', port }] });
  }
  const cluster = clusterPeers(model, c);
  if (cluster) ingress.push({ from: cluster.peers, ports: cluster.ports });
  // Public APIs: from the Ingress controller (any namespace), or from anywhere through a NodePort.
  if (c.publicHost && c.publicPort)
    ingress.push({
      from: ctx.publicNodePort(c.publicHost) ? ANYWHERE : [{ namespaceSelector: {} }],
      ports: [{ protocol: 'TCP', port: c.publicPort }],
    });
  for (const port of c.externalPorts ?? []) {
    if (!inbound.some((e) => e.port === port && components.get(e.from)?.hostNetwork))
      ingress.push({ from: ANYWHERE, ports: [{ protocol: 'TCP', port }] });
  }
  return ingress;
}

function egressRules(model: CloudModel, c: ComponentDef, traffic: Traffic[]): INetworkPolicyEgressRule[] {
  const { ctx, components } = model;
  const egress: INetworkPolicyEgressRule[] = [];
  const cluster = clusterPeers(model, c);
  if (cluster) egress.push({ to: cluster.peers, ports: cluster.ports });
  const outbound = traffic.filter((e) => e.from === c.id);
  for (const target of [...new Set(outbound.map((e) => e.to))].sort()) {
    const t = components.get(target)!;
    const ports = [...new Set(outbound.filter((e) => e.to === target).map((e) => e.port))].sort((a, b) => a - b);
    egress.push({
      to: t.hostNetwork ? ANYWHERE : [{ podSelector: { matchLabels: selectorFor(ctx, t) } }],
      ports: ports.map((port) => ({ protocol: 'TCP', port })),
    });
  }
  if (c.cephClient)
    egress.push({
      to: ANYWHERE,
      ports: [
        { protocol: 'TCP', port: 3300 },
        { protocol: 'TCP', port: 6789 },
        { protocol: 'TCP', port: 6800, endPort: 7568 },
      ],
    });
  return egress;
}
