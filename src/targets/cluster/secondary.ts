/**
 * The secondary networks of `osk cluster create` (spec.<role>.secondaryNetworks): what the cloud
 * must have for them (the networks, subnets and existing security groups the file names; an MTU
 * that fits; a flat or VLAN network for SR-IOV), the security groups osk makes for them
 * (spec.securityGroups, kept equal to the file), and each node's extra ports, made before the
 * servers so Nova attaches them when it makes the server. Every object is found by name first
 * and tagged with the cluster, so `delete` finds the ports on networks that are not the cluster's.
 */
import { ExitCode, OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { clusterNames, clusterTag, type NodePlan } from '../../plan/cluster.js';
import { portRange } from '../../spec/schema-cluster-ports.js';
import type { ClusterFile } from '../../spec/schema-cluster.js';
import type { Tally } from './ensure.js';

type Secondary = NodePlan['secondaryNetworks'][number];

/** What the preflight resolved: the file's references → ids. */
export interface SecondaryResolved {
  networks: Map<string, { id: string; mtu: number | undefined }>;
  /** `<network ref> <subnet ref>` → subnet id */
  subnets: Map<string, string>;
  /** An existing security group's name or id → its id (the groups osk makes are not here). */
  groups: Map<string, string>;
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * By id when the value looks like one, else by exact name; `several` when the name is not unique
 * (an admin sees every project's objects: two "default" groups are common).
 */
async function byIdOrName<T extends { id: string; name: string }>(
  value: string,
  list: (q: Record<string, string>) => Promise<T[]>,
): Promise<T | 'several' | undefined> {
  const byId = UUID.test(value) ? (await list({ id: value }))[0] : undefined;
  if (byId) return byId;
  const named = await list({ name: value });
  return named.length > 1 ? 'several' : named[0];
}

const several = (field: string, what: string, value: string) =>
  `${field}: there are several ${what}s named "${value}" (this user sees more than one project's): give its id`;

const roles = (file: ClusterFile) =>
  [
    ['controlPlane', file.spec.controlPlane],
    ['workers', file.spec.workers],
  ] as const;

/** The secondary networks' references in the cloud; each problem names its field. */
export async function resolveSecondary(
  os: OpenStackClient,
  file: ClusterFile,
  problems: string[],
  notes: string[],
): Promise<SecondaryResolved> {
  const r: SecondaryResolved = { networks: new Map(), subnets: new Map(), groups: new Map() };
  const own = new Set(file.spec.securityGroups.map((g) => g.name));
  for (const [role, spec] of roles(file)) {
    if (spec.count === 0) continue;
    for (const [i, sn] of spec.secondaryNetworks.entries()) {
      const field = `spec.${role}.secondaryNetworks.${i}`;
      const net = await byIdOrName(sn.network, (q) => os.network.networks.list(q));
      if (!net || net === 'several') {
        problems.push(
          net
            ? several(`${field}.network`, 'network', sn.network)
            : `${field}.network: there is no network "${sn.network}" (openstack network list)`,
        );
        continue;
      }
      r.networks.set(sn.network, { id: net.id, mtu: net.mtu });
      if (sn.mtu !== undefined && net.mtu !== undefined && sn.mtu > net.mtu)
        problems.push(
          `${field}.mtu: ${sn.mtu} does not fit network ${sn.network}: its MTU is ${net.mtu} (${sn.mtu} > ${net.mtu}, and the pod's interface is the port itself, with no header of its own); set mtu to ${net.mtu} or less, or leave it out (the network's MTU is the default)`,
        );
      const type = net['provider:network_type'];
      if (sn.vnicType === 'direct' && type !== undefined && type !== 'flat' && type !== 'vlan')
        problems.push(
          `${field}.vnicType: direct (SR-IOV) needs a flat or VLAN network: a VF sits on a physical network, and ${sn.network} is a ${type} network`,
        );
      if (sn.vnicType === 'direct' && type === undefined)
        notes.push(
          `${field}: the type of network ${sn.network} is not visible to this user (provider attributes are admin-only): not checked that SR-IOV can use it`,
        );
      const subnets = await os.network.subnets.list({ network_id: net.id });
      if (sn.subnet !== undefined) {
        const sub = subnets.find((x) => x.id === sn.subnet) ?? subnets.find((x) => x.name === sn.subnet);
        if (sub) r.subnets.set(`${sn.network} ${sn.subnet}`, sub.id);
        else
          problems.push(
            `${field}.subnet: network ${sn.network} has no subnet "${sn.subnet}" (it has: ${subnets.map((x) => x.name || x.id).join(', ') || 'none'})`,
          );
      } else if (sn.portSecurity && subnets.length === 0)
        problems.push(
          `${field}.network: ${sn.network} has no subnet, and Neutron applies security groups only to a port with an address; give the network a subnet, or set portSecurity: false for a port without an address`,
        );
      for (const [j, g] of sn.securityGroups.entries()) {
        if (own.has(g) || r.groups.has(g)) continue;
        const found = await byIdOrName(g, (q) => os.network.securityGroups.list(q));
        if (found === 'several') problems.push(several(`${field}.securityGroups.${j}`, 'security group', g));
        else if (found) r.groups.set(g, found.id);
        else
          problems.push(
            `${field}.securityGroups.${j}: there is no security group "${g}" in spec.securityGroups or in the cloud (openstack security group list)`,
          );
      }
    }
  }
  return r;
}

type Rule = ClusterFile['spec']['securityGroups'][number]['rules'][number];
type NeutronRule = Awaited<ReturnType<OpenStackClient['network']['securityGroupRules']['get']>>;

const neutronProtocol = (r: Rule) => (r.protocol === 'any' ? null : r.protocol);

function sameRule(r: Rule, e: NeutronRule): boolean {
  const ports = r.ports === undefined ? undefined : portRange(r.ports);
  return (
    e.direction === 'ingress' &&
    e.ethertype === 'IPv4' &&
    e.protocol === neutronProtocol(r) &&
    (e.port_range_min ?? undefined) === ports?.[0] &&
    (e.port_range_max ?? undefined) === ports?.[1] &&
    e.remote_ip_prefix === r.from &&
    !e.remote_group_id
  );
}

/**
 * The groups of spec.securityGroups, with exactly the file's ingress rules: a rule taken out of
 * the file is taken out of the group (they are the policy of a network). Egress is Neutron's
 * default of every new group: open. Returns the file's name → the group's id.
 */
export async function ensureOwnGroups(
  os: OpenStackClient,
  file: ClusterFile,
  tally: Tally,
): Promise<Map<string, string>> {
  const n = clusterNames(file.metadata.name);
  const t = clusterTag(file.metadata.name);
  const ids = new Map<string, string>();
  for (const g of file.spec.securityGroups) {
    const name = n.ownGroup(g.name);
    const group = await tally.ensure(
      `security group ${name}`,
      () => os.network.securityGroups.find(name),
      () =>
        os.network.securityGroups.create({
          name,
          description: `osk cluster ${file.metadata.name}: secondary networks (${g.name})`,
        }),
    );
    const tags = group.tags ?? [];
    await tally.change(
      `tagged security group ${name}`,
      !tags.includes(t),
      () => os.network.securityGroups.setTags(group.id, [...tags, t]),
      group.id,
    );
    for (const [j, r] of g.rules.entries()) {
      const ports = r.ports === undefined ? undefined : portRange(r.ports);
      await tally.ensure(
        `rule ${j} on ${name}: ${r.protocol}${r.ports ? ` ${r.ports}` : ''} from ${r.from}`,
        async () => group.security_group_rules.find((e) => sameRule(r, e)),
        () =>
          os.network.securityGroupRules.ensure({
            security_group_id: group.id,
            direction: 'ingress',
            ethertype: 'IPv4',
            protocol: neutronProtocol(r),
            ...(ports ? { port_range_min: ports[0], port_range_max: ports[1] } : {}),
            remote_ip_prefix: r.from,
            description: `osk cluster ${file.metadata.name}: spec.securityGroups ${g.name} rule ${j}`,
          }),
      );
    }
    for (const e of group.security_group_rules)
      if (e.direction === 'ingress' && !g.rules.some((r) => sameRule(r, e)))
        await tally.change(`removed a rule from ${name} that the file no longer has`, true, () =>
          os.network.securityGroupRules.delete(e.id),
        );
    ids.set(g.name, group.id);
  }
  return ids;
}

type Port = Awaited<ReturnType<OpenStackClient['network']['ports']['get']>>;

export interface SecondaryPort {
  network: Secondary;
  port: Port;
}

/** The security group ids of a secondary network's port. */
function groupIds(sn: Secondary, own: Map<string, string>, r: SecondaryResolved): string[] {
  return sn.portSecurity ? sn.securityGroups.map((g) => own.get(g) ?? r.groups.get(g)!) : [];
}

/** One port per secondary network of the node, found by its name on its network or made. */
export async function ensureSecondaryPorts(
  os: OpenStackClient,
  file: ClusterFile,
  node: NodePlan,
  c: { resolved: SecondaryResolved; own: Map<string, string> },
  tally: Tally,
): Promise<SecondaryPort[]> {
  const n = clusterNames(file.metadata.name);
  const t = clusterTag(file.metadata.name);
  const out: SecondaryPort[] = [];
  for (const sn of node.secondaryNetworks) {
    const name = n.secondaryPort(node.name, sn.name);
    const networkId = c.resolved.networks.get(sn.network)!.id;
    const subnetId = sn.subnet === undefined ? undefined : c.resolved.subnets.get(`${sn.network} ${sn.subnet}`)!;
    const groups = groupIds(sn, c.own, c.resolved);
    const port = await tally.ensure(
      `port ${name} on ${sn.network} (${sn.vnicType})`,
      () => os.network.ports.find(name, { network_id: networkId }),
      () =>
        os.network.ports.create({
          name,
          network_id: networkId,
          ...(subnetId ? { fixed_ips: [{ subnet_id: subnetId }] } : {}),
          'binding:vnic_type': sn.vnicType,
          port_security_enabled: sn.portSecurity,
          security_groups: groups,
          description: `osk cluster ${file.metadata.name}: ${node.role} secondary network ${sn.name}`,
        }),
    );
    const tags = port.tags ?? [];
    await tally.change(
      `tagged port ${name}`,
      !tags.includes(t),
      () => os.network.ports.setTags(port.id, [...tags, t]),
      port.id,
    );
    const vnic = port['binding:vnic_type'] ?? 'normal';
    if (vnic !== sn.vnicType)
      throw new OskError(
        `port ${name} has vnic type ${vnic}, the cluster file says ${sn.vnicType}; osk does not change it in place (Nova would have to attach another kind of device)`,
        {
          exitCode: ExitCode.invalidInput,
          hint: 'keep the vnicType the cluster was created with, or delete the cluster and create it again',
        },
      );
    const pse = port.port_security_enabled ?? true;
    const sameGroups = [...port.security_groups].sort().join() === [...groups].sort().join();
    // Turning port security off needs the groups cleared in the same request (Neutron refuses either alone).
    await tally.change(
      `set the port security and security groups of port ${name}`,
      pse !== sn.portSecurity || !sameGroups,
      () => os.network.ports.update(port.id, { port_security_enabled: sn.portSecurity, security_groups: groups }),
    );
    out.push({ network: sn, port });
  }
  return out;
}

/**
 * A server that exists must already have its secondary ports: osk attaches them only when it
 * makes the server (an interface hot-plugged later would renumber the node's NICs under its pods).
 */
export function checkAttached(server: { id: string; name: string }, ports: SecondaryPort[]): void {
  const loose = ports.filter((p) => p.port.device_id !== server.id);
  if (loose.length)
    throw new OskError(
      `server ${server.name} exists without its secondary port${loose.length > 1 ? 's' : ''} ${loose.map((p) => p.port.name).join(', ')}: osk attaches secondary ports only when it makes a server`,
      {
        exitCode: ExitCode.invalidInput,
        hint: 'delete the cluster (osk cluster delete) and create it again with the secondary networks, or take them out of the file',
      },
    );
}
