/**
 * The OpenStack side of a user's Kubernetes cluster, computed from the cluster file: the name and
 * tag of every object, the security-group rules with the reason for each, and the order in which
 * `osk cluster create` makes them and `osk cluster delete` removes them. Pure: the edge
 * (targets/cluster/) does the calls in this order.
 */
import { cniMtu, type ClusterFile, type ClusterSpec } from '../spec/schema-cluster.js';
import { ownGroupName } from '../spec/schema-cluster-ports.js';

/** Every Neutron object, server and load balancer of a cluster carries this tag (`delete` finds them by it). */
export const clusterTag = (cluster: string): string => `osk-cluster=${cluster}`;

export type Role = 'control-plane' | 'worker';

export interface ClusterNames {
  network: string;
  subnet: string;
  router: string;
  securityGroups: { nodes: string; controlPlane: string; workers: string };
  serverGroup: string;
  applicationCredential: string;
  loadBalancer: string;
  listener: string;
  pool: string;
  /** Description of the API floating IP (Neutron floating IPs have no name). */
  apiFloatingIp: string;
  /** A node's server and its port share the name. */
  node(role: Role, index: number): string;
  /** A node's port on a secondary network (spec.<role>.secondaryNetworks[].name). */
  secondaryPort(node: string, network: string): string;
  /** A security group of spec.securityGroups. */
  ownGroup(name: string): string;
}

export function clusterNames(cluster: string): ClusterNames {
  const p = `osk-${cluster}`;
  return {
    network: `${p}-net`,
    subnet: `${p}-subnet`,
    router: `${p}-router`,
    securityGroups: { nodes: `${p}-nodes`, controlPlane: `${p}-control-plane`, workers: `${p}-workers` },
    serverGroup: `${p}-nodes`,
    applicationCredential: p,
    loadBalancer: `${p}-api`,
    listener: `${p}-api-6443`,
    pool: `${p}-api`,
    apiFloatingIp: `${p}-api`,
    node: (role, i) => `${p}-${role}-${i}`,
    secondaryPort: (node, network) => `${node}-${network}`,
    ownGroup: (name) => ownGroupName(cluster, name),
  };
}

export interface NodePlan {
  name: string;
  role: Role;
  index: number;
  flavor: string;
  labels: Record<string, string>;
  secondaryNetworks: ClusterSpec['workers']['secondaryNetworks'];
}

/** The nodes, control plane first (the first one runs kubeadm init). */
export function clusterNodes(file: ClusterFile): NodePlan[] {
  const n = clusterNames(file.metadata.name);
  const s = file.spec;
  const of = (role: Role, r: ClusterSpec['controlPlane']) =>
    Array.from({ length: r.count }, (_, index) => ({
      name: n.node(role, index),
      role,
      index,
      flavor: r.flavor,
      labels: r.labels ?? {},
      secondaryNetworks: r.secondaryNetworks,
    }));
  return [...of('control-plane', s.controlPlane), ...of('worker', s.workers)];
}

export type GroupKey = keyof ClusterNames['securityGroups'];

export interface RulePlan {
  group: GroupKey;
  protocol: 'tcp' | 'udp' | 'icmp' | '4';
  ports?: [number, number];
  /** From anywhere (0.0.0.0/0) or from the members of another of the cluster's groups. */
  from: 'anywhere' | GroupKey;
  why: string;
}

/** Calico's port or protocol for pod traffic between nodes. */
function cniRules(s: ClusterSpec): RulePlan[] {
  const { encapsulation } = cniMtu(s);
  return encapsulation === 'vxlan'
    ? [{ group: 'nodes', protocol: 'udp', ports: [4789, 4789], from: 'nodes', why: 'Calico VXLAN between nodes' }]
    : [
        { group: 'nodes', protocol: '4', from: 'nodes', why: 'Calico IP-in-IP between nodes' },
        { group: 'nodes', protocol: 'tcp', ports: [179, 179], from: 'nodes', why: 'Calico BGP between nodes' },
      ];
}

const ssh: RulePlan = {
  group: 'nodes',
  protocol: 'tcp',
  ports: [22, 22],
  from: 'anywhere',
  why: 'SSH with the keypair',
};

/**
 * The ingress rules (egress stays open, Neutron's default). The API and NodePorts are open to
 * anywhere because the OVN provider does not SNAT: members see the client's address, not the
 * load balancer's.
 */
export function securityGroupRules(file: ClusterFile): RulePlan[] {
  const s = file.spec;
  return [
    {
      group: 'nodes',
      protocol: 'icmp',
      from: 'anywhere',
      why: 'ICMP, so path-MTU discovery works ("fragmentation needed" must reach the nodes)',
    },
    { group: 'nodes', protocol: 'tcp', ports: [10250, 10250], from: 'nodes', why: 'kubelet API between nodes' },
    ...cniRules(s),
    ...(s.keyPair ? [ssh] : []),
    {
      group: 'controlPlane',
      protocol: 'tcp',
      ports: [6443, 6443],
      from: 'anywhere',
      why: 'Kubernetes API (through the OVN load balancer, which keeps the client address)',
    },
    {
      group: 'controlPlane',
      protocol: 'tcp',
      ports: [2379, 2380],
      from: 'controlPlane',
      why: 'etcd between control-plane nodes',
    },
    {
      group: 'workers',
      protocol: 'tcp',
      ports: [30000, 32767],
      from: 'anywhere',
      why: 'NodePorts, which Services of type LoadBalancer reach through the OVN provider (no SNAT)',
    },
    { group: 'workers', protocol: 'udp', ports: [30000, 32767], from: 'anywhere', why: 'UDP NodePorts' },
  ];
}

/** The groups of a node of a role. */
export const groupsOf = (role: Role): GroupKey[] =>
  role === 'control-plane' ? ['nodes', 'controlPlane'] : ['nodes', 'workers'];

/** One kind of object the cluster has, in the order create makes them. */
export interface Step {
  id: StepId;
  what: string;
}
type StepId =
  | 'application-credential'
  | 'network'
  | 'subnet'
  | 'router'
  | 'security-groups'
  | 'server-group'
  | 'own-security-groups'
  | 'ports'
  | 'secondary-ports'
  | 'load-balancer'
  | 'floating-ip'
  | 'servers'
  | 'members';

export function createSteps(file: ClusterFile): Step[] {
  const s = file.spec;
  const lb = s.apiLoadBalancer.enabled;
  const secondary =
    s.controlPlane.count * s.controlPlane.secondaryNetworks.length +
    s.workers.count * s.workers.secondaryNetworks.length;
  const steps: (Step | false)[] = [
    { id: 'application-credential', what: 'application credential (for the in-cluster cloud controller)' },
    { id: 'network', what: `network (MTU ${s.network.mtu})` },
    { id: 'subnet', what: `subnet ${s.network.cidr}` },
    { id: 'router', what: `router${s.network.externalNetwork ? ` (gateway ${s.network.externalNetwork})` : ''}` },
    { id: 'security-groups', what: 'security groups and rules' },
    { id: 'server-group', what: `server group (${s.serverGroupPolicy})` },
    // Ports first: their addresses go into the kubeadm configuration and the API certificate.
    { id: 'ports', what: 'node ports' },
    s.securityGroups.length > 0 && {
      id: 'own-security-groups',
      what: `security groups of the secondary networks (${s.securityGroups.length})`,
    },
    secondary > 0 && { id: 'secondary-ports', what: `secondary ports (${secondary})` },
    lb && { id: 'load-balancer', what: `API load balancer (${s.apiLoadBalancer.provider}, TCP 6443)` },
    lb && !!s.network.externalNetwork && { id: 'floating-ip', what: 'API floating IP' },
    { id: 'servers', what: `servers (${s.controlPlane.count} control plane, ${s.workers.count} workers)` },
    lb && { id: 'members', what: 'API load balancer members' },
  ];
  return steps.filter((x): x is Step => x !== false);
}

/**
 * What delete removes, in dependency order: what uses a thing goes before it. Load balancers
 * of the cloud controller (on the cluster's subnet) hold ports and floating IPs; ports keep the
 * subnet; router interfaces keep the router and subnet; servers keep the server group and ports;
 * secondary ports (on networks that are not the cluster's, found by the tag) keep their security groups.
 * Objects tagged with the cluster but named otherwise are what CAPO made for `osk cluster render`.
 */
export const DELETE_STEPS: readonly { id: string; what: string }[] = [
  { id: 'servers', what: "the cluster's servers" },
  { id: 'load-balancers', what: "load balancers on the cluster's subnet (API and the cloud controller's, cascade)" },
  { id: 'floating-ips', what: "floating IPs of the cluster's ports or tagged with it" },
  {
    id: 'ports',
    what: 'ports left on the network, and ports tagged with the cluster (secondary ports on other networks)',
  },
  { id: 'router', what: 'router interface, gateway and router (and routers tagged with the cluster)' },
  { id: 'network', what: 'subnet and network (and networks tagged with the cluster, with their subnets)' },
  { id: 'security-groups', what: "security groups (and groups tagged with the cluster: spec.securityGroups, CAPO's)" },
  { id: 'server-group', what: 'server group' },
  { id: 'application-credential', what: 'application credential' },
  { id: 'state', what: "osk's state of the cluster (its credentials)" },
];
