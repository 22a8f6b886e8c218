/**
 * `osk cluster status` and `list`: what exists of a cluster in the cloud, per object, and what is
 * missing or in error; and which clusters a project has (networks tagged osk-cluster=<name>).
 */
import type { OpenStackClient } from '../../openstack/index.js';
import { clusterNames, clusterNodes, clusterTag } from '../../plan/cluster.js';
import type { ClusterFile } from '../../spec/schema-cluster.js';
import type { SecretStore } from '../../state/secret-store.js';
import { SECRET } from './secrets.js';

type ObjectState = 'ok' | 'missing' | 'error' | 'differs' | 'extra';

interface StatusRow {
  kind: string;
  name: string;
  state: ObjectState;
  detail: string;
  id?: string;
}

export interface ClusterStatus {
  cluster: string;
  ready: boolean;
  objects: StatusRow[];
}

const row = (kind: string, name: string, found: { id: string } | undefined, detail = '', bad?: string): StatusRow => ({
  kind,
  name,
  state: !found ? 'missing' : bad ? 'error' : 'ok',
  detail: bad ?? detail,
  ...(found ? { id: found.id } : {}),
});

export async function clusterStatus(
  os: OpenStackClient,
  file: ClusterFile,
  store: SecretStore,
): Promise<ClusterStatus> {
  const s = file.spec;
  const name = file.metadata.name;
  const n = clusterNames(name);
  const rows: StatusRow[] = [];
  const cred = await os.identity.applicationCredentials.find(n.applicationCredential);
  const secretKept = store.has(SECRET.appCredentialSecret) && cred && store.get(SECRET.appCredentialId) === cred.id;
  rows.push(
    row(
      'application credential',
      n.applicationCredential,
      cred,
      'secret in osk state',
      secretKept ? undefined : 'its secret is not in osk state (create replaces it)',
    ),
  );
  const net = await os.network.networks.find(n.network);
  rows.push({
    ...row('network', n.network, net, `MTU ${net?.mtu}`),
    ...(net && net.mtu !== s.network.mtu
      ? { state: 'differs', detail: `MTU ${net.mtu}, the file says ${s.network.mtu}` }
      : {}),
  });
  const subnet = net ? await os.network.subnets.find(n.subnet, { network_id: net.id }) : undefined;
  rows.push(row('subnet', n.subnet, subnet, subnet?.cidr ?? ''));
  const router = await os.network.routers.find(n.router);
  const plugged = router && subnet ? await os.network.routers.hasInterfaceOnSubnet(router.id, subnet.id) : false;
  rows.push(
    row(
      'router',
      n.router,
      router,
      router?.external_gateway_info ? 'with gateway' : 'no gateway',
      router && !plugged ? 'not plugged into the subnet' : undefined,
    ),
  );
  for (const g of [...Object.values(n.securityGroups), ...s.securityGroups.map((x) => n.ownGroup(x.name))]) {
    const sg = await os.network.securityGroups.find(g);
    rows.push(row('security group', g, sg, sg ? `${sg.security_group_rules.length} rules` : ''));
  }
  const group = await os.compute.serverGroups.find(n.serverGroup);
  rows.push({
    ...row('server group', n.serverGroup, group, `${group?.policy}, ${group?.members.length ?? 0} members`),
    ...(group && group.policy !== s.serverGroupPolicy
      ? { state: 'differs', detail: `policy ${group.policy}, the file says ${s.serverGroupPolicy}` }
      : {}),
  });
  rows.push(...(await nodeRows(os, file, net)));
  if (s.apiLoadBalancer.enabled || subnet) rows.push(...(await loadBalancerRows(os, file, subnet)));
  return { cluster: name, ready: rows.every((r) => r.state === 'ok' || r.state === 'extra'), objects: rows };
}

async function nodeRows(os: OpenStackClient, file: ClusterFile, net: { id: string } | undefined): Promise<StatusRow[]> {
  const rows: StatusRow[] = [];
  for (const node of clusterNodes(file)) {
    const port = net ? await os.network.ports.find(node.name, { network_id: net.id }) : undefined;
    rows.push(row('port', node.name, port, port?.fixed_ips[0]?.ip_address ?? ''));
    const server = await os.compute.servers.find(node.name);
    rows.push(
      row(
        'server',
        node.name,
        server,
        server?.status ?? '',
        server && server.status !== 'ACTIVE'
          ? `${server.status}${server.fault ? `: ${server.fault.message}` : ''}`
          : undefined,
      ),
    );
    for (const sn of node.secondaryNetworks) {
      const name = clusterNames(file.metadata.name).secondaryPort(node.name, sn.name);
      const p = await os.network.ports.find(name);
      const detail = `${sn.network} ${p?.fixed_ips[0]?.ip_address ?? 'no address'} ${p?.['binding:vnic_type'] ?? ''}`;
      rows.push(
        row(
          'port',
          name,
          p,
          detail,
          p && server && p.device_id !== server.id ? 'not attached to the server' : undefined,
        ),
      );
    }
  }
  return rows;
}

async function loadBalancerRows(
  os: OpenStackClient,
  file: ClusterFile,
  subnet: { id: string } | undefined,
): Promise<StatusRow[]> {
  const n = clusterNames(file.metadata.name);
  const rows: StatusRow[] = [];
  if (file.spec.apiLoadBalancer.enabled) {
    const lb = await os.loadBalancer.loadBalancers.find(n.loadBalancer);
    rows.push(
      row(
        'load balancer',
        n.loadBalancer,
        lb,
        lb ? `${lb.provider}, VIP ${lb.vip_address}, ${lb.operating_status}` : '',
        lb && lb.provisioning_status !== 'ACTIVE' ? lb.provisioning_status : undefined,
      ),
    );
  }
  // Load balancers the cloud controller made (Services of type LoadBalancer) live on the subnet too.
  if (subnet)
    for (const lb of await os.loadBalancer.loadBalancers.list({ vip_subnet_id: subnet.id }))
      if (lb.name !== n.loadBalancer)
        rows.push({
          kind: 'load balancer',
          name: lb.name || lb.id,
          id: lb.id,
          state: 'extra',
          detail: `${lb.provisioning_status}; delete removes it`,
        });
  return rows;
}

export interface ClusterListing {
  name: string;
  network: string;
  servers: number;
  active: number;
}

/** The clusters of the project: the networks osk tagged, and their servers. */
export async function listClusters(os: OpenStackClient): Promise<ClusterListing[]> {
  const out: ClusterListing[] = [];
  for (const net of await os.network.networks.list()) {
    const name = (net.tags ?? []).find((t) => t.startsWith('osk-cluster='))?.slice('osk-cluster='.length);
    if (!name || net.name !== clusterNames(name).network) continue;
    const servers = await os.compute.servers.list({ tags: clusterTag(name) });
    out.push({
      name,
      network: net.id,
      servers: servers.length,
      active: servers.filter((s) => s.status === 'ACTIVE').length,
    });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
