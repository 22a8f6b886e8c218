/**
 * `osk cluster delete`: everything of the cluster, in the dependency order of plan/cluster.ts
 * (DELETE_STEPS), including what the in-cluster cloud controller made that osk never saw: load
 * balancers on the cluster's subnet, their floating IPs and leftover ports. This is where
 * Magnum and CAPO deletions get stuck (a security group in use, a subnet with ports): each step
 * removes what holds the next one, and waits until it is really gone.
 */
import { rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { clusterNames, clusterTag, DELETE_STEPS } from '../../plan/cluster.js';
import type { Reporter } from '../../reporter.js';
import { waitUntil } from '../../openstack/resource.js';

export interface DeleteSummary {
  cluster: string;
  /** Per step: what was removed (empty when there was nothing). */
  removed: Record<string, string[]>;
  seconds: number;
}

/** Ports Neutron owns and removes with their router or network; the others are removed here. */
const NEUTRON_OWNED =
  /^network:(router_interface|router_interface_distributed|router_gateway|dhcp|distributed|router_ha_interface)$/;

interface Ctx {
  os: OpenStackClient;
  cluster: string;
  n: ReturnType<typeof clusterNames>;
  tag: string;
  wait: { timeoutMs: number };
  net: { id: string } | undefined;
  subnet: { id: string } | undefined;
  storePath: string;
  /**
   * Floating IPs bound to the network's ports when delete began: deleting a port (a load
   * balancer's VIP goes with it) only unbinds its floating IP, which then stays allocated.
   */
  floating: Map<string, string>;
}

export async function deleteCluster(
  os: OpenStackClient,
  cluster: string,
  storePath: string,
  opts: { timeoutMs: number; reporter: Reporter },
): Promise<DeleteSummary> {
  const t0 = Date.now();
  const n = clusterNames(cluster);
  const net = await os.network.networks.find(n.network);
  const subnet = net ? await os.network.subnets.find(n.subnet, { network_id: net.id }) : undefined;
  const portIds = new Set((net ? await os.network.ports.list({ network_id: net.id }) : []).map((p) => p.id));
  const floating = new Map(
    (portIds.size ? await os.network.floatingIps.list() : [])
      .filter((f) => f.port_id && portIds.has(f.port_id))
      .map((f) => [f.id, f.floating_ip_address]),
  );
  const c: Ctx = {
    os,
    cluster,
    n,
    tag: clusterTag(cluster),
    wait: { timeoutMs: opts.timeoutMs },
    net,
    subnet,
    storePath,
    floating,
  };
  const removed: Record<string, string[]> = {};
  for (const s of DELETE_STEPS) {
    opts.reporter.begin(s.id, s.what);
    const out: string[] = [];
    await STEPS[s.id as keyof typeof STEPS](c, out);
    removed[s.id] = out;
    opts.reporter.done(s.id, 'completed', out.length ? `removed ${out.join(', ')}` : 'none there');
  }
  return { cluster, removed, seconds: (Date.now() - t0) / 1000 };
}

async function servers({ os, cluster, tag, wait }: Ctx, out: string[]): Promise<void> {
  // A cluster name is a DNS label: nothing in it is special to Nova's regular expression.
  const byName = await os.compute.servers.list({ name: `^osk-${cluster}-(control-plane|worker)-[0-9]+$` });
  const byTag = await os.compute.servers.list({ tags: tag });
  const all = new Map([...byName, ...byTag].map((s) => [s.id, s]));
  for (const s of all.values()) await os.compute.servers.delete(s.id);
  for (const s of all.values()) {
    await os.compute.servers.waitForDeleted(s.id, wait);
    out.push(s.name);
  }
}

async function loadBalancers({ os, n, tag, wait, subnet }: Ctx, out: string[]): Promise<void> {
  const lbs = os.loadBalancer.loadBalancers;
  const found = [
    ...(subnet ? await lbs.list({ vip_subnet_id: subnet.id }) : []),
    ...(await lbs.list({ tags: tag })),
    ...(await lbs.list({ name: n.loadBalancer })),
  ];
  const all = new Map(found.map((lb) => [lb.id, lb]));
  for (const lb of all.values()) {
    // Octavia refuses to delete a load balancer while it is PENDING_*: wait for it to settle.
    const now = await waitUntil({
      what: `load balancer ${lb.name || lb.id}`,
      target: 'a state it can be deleted in',
      poll: () => lbs.tryGet(lb.id),
      status: (x) => x?.provisioning_status ?? 'deleted',
      done: (x) => !x?.provisioning_status.startsWith('PENDING_') || x.provisioning_status === 'PENDING_DELETE',
      opts: wait,
    });
    if (now && now.provisioning_status !== 'PENDING_DELETE') await lbs.delete(lb.id, { cascade: true });
  }
  for (const lb of all.values()) {
    await lbs.waitForDeleted(lb.id, wait);
    out.push(lb.name || lb.id);
  }
}

async function floatingIps({ os, tag, floating }: Ctx, out: string[]): Promise<void> {
  for (const f of await os.network.floatingIps.list({ tags: tag })) floating.set(f.id, f.floating_ip_address);
  for (const [id, address] of floating) if (await os.network.floatingIps.delete(id)) out.push(address);
}

async function ports({ os, tag, net }: Ctx, out: string[]): Promise<void> {
  const left = net ? await os.network.ports.list({ network_id: net.id }) : [];
  const tagged = await os.network.ports.list({ tags: tag });
  for (const p of new Map([...left, ...tagged].map((x) => [x.id, x])).values()) {
    if (NEUTRON_OWNED.test(p.device_owner)) continue;
    if (await os.network.ports.delete(p.id)) out.push(p.name || p.id);
  }
}

/**
 * osk's objects by name, and any other carrying the cluster's tag: what Cluster API's OpenStack
 * provider made for a rendered cluster (`osk cluster render` tags them) and left behind.
 */
const byNameAndTag = <T extends { id: string }>(named: T | undefined, tagged: T[]): T[] => [
  ...new Map([...(named ? [named] : []), ...tagged].map((x) => [x.id, x])).values(),
];

async function router({ os, n, tag }: Ctx, out: string[]): Promise<void> {
  const all = byNameAndTag(await os.network.routers.find(n.router), await os.network.routers.list({ tags: tag }));
  for (const r of all) {
    for (const p of await os.network.ports.list({ device_id: r.id })) {
      if (!/^network:router_interface/.test(p.device_owner)) continue;
      await os.network.routers.removeInterface(r.id, { port_id: p.id });
      out.push(`interface ${p.fixed_ips[0]?.ip_address ?? p.id}`);
    }
    if (r.external_gateway_info) {
      await os.network.routers.setGateway(r.id, null);
      out.push('gateway');
    }
    if (await os.network.routers.delete(r.id)) out.push(r.name);
  }
}

async function network({ os, n, net, subnet, tag }: Ctx, out: string[]): Promise<void> {
  if (subnet && (await os.network.subnets.delete(subnet.id))) out.push(n.subnet);
  if (net && (await os.network.networks.delete(net.id))) out.push(n.network);
  for (const other of await os.network.networks.list({ tags: tag })) {
    for (const sub of await os.network.subnets.list({ network_id: other.id }))
      if (await os.network.subnets.delete(sub.id)) out.push(sub.name || sub.id);
    if (await os.network.networks.delete(other.id)) out.push(other.name || other.id);
  }
}

async function securityGroups({ os, n, tag }: Ctx, out: string[]): Promise<void> {
  for (const name of Object.values(n.securityGroups)) {
    const g = await os.network.securityGroups.find(name);
    if (g && (await os.network.securityGroups.delete(g.id))) out.push(name);
  }
  for (const g of await os.network.securityGroups.list({ tags: tag }))
    if (await os.network.securityGroups.delete(g.id)) out.push(g.name);
}

async function serverGroup({ os, n }: Ctx, out: string[]): Promise<void> {
  const g = await os.compute.serverGroups.find(n.serverGroup);
  if (g && (await os.compute.serverGroups.delete(g.id))) out.push(n.serverGroup);
}

async function applicationCredential({ os, n }: Ctx, out: string[]): Promise<void> {
  const c = await os.identity.applicationCredentials.find(n.applicationCredential);
  if (c && (await os.identity.applicationCredentials.delete(c.id))) out.push(n.applicationCredential);
}

async function state({ storePath }: Ctx, out: string[]): Promise<void> {
  try {
    await rm(dirname(storePath), { recursive: true });
    out.push(dirname(storePath));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
      throw new OskError(`cannot remove the cluster's state ${dirname(storePath)}: ${(e as Error).message}`);
  }
}

/** Each step of DELETE_STEPS (plan/cluster.ts), by id. */
const STEPS = {
  servers,
  'load-balancers': loadBalancers,
  'floating-ips': floatingIps,
  ports,
  router,
  network,
  'security-groups': securityGroups,
  'server-group': serverGroup,
  'application-credential': applicationCredential,
  state,
} satisfies Record<string, (c: Ctx, out: string[]) => Promise<void>>;
