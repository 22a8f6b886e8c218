/**
 * Secondary networks of a cluster's nodes, for telco workloads: per role, one extra Neutron port
 * per node on a network the cloud already has (typically a provider network an admin made on a
 * physnet), optionally SR-IOV (`vnicType: direct`), and the security groups on that port, which
 * are the policy of that network: Neutron keeps them, OVN enforces them as the ACLs of a port
 * group. Or no port security at all (no anti-spoofing, no groups). The security groups osk makes
 * for these ports are declared here too (`spec.securityGroups`).
 *
 * The rules here need only the file; what needs the cloud (the network, its MTU and type, the
 * existing groups) is the preflight of `osk cluster create`.
 */
import { z } from 'zod';
import { cidr } from './ipv4.js';
import type { Problem } from './schema-parts.js';
import { k8sLabelName, pattern, rule } from './rules.js';

/** Names and ids of OpenStack objects the cluster uses: one line, no control characters. */
export const openstackRef = (what: string) =>
  pattern(/^[^\s/][^/]{0,254}$/, `the name or id of ${what} (one line, no "/")`, 255);

/** The name osk gives a security group of spec.securityGroups in the cloud. */
export const ownGroupName = (cluster: string, name: string): string => `osk-${cluster}-sg-${name}`;

const PORTS_RE = /^(\d{1,5})(?:-(\d{1,5}))?$/;

/** "38412" or "30000-32767" → [min, max], or undefined when it is not a port or range. */
export function portRange(s: string): [number, number] | undefined {
  const m = PORTS_RE.exec(s);
  if (!m) return undefined;
  const min = Number(m[1]);
  const max = m[2] === undefined ? min : Number(m[2]);
  return min >= 1 && max <= 65535 && min <= max ? [min, max] : undefined;
}

const groupRule = z.strictObject({
  protocol: z
    .enum(['tcp', 'udp', 'sctp', 'icmp', 'any'])
    .describe('IP protocol the rule admits (sctp for N2/S1-MME/Diameter, udp for GTP-U, any for every protocol)'),
  ports: pattern(PORTS_RE, 'a port such as "38412" or a range such as "2152-2153"', 11)
    .superRefine(rule((s: string) => (portRange(s) ? undefined : 'ports from 1 to 65535, the first ≤ the last')))
    .optional()
    .describe('Destination port or range (tcp, udp and sctp only); default: every port'),
  from: cidr('source network', 0, 32).describe(
    'Where the traffic may come from, e.g. 10.20.0.0/16 (0.0.0.0/0: anywhere)',
  ),
});

export const ownSecurityGroup = z.strictObject({
  name: k8sLabelName(30).describe(
    'Name in this file; in the cloud it is osk-<cluster>-sg-<name>, tagged with the cluster',
  ),
  rules: z
    .array(groupRule)
    .min(1)
    .max(50)
    .describe(
      'Ingress rules (IPv4). Egress stays open, as Neutron makes every group; the ports are stateful (conntrack)',
    ),
});

const secondaryNetwork = z.strictObject({
  name: k8sLabelName(30).describe(
    "Name of this secondary network: the suffix of each node's port (osk-<cluster>-<role>-<n>-<name>) and the prefix of its NetworkAttachmentDefinitions (<name>-<node>)",
  ),
  network: openstackRef('a Neutron network').describe(
    'The Neutron network of the port (name or id): usually a provider network (flat or VLAN on a physnet) an admin made',
  ),
  subnet: openstackRef('a subnet of that network')
    .optional()
    .describe("The subnet the port's address comes from (name or id); default: Neutron picks one of the network's"),
  vnicType: z
    .enum(['normal', 'direct'])
    .default('normal')
    .describe(
      'normal: a virtio NIC; direct: an SR-IOV VF (binding:vnic_type direct: the cloud needs SR-IOV NICs, the sriovnicswitch mechanism driver and Nova PCI passthrough)',
    ),
  portSecurity: z
    .boolean()
    .default(true)
    .describe(
      "Neutron port security (anti-spoofing and security groups); false: neither, e.g. for a CNF that routes others' addresses",
    ),
  securityGroups: z
    .array(openstackRef('a security group'))
    .max(10)
    .default([])
    .describe(
      'Security groups of the port: names of spec.securityGroups (osk makes them) or the name or id of existing groups of the project',
    ),
  mtu: z
    .number()
    .int()
    .min(1280)
    .max(9216)
    .optional()
    .describe("MTU of the interface in the pod; default: the network's MTU (create checks it fits the network's)"),
  namespace: k8sLabelName(63)
    .default('default')
    .describe('Namespace of its NetworkAttachmentDefinitions (pods reference them there)'),
});

export const secondaryNetworks = z
  .array(secondaryNetwork)
  .max(8)
  .default([])
  .describe(
    'Extra Neutron ports of every node of this role, one per entry, attached when the server is made (a server made without them is not changed)',
  );

type Secondary = z.output<typeof secondaryNetwork>;
type OwnGroup = z.output<typeof ownSecurityGroup>;

function duplicates<T>(items: T[], key: (t: T) => string): number[] {
  const seen = new Set<string>();
  return items.flatMap((t, i) => {
    const k = key(t);
    if (seen.has(k)) return [i];
    seen.add(k);
    return [];
  });
}

function portProblems(role: 'controlPlane' | 'workers', list: Secondary[]): Problem[] {
  const at = (i: number, ...rest: (string | number)[]) => ['spec', role, 'secondaryNetworks', i, ...rest];
  const out: Problem[] = duplicates(list, (s) => s.name).map((i) => ({
    path: at(i, 'name'),
    message: `a second secondary network named ${list[i]!.name}: the names make the ports' names`,
  }));
  list.forEach((s, i) => {
    if (!s.portSecurity && s.securityGroups.length)
      out.push({
        path: at(i, 'securityGroups'),
        message: `portSecurity: false with ${s.securityGroups.length} security group(s): Neutron applies security groups only to a port with port security`,
        hint: 'remove securityGroups (nothing filters this port then), or drop portSecurity: false',
      });
    if (s.portSecurity && !s.securityGroups.length)
      out.push({
        path: at(i),
        message: `secondary network ${s.name} has port security and no security group: OVN would drop every packet of the port`,
        hint: 'name the security groups that admit its traffic (securityGroups), or set portSecurity: false',
      });
    for (const j of duplicates(s.securityGroups, (g) => g))
      out.push({ path: at(i, 'securityGroups', j), message: `security group ${s.securityGroups[j]} is named twice` });
  });
  return out;
}

function groupProblems(groups: OwnGroup[]): Problem[] {
  const out: Problem[] = duplicates(groups, (g) => g.name).map((i) => ({
    path: ['spec', 'securityGroups', i, 'name'],
    message: `a second security group named ${groups[i]!.name}`,
  }));
  groups.forEach((g, i) => {
    g.rules.forEach((r, j) => {
      if (r.ports !== undefined && (r.protocol === 'icmp' || r.protocol === 'any'))
        out.push({
          path: ['spec', 'securityGroups', i, 'rules', j, 'ports'],
          message: `ports with protocol ${r.protocol}: only tcp, udp and sctp have ports`,
          hint: 'remove ports, or use tcp, udp or sctp',
        });
    });
  });
  return out;
}

/** The rules of secondary networks and osk's own security groups that span fields. */
export function secondaryNetworkProblems(spec: {
  controlPlane: { secondaryNetworks: Secondary[] };
  workers: { secondaryNetworks: Secondary[] };
  securityGroups: OwnGroup[];
}): Problem[] {
  return [
    ...portProblems('controlPlane', spec.controlPlane.secondaryNetworks),
    ...portProblems('workers', spec.workers.secondaryNetworks),
    ...groupProblems(spec.securityGroups),
  ];
}
