/**
 * `osk cluster create`: the OpenStack side of a user's Kubernetes cluster, in the order of
 * plan/cluster.ts (createSteps), through osk's OpenStack client. Idempotent and resumable: each
 * object is found by name (and the cluster's tag) before it is made, so a second run changes
 * nothing and a run after an interruption continues where the first stopped.
 */
import { OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { clusterNames, clusterNodes, clusterTag, createSteps, groupsOf, type NodePlan } from '../../plan/cluster.js';
import { addonsYaml, clusterAddons } from '../../plan/cluster-addons.js';
import { nodeUserData, type JoinSecrets } from '../../plan/cluster-user-data.js';
import type { Reporter } from '../../reporter.js';
import type { ClusterFile } from '../../spec/schema-cluster.js';
import type { SecretStore } from '../../state/secret-store.js';
import { addonInputs } from './addons.js';
import { Tally } from './ensure.js';
import { ensureNetwork, type ClusterNetwork } from './network.js';
import { preflight } from './preflight.js';
import { ensureJoinSecrets, SECRET } from './secrets.js';
import { checkAttached, ensureOwnGroups, ensureSecondaryPorts, type SecondaryPort } from './secondary.js';

export interface CreateSummary {
  cluster: string;
  created: number;
  changed: number;
  unchanged: number;
  /** What was made or changed, in order. */
  actions: string[];
  /** Host the nodes reach the API at (the load balancer's VIP, or the first control-plane node). */
  apiEndpoint: string;
  apiFloatingIp: string | undefined;
  servers: { name: string; role: string; id: string; status: string; address: string }[];
  notes: string[];
  seconds: number;
}

export interface CreateOptions {
  timeoutMs: number;
  reporter: Reporter;
}

export async function createCluster(
  os: OpenStackClient,
  file: ClusterFile,
  store: SecretStore,
  opts: CreateOptions,
): Promise<CreateSummary> {
  const t0 = Date.now();
  const { reporter } = opts;
  const tally = new Tally(reporter);
  const name = file.metadata.name;
  reporter.begin(
    'cluster',
    `cluster ${name}: ${createSteps(file)
      .map((s) => s.id)
      .join(', ')}`,
  );
  const resolved = await preflight(os, file);
  for (const note of resolved.notes) reporter.note(note);

  await ensureApplicationCredential(os, file, store, tally);
  const net = await ensureNetwork(os, file, resolved.externalNetworkId, tally);
  const group = await ensureServerGroup(os, file, tally);

  const nodes = clusterNodes(file);
  const addresses = await ensurePorts(os, file, net, nodes, tally);
  const own = await ensureOwnGroups(os, file, tally);
  const secondary = new Map<string, SecondaryPort[]>();
  for (const node of nodes)
    secondary.set(node.name, await ensureSecondaryPorts(os, file, node, { resolved: resolved.secondary, own }, tally));
  const api = file.spec.apiLoadBalancer.enabled
    ? await ensureLoadBalancer(os, file, net, resolved.externalNetworkId, tally, opts)
    : undefined;
  const endpoint = api?.vip ?? addresses.get(nodes[0]!.name)!.ip;
  const secrets = await ensureJoinSecrets(store);
  const ids = { networkId: net.networkId, subnetId: net.subnetId, externalNetworkId: resolved.externalNetworkId };
  const addons = addonsYaml(clusterAddons(file, await addonInputs(os, file, store, ids)));

  const servers = await ensureServers(
    os,
    file,
    { nodes, addresses, secondary, group: group.id, endpoint, api, secrets, addons },
    tally,
    {
      imageId: resolved.imageId,
      flavors: resolved.flavors,
    },
  );
  for (const s of servers) {
    reporter.waiting('cluster', `waiting for ${s.name} to be ACTIVE`);
    s.status = (await os.compute.servers.waitForStatus(s.id, 'ACTIVE', { timeoutMs: opts.timeoutMs })).status;
  }
  if (api) await ensureMembers(os, api, nodes, addresses, tally, opts);
  reporter.done('cluster', 'ready', `${tally.created} created, ${tally.changed} changed, ${tally.unchanged} unchanged`);
  return {
    cluster: name,
    created: tally.created,
    changed: tally.changed,
    unchanged: tally.unchanged,
    actions: tally.log,
    apiEndpoint: endpoint,
    apiFloatingIp: api?.floatingIp,
    servers,
    notes: resolved.notes,
    seconds: (Date.now() - t0) / 1000,
  };
}

/** The nodes' server group; Nova cannot change a group's policy, so a different one is an error. */
export async function ensureServerGroup(os: OpenStackClient, file: ClusterFile, tally: Tally): Promise<{ id: string }> {
  const n = clusterNames(file.metadata.name);
  const group = await tally.ensure(
    `server group ${n.serverGroup} (${file.spec.serverGroupPolicy})`,
    () => os.compute.serverGroups.find(n.serverGroup),
    () => os.compute.serverGroups.create({ name: n.serverGroup, policy: file.spec.serverGroupPolicy }),
  );
  if (group.policy !== file.spec.serverGroupPolicy)
    throw new OskError(
      `server group ${n.serverGroup} has policy ${group.policy}, the cluster file says ${file.spec.serverGroupPolicy}; Nova cannot change a server group's policy`,
      { hint: 'keep the policy, or delete the cluster and create it again' },
    );
  return group;
}

/**
 * For the in-cluster cloud controller (and, rendered for Cluster API, for CAPO). Keystone shows the secret once: it is kept in the store;
 * a credential whose secret the store lost is replaced (it could never be used again).
 */
export async function ensureApplicationCredential(
  os: OpenStackClient,
  file: ClusterFile,
  store: SecretStore,
  tally: Tally,
): Promise<void> {
  const name = clusterNames(file.metadata.name).applicationCredential;
  const existing = await os.identity.applicationCredentials.find(name);
  const known = existing && store.has(SECRET.appCredentialSecret) && store.get(SECRET.appCredentialId) === existing.id;
  if (existing && known) {
    tally.unchanged++;
    return;
  }
  if (existing)
    await tally.change(`deleted application credential ${name}, whose secret osk no longer has`, true, () =>
      os.identity.applicationCredentials.delete(existing.id),
    );
  await tally.ensure(
    `application credential ${name}`,
    async () => undefined,
    async () => {
      const made = await os.identity.applicationCredentials.create({
        name,
        description: `osk cluster ${file.metadata.name}: the in-cluster OpenStack cloud controller and Cinder CSI`,
      });
      store.adopt(SECRET.appCredentialId, made.id);
      store.adopt(SECRET.appCredentialSecret, made.secret);
      await store.save();
      return made;
    },
  );
}

type Addresses = Map<string, { portId: string; ip: string }>;

/** One port per node, made before the servers: their addresses go into kubeadm's configuration. */
async function ensurePorts(
  os: OpenStackClient,
  file: ClusterFile,
  net: ClusterNetwork,
  nodes: NodePlan[],
  tally: Tally,
): Promise<Addresses> {
  const t = clusterTag(file.metadata.name);
  const out: Addresses = new Map();
  for (const node of nodes) {
    const groups = groupsOf(node.role).map((g) => net.groups[g]);
    const port = await tally.ensure(
      `port ${node.name}`,
      () => os.network.ports.find(node.name, { network_id: net.networkId }),
      () =>
        os.network.ports.create({
          name: node.name,
          network_id: net.networkId,
          fixed_ips: [{ subnet_id: net.subnetId }],
          security_groups: groups,
          description: `osk cluster ${file.metadata.name}: ${node.role}`,
        }),
    );
    const tags = port.tags ?? [];
    await tally.change(
      `tagged port ${node.name}`,
      !tags.includes(t),
      () => os.network.ports.setTags(port.id, [...tags, t]),
      port.id,
    );
    await tally.change(
      `set the security groups of port ${node.name}`,
      [...port.security_groups].sort().join() !== [...groups].sort().join(),
      () => os.network.ports.update(port.id, { security_groups: groups }),
    );
    const ip = port.fixed_ips.find((f) => f.subnet_id === net.subnetId)?.ip_address;
    if (!ip) throw new OskError(`port ${node.name} has no address on the cluster's subnet`);
    out.set(node.name, { portId: port.id, ip });
  }
  return out;
}

interface Api {
  lbId: string;
  poolId: string;
  vip: string;
  floatingIp: string | undefined;
  subnetId: string;
}

async function ensureLoadBalancer(
  os: OpenStackClient,
  file: ClusterFile,
  net: ClusterNetwork,
  externalNetworkId: string | undefined,
  tally: Tally,
  opts: CreateOptions,
): Promise<Api> {
  const n = clusterNames(file.metadata.name);
  const t = clusterTag(file.metadata.name);
  const lbs = os.loadBalancer;
  const wait = { timeoutMs: opts.timeoutMs };
  const made = await tally.ensure(
    `load balancer ${n.loadBalancer} (${file.spec.apiLoadBalancer.provider})`,
    () => lbs.loadBalancers.find(n.loadBalancer),
    () =>
      lbs.loadBalancers.create({
        name: n.loadBalancer,
        vip_subnet_id: net.subnetId,
        provider: file.spec.apiLoadBalancer.provider,
        description: `osk cluster ${file.metadata.name}: Kubernetes API`,
        tags: [t],
      }),
  );
  opts.reporter.waiting('cluster', `waiting for load balancer ${n.loadBalancer} to be ACTIVE`);
  const lb = await lbs.loadBalancers.waitForActive(made.id, wait);
  const listener = await tally.ensure(
    `listener ${n.listener}`,
    async () => (await lbs.listeners.list({ loadbalancer_id: lb.id })).find((l) => l.name === n.listener),
    () =>
      lbs.listeners.create(
        lb.id,
        { loadbalancer_id: lb.id, name: n.listener, protocol: 'TCP', protocol_port: 6443 },
        wait,
      ),
  );
  const pool = await tally.ensure(
    `pool ${n.pool}`,
    async () => (await lbs.pools.list({ loadbalancer_id: lb.id })).find((p) => p.name === n.pool),
    // SOURCE_IP_PORT: the algorithm the OVN provider serves.
    () =>
      lbs.pools.create(
        lb.id,
        { listener_id: listener.id, name: n.pool, protocol: 'TCP', lb_algorithm: 'SOURCE_IP_PORT' },
        wait,
      ),
  );
  let floatingIp: string | undefined;
  if (externalNetworkId) {
    const fip = await tally.ensure(
      `floating IP of ${n.loadBalancer}`,
      async () => (await os.network.floatingIps.list({ port_id: lb.vip_port_id }))[0],
      () =>
        os.network.floatingIps.create({
          floating_network_id: externalNetworkId,
          port_id: lb.vip_port_id,
          description: n.apiFloatingIp,
        }),
    );
    const tags = fip.tags ?? [];
    await tally.change(
      'tagged the API floating IP',
      !tags.includes(t),
      () => os.network.floatingIps.setTags(fip.id, [...tags, t]),
      fip.id,
    );
    floatingIp = fip.floating_ip_address;
  }
  return { lbId: lb.id, poolId: pool.id, vip: lb.vip_address, floatingIp, subnetId: net.subnetId };
}

async function ensureServers(
  os: OpenStackClient,
  file: ClusterFile,
  c: {
    nodes: NodePlan[];
    addresses: Addresses;
    secondary: Map<string, SecondaryPort[]>;
    group: string;
    endpoint: string;
    api: Api | undefined;
    secrets: JoinSecrets;
    addons: string;
  },
  tally: Tally,
  r: { imageId: string; flavors: Map<string, string> },
): Promise<CreateSummary['servers']> {
  const name = file.metadata.name;
  const out: CreateSummary['servers'] = [];
  for (const node of c.nodes) {
    const addr = c.addresses.get(node.name)!;
    const userData = nodeUserData(
      file,
      node,
      { endpoint: c.endpoint, sans: c.api?.floatingIp ? [c.api.floatingIp] : [], address: addr.ip, addons: c.addons },
      c.secrets,
    );
    const extra = c.secondary.get(node.name)!;
    const existing = await os.compute.servers.find(node.name);
    if (existing) checkAttached(existing, extra);
    const server = await tally.ensure<{ id: string }>(
      `server ${node.name}`,
      async () => existing,
      () =>
        os.compute.servers.create({
          name: node.name,
          flavorRef: r.flavors.get(node.flavor)!,
          imageRef: r.imageId,
          // The node network first: it is the node's first NIC, the one kubeadm and the CNI use.
          networks: [{ port: addr.portId }, ...extra.map((p) => ({ port: p.port.id }))],
          user_data: Buffer.from(userData).toString('base64'),
          metadata: { ...file.metadata.labels, 'osk-cluster': name, 'osk-role': node.role },
          tags: [clusterTag(name)],
          scheduler_hints: { group: c.group },
          ...(file.spec.keyPair ? { key_name: file.spec.keyPair } : {}),
        }),
    );
    out.push({ name: node.name, role: node.role, id: server.id, status: 'BUILD', address: addr.ip });
  }
  return out;
}

async function ensureMembers(
  os: OpenStackClient,
  api: Api,
  nodes: NodePlan[],
  addresses: Addresses,
  tally: Tally,
  opts: CreateOptions,
): Promise<void> {
  const members = os.loadBalancer.members(api.poolId);
  const have = new Set((await members.list()).map((m) => m.address));
  for (const node of nodes.filter((x) => x.role === 'control-plane')) {
    const ip = addresses.get(node.name)!.ip;
    await tally.ensure<unknown>(
      `API member ${node.name} (${ip})`,
      async () => (have.has(ip) ? ip : undefined),
      () =>
        members.create(
          api.lbId,
          { name: node.name, address: ip, protocol_port: 6443, subnet_id: api.subnetId },
          { timeoutMs: opts.timeoutMs },
        ),
    );
  }
}
