/**
 * What the add-ons of a user's cluster (plan/cluster-addons.ts) need from the cloud and from osk's
 * state of the cluster: the application credential `create` made (its secret is in the cluster's
 * secret store, nowhere else), the cluster's network and subnet, the external network, Keystone's
 * URL and region, whether the catalog has a load-balancer service, and the cloud's CA; and for the
 * Multus attachments, each node's secondary ports as Neutron made them.
 */
import { readFile } from 'node:fs/promises';
import { ExitCode, OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { clusterNames, clusterNodes } from '../../plan/cluster.js';
import type { SecondaryAttachment } from '../../plan/cluster-multus.js';
import type { AddonInputs } from '../../plan/cluster-addons.js';
import type { ClusterFile } from '../../spec/schema-cluster.js';
import type { SecretStore } from '../../state/secret-store.js';
import { SECRET } from './secrets.js';

/** The ids `create` has already resolved; found by name when not given. */
interface ClusterIds {
  networkId: string;
  subnetId: string;
  externalNetworkId: string | undefined;
}

const notMade = (file: ClusterFile, what: string) =>
  new OskError(`cluster ${file.metadata.name} has no ${what}`, {
    exitCode: ExitCode.invalidInput,
    hint: `run osk cluster create -f <file> first (the add-ons name what it makes)`,
  });

/** The cluster's network, subnet and external network, found by their names. */
export async function findClusterIds(os: OpenStackClient, file: ClusterFile): Promise<ClusterIds> {
  const n = clusterNames(file.metadata.name);
  const network = await os.network.networks.find(n.network);
  if (!network) throw notMade(file, `network ${n.network}`);
  const subnet = await os.network.subnets.find(n.subnet, { network_id: network.id });
  if (!subnet) throw notMade(file, `subnet ${n.subnet}`);
  const ext = file.spec.network.externalNetwork;
  let externalNetworkId: string | undefined;
  if (ext) {
    const byId = (await os.network.networks.list({ id: ext }))[0];
    externalNetworkId = (byId ?? (await os.network.networks.find(ext)))?.id;
    if (!externalNetworkId) throw notMade(file, `external network ${ext} in this cloud`);
  }
  return { networkId: network.id, subnetId: subnet.id, externalNetworkId };
}

/** Everything the add-ons are rendered from. */
export async function addonInputs(
  os: OpenStackClient,
  file: ClusterFile,
  store: SecretStore,
  ids: ClusterIds,
): Promise<AddonInputs> {
  if (!store.has(SECRET.appCredentialId) || !store.has(SECRET.appCredentialSecret))
    throw notMade(file, `application credential in osk's state (${store.path})`);
  const catalog = (await os.session.getToken()).body.catalog ?? [];
  const compute = catalog.find((s) => s.type === 'compute')?.endpoints.find((e) => e.interface === 'public');
  const caFile = os.cloud?.cacertFile;
  return {
    authUrl: os.session.authUrl,
    region: os.cloud?.region ?? compute?.region_id ?? compute?.region ?? undefined,
    applicationCredential: { id: store.get(SECRET.appCredentialId), secret: store.get(SECRET.appCredentialSecret) },
    networkId: ids.networkId,
    subnetId: ids.subnetId,
    floatingNetworkId: ids.externalNetworkId,
    loadBalancerService: catalog.some((s) => s.type === 'load-balancer'),
    caCert: caFile ? await readFile(caFile, 'utf8') : undefined,
  };
}

/** Each node's secondary ports: MAC, fixed IP with its subnet's prefix, and the MTU of the pod's interface. */
export async function secondaryAttachments(os: OpenStackClient, file: ClusterFile): Promise<SecondaryAttachment[]> {
  const n = clusterNames(file.metadata.name);
  const out: SecondaryAttachment[] = [];
  const networks = new Map<string, { mtu?: number; id: string }>();
  for (const node of clusterNodes(file))
    for (const sn of node.secondaryNetworks) {
      const name = n.secondaryPort(node.name, sn.name);
      const port = await os.network.ports.find(name);
      if (!port) throw notMade(file, `port ${name} (secondary network ${sn.name})`);
      if (!networks.has(port.network_id)) networks.set(port.network_id, await os.network.networks.get(port.network_id));
      const netMtu = networks.get(port.network_id)!.mtu;
      if (sn.mtu !== undefined && netMtu !== undefined && sn.mtu > netMtu)
        throw new OskError(
          `the MTU ${sn.mtu} of secondary network ${sn.name} does not fit its network: MTU ${netMtu} (${sn.mtu} > ${netMtu})`,
          {
            exitCode: ExitCode.invalidInput,
            hint: `set mtu to ${netMtu} or less, or leave it out`,
          },
        );
      const ip = port.fixed_ips[0];
      const cidr = ip ? (await os.network.subnets.get(ip.subnet_id)).cidr : undefined;
      out.push({
        node: node.name,
        network: sn.name,
        namespace: sn.namespace,
        vnicType: sn.vnicType,
        mac: port.mac_address,
        address: ip && cidr ? `${ip.ip_address}/${cidr.split('/')[1]}` : undefined,
        // Neutron without the net-mtu extension reports none: then Ethernet's 1500.
        mtu: sn.mtu ?? netMtu ?? 1500,
      });
    }
  return out;
}
