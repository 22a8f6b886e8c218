/**
 * The network side of `osk cluster create`: the node network with its explicit MTU, the subnet
 * with its DNS servers, the router (gateway to the external network when the file names one) and
 * its interface on the subnet, and the three security groups with their rules. Each is found by
 * name first and tagged with the cluster, so `delete` finds whatever was made.
 */
import { ExitCode, OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { clusterNames, clusterTag, securityGroupRules, type GroupKey, type RulePlan } from '../../plan/cluster.js';
import type { ClusterFile } from '../../spec/schema-cluster.js';
import type { Tally } from './ensure.js';

export interface ClusterNetwork {
  networkId: string;
  subnetId: string;
  routerId: string;
  groups: Record<GroupKey, string>;
}

type Tagged = { id: string; tags?: string[] };

/** Add the cluster's tag when missing (Neutron replaces the set: keep the others). */
async function tag(
  os: OpenStackClient,
  kind: 'networks' | 'subnets' | 'routers' | 'securityGroups' | 'ports' | 'floatingIps',
  o: Tagged,
  t: string,
  tally: Tally,
): Promise<void> {
  const tags = o.tags ?? [];
  await tally.change(
    `tagged ${kind} ${o.id}`,
    !tags.includes(t),
    () => os.network[kind].setTags(o.id, [...tags, t]),
    o.id,
  );
}

function cannotChange(what: string, now: string, wanted: string): OskError {
  return new OskError(
    `the cluster's ${what} is ${now}, the cluster file says ${wanted}; osk does not change it in place`,
    {
      exitCode: ExitCode.invalidInput,
      hint: 'keep the value the cluster was created with, or delete the cluster (osk cluster delete) and create it again',
    },
  );
}

export async function ensureNetwork(
  os: OpenStackClient,
  file: ClusterFile,
  externalNetworkId: string | undefined,
  tally: Tally,
): Promise<ClusterNetwork> {
  const s = file.spec;
  const n = clusterNames(file.metadata.name);
  const t = clusterTag(file.metadata.name);
  const description = `osk cluster ${file.metadata.name}`;
  const net = await tally.ensure(
    `network ${n.network} (MTU ${s.network.mtu})`,
    () => os.network.networks.find(n.network),
    () => os.network.networks.create({ name: n.network, mtu: s.network.mtu, description }),
  );
  await tag(os, 'networks', net, t, tally);
  await tally.change(`set the MTU of ${n.network} to ${s.network.mtu}`, net.mtu !== s.network.mtu, () =>
    os.network.networks.update(net.id, { mtu: s.network.mtu }),
  );

  const subnet = await tally.ensure(
    `subnet ${n.subnet} ${s.network.cidr}`,
    () => os.network.subnets.find(n.subnet, { network_id: net.id }),
    () =>
      os.network.subnets.create({
        name: n.subnet,
        network_id: net.id,
        cidr: s.network.cidr,
        ip_version: 4,
        dns_nameservers: s.network.dnsServers,
        description,
      }),
  );
  if (subnet.cidr !== s.network.cidr) throw cannotChange('subnet', subnet.cidr, s.network.cidr);
  await tag(os, 'subnets', subnet, t, tally);
  const dns = s.network.dnsServers;
  await tally.change(
    `set the DNS servers of ${n.subnet} to ${dns.join(', ') || 'none'}`,
    subnet.dns_nameservers.join(',') !== dns.join(','),
    () => os.network.subnets.update(subnet.id, { dns_nameservers: dns }),
  );

  const gateway = externalNetworkId ? { network_id: externalNetworkId } : null;
  const router = await tally.ensure(
    `router ${n.router}`,
    () => os.network.routers.find(n.router),
    () =>
      os.network.routers.create({
        name: n.router,
        description,
        ...(gateway ? { external_gateway_info: gateway } : {}),
      }),
  );
  await tag(os, 'routers', router, t, tally);
  await tally.change(
    `set the gateway of ${n.router} to ${externalNetworkId ?? 'none'}`,
    (router.external_gateway_info?.network_id ?? null) !== (externalNetworkId ?? null),
    () => os.network.routers.setGateway(router.id, gateway),
  );
  await tally.ensure<unknown>(
    `interface of ${n.router} on ${n.subnet}`,
    async () => ((await os.network.routers.hasInterfaceOnSubnet(router.id, subnet.id)) ? true : undefined),
    () => os.network.routers.addInterface(router.id, { subnet_id: subnet.id }),
  );

  const groups = await ensureSecurityGroups(os, file, tally);
  return { networkId: net.id, subnetId: subnet.id, routerId: router.id, groups };
}

const sameRule = (
  r: RulePlan,
  remote: string | undefined,
  e: {
    direction: string;
    ethertype: string;
    protocol: string | null;
    port_range_min: number | null;
    port_range_max: number | null;
    remote_ip_prefix: string | null;
    remote_group_id: string | null;
  },
) =>
  e.direction === 'ingress' &&
  e.ethertype === 'IPv4' &&
  e.protocol === r.protocol &&
  (e.port_range_min ?? undefined) === r.ports?.[0] &&
  (e.port_range_max ?? undefined) === r.ports?.[1] &&
  (remote ? e.remote_group_id === remote : e.remote_ip_prefix === '0.0.0.0/0' && !e.remote_group_id);

async function ensureSecurityGroups(
  os: OpenStackClient,
  file: ClusterFile,
  tally: Tally,
): Promise<Record<GroupKey, string>> {
  const n = clusterNames(file.metadata.name);
  const t = clusterTag(file.metadata.name);
  const found = {} as Record<GroupKey, Awaited<ReturnType<OpenStackClient['network']['securityGroups']['get']>>>;
  for (const key of ['nodes', 'controlPlane', 'workers'] as const) {
    const name = n.securityGroups[key];
    found[key] = await tally.ensure(
      `security group ${name}`,
      () => os.network.securityGroups.find(name),
      () => os.network.securityGroups.create({ name, description: `osk cluster ${file.metadata.name}: ${key}` }),
    );
    await tag(os, 'securityGroups', found[key], t, tally);
  }
  const ids = { nodes: found.nodes.id, controlPlane: found.controlPlane.id, workers: found.workers.id };
  for (const r of securityGroupRules(file)) {
    const remote = r.from === 'anywhere' ? undefined : ids[r.from];
    const have = found[r.group].security_group_rules.find((e) => sameRule(r, remote, e));
    await tally.ensure(
      `rule on ${n.securityGroups[r.group]}: ${r.why}`,
      async () => have,
      () =>
        os.network.securityGroupRules.ensure({
          security_group_id: ids[r.group],
          direction: 'ingress',
          ethertype: 'IPv4',
          protocol: r.protocol,
          ...(r.ports ? { port_range_min: r.ports[0], port_range_max: r.ports[1] } : {}),
          ...(remote ? { remote_group_id: remote } : { remote_ip_prefix: '0.0.0.0/0' }),
          description: r.why,
        }),
    );
  }
  return ids;
}
