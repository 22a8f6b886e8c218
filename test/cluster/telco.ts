/**
 * Secondary networks of `osk cluster` against a real osk cloud (run by allinone.e2e.test.ts): an
 * admin's flat provider network and a security group of the project, a cluster whose worker has
 * two ports on it (one with osk's group and the admin's, one without port security), then what
 * Neutron has (the ports, their groups, vnic type, binding) and what OVN made of it: the
 * groups are port groups of the northbound database whose ACLs are the rules, the port is in
 * them; the port without port security is in none and has no port security in OVN. Then the
 * Multus attachments `osk cluster addons` renders from the ports, and a delete that leaves
 * nothing of the cluster and everything of the admin's.
 *
 * The all-in-one's registered chassis stands in for ovn-controller and publishes no bridge
 * mappings, so ML2/OVN could bind no port of a flat network. The scenario gives the chassis the
 * mapping ovn-controller would publish from an operator's ovn-bridge-mappings (in external_ids,
 * which Zed's mechanism driver reads, and other_config, which later ones read), and takes it back.
 */
import type { OpenStackClient } from '../../src/openstack/index.js';
import type { Run } from '../support/run.js';

export interface TelcoOptions {
  /** osk with the cloud's admin clouds.yaml. */
  osk: (args: string[], timeoutMs?: number) => Promise<Run>;
  /** The cloud's admin. */
  os: OpenStackClient;
  /** ovn-nbctl / ovn-sbctl against the cloud's databases; stdout. */
  nbctl: (args: string[]) => Promise<string>;
  sbctl: (args: string[]) => Promise<string>;
  /** Where the cluster file is written. */
  file: string;
  write: (path: string, text: string) => void;
  log: (line: string) => void;
}

export interface PortSeen {
  name: string;
  network: string;
  groups: string[];
  portSecurity: boolean | undefined;
  vnicType: string | undefined;
  vifType: string | undefined;
  tags: string[];
  mac: string;
  ip: string | undefined;
}

export interface TelcoResult {
  workerPorts: PortSeen[];
  ownGroupId: string;
  adminGroupId: string;
  /** Per group id: its port group's ACL matches, and whether the n2 port's switch port is in it. */
  portGroups: Record<string, { acls: string[]; hasPort: boolean }>;
  /** The switch port of the port without port security: its port_security column, and the port groups it is in. */
  raw: { portSecurity: string[]; inGroups: string[] };
  attachments: { name: string; config: unknown }[];
  create: Run;
  again: Run;
  del: Run;
  left: { ports: string[]; ownGroup: boolean; adminGroup: boolean; portGroups: string[]; switchPorts: string[] };
}

const CLUSTER = 'telco';
const PHYSNET = 'e2e-telco';
/** The port group ML2/OVN makes of a security group. */
const portGroupOf = (sg: string) => `pg_${sg.replace(/-/g, '_')}`;

type OvsValue = string | number | ['set', unknown[]] | ['uuid', string] | ['map', unknown[]];
const setOf = (v: OvsValue): unknown[] => (Array.isArray(v) && v[0] === 'set' ? v[1] : [v]);
const uuidsOf = (v: OvsValue): string[] => setOf(v).map((x) => (x as ['uuid', string])[1]);

/** Rows of a northbound table, all of them or those `where` matches. */
async function rows(o: TelcoOptions, table: string, columns: string, where?: string): Promise<OvsValue[][]> {
  const out = await o.nbctl([
    '--format=json',
    `--columns=${columns}`,
    ...(where ? ['find', table, where] : ['list', table]),
  ]);
  return (JSON.parse(out) as { data: OvsValue[][] }).data;
}

/** The flat provider network on a physnet, its subnet, and a group of the project: what an admin makes. */
async function adminMakes(o: TelcoOptions) {
  const net = await o.os.network.networks.create({
    name: 'e2e-telco',
    shared: true,
    'provider:network_type': 'flat',
    'provider:physical_network': PHYSNET,
    description: 'a provider network for telco workloads',
  });
  await o.os.network.subnets.create({
    network_id: net.id,
    name: 'e2e-telco-v4',
    cidr: '10.40.0.0/24',
    ip_version: 4,
    enable_dhcp: false,
  });
  const ranOps = await o.os.network.securityGroups.create({
    name: 'e2e-ran-ops',
    description: 'Diameter from the core',
  });
  await o.os.network.securityGroupRules.create({
    security_group_id: ranOps.id,
    direction: 'ingress',
    ethertype: 'IPv4',
    protocol: 'tcp',
    port_range_min: 3868,
    port_range_max: 3868,
    remote_ip_prefix: '10.50.0.0/16',
  });
  return { net, ranOps };
}

const clusterFile = [
  'apiVersion: osk.dev/v1alpha1',
  'kind: KubernetesCluster',
  `metadata: {name: ${CLUSTER}}`,
  'spec:',
  '  image: osk-test-raw',
  '  apiLoadBalancer: {enabled: false}',
  '  network: {cidr: 10.8.0.0/24}',
  '  controlPlane: {flavor: m1.tiny, count: 1}',
  '  securityGroups:',
  '    - name: n2',
  '      rules:',
  '        - {protocol: sctp, ports: "38412", from: 10.20.0.0/16}',
  '        - {protocol: udp, ports: "2152", from: 10.20.0.0/16}',
  '  workers:',
  '    flavor: m1.tiny',
  '    count: 1',
  '    secondaryNetworks:',
  '      - {name: n2, network: e2e-telco, subnet: e2e-telco-v4, securityGroups: [n2, e2e-ran-ops], namespace: ran}',
  '      - {name: raw, network: e2e-telco, portSecurity: false, mtu: 1400}',
  '',
].join('\n');

async function seePorts(o: TelcoOptions, serverId: string): Promise<PortSeen[]> {
  const ports = await o.os.network.ports.list({ device_id: serverId });
  return ports
    .map((p) => ({
      name: p.name,
      network: p.network_id,
      groups: [...p.security_groups].sort(),
      portSecurity: p.port_security_enabled,
      vnicType: p['binding:vnic_type'],
      vifType: p['binding:vif_type'],
      tags: p.tags ?? [],
      mac: p.mac_address,
      ip: p.fixed_ips[0]?.ip_address,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

async function seeOvn(o: TelcoOptions, n2PortId: string, rawPortId: string, groups: string[]) {
  const lsp = async (id: string) => (await rows(o, 'Logical_Switch_Port', '_uuid,port_security', `name=${id}`))[0]!;
  const [n2Uuid] = uuidsOf((await lsp(n2PortId))[0]!);
  const [rawUuid, rawSecurity] = await lsp(rawPortId);
  const portGroups: TelcoResult['portGroups'] = {};
  for (const g of groups) {
    const [pg] = await rows(o, 'Port_Group', 'ports', `name=${portGroupOf(g)}`);
    const acls = (await o.nbctl(['acl-list', portGroupOf(g)])).split('\n').filter(Boolean);
    portGroups[g] = { acls, hasPort: !!pg && uuidsOf(pg[0]!).includes(n2Uuid!) };
  }
  const all = await rows(o, 'Port_Group', 'name,ports');
  const rawId = uuidsOf(rawUuid!)[0]!;
  const inGroups = all.filter((r) => uuidsOf(r[1]!).includes(rawId)).map((r) => String(r[0]));
  return { portGroups, raw: { portSecurity: setOf(rawSecurity!).map(String), inGroups } };
}

export async function telcoScenario(o: TelcoOptions): Promise<TelcoResult> {
  const [chassis] = (await o.sbctl(['--bare', '--columns=name', 'list', 'Chassis'])).split('\n').filter(Boolean);
  const mapping = `ovn-bridge-mappings=${PHYSNET}:br-${PHYSNET}`;
  for (const column of ['external_ids', 'other_config'])
    await o.sbctl(['set', 'Chassis', chassis!, `${column}:${mapping}`]);
  const { net, ranOps } = await adminMakes(o);
  try {
    o.write(o.file, clusterFile);
    o.log('osk cluster create (a worker with two ports on the flat provider network)');
    const create = await o.osk(['cluster', 'create', '-f', o.file, '-o', 'json'], 15 * 60_000);
    if (create.code !== 0) throw new Error(`osk cluster create: exit ${create.code}\n${create.stderr.slice(-4000)}`);
    const again = await o.osk(['cluster', 'create', '-f', o.file, '-o', 'json'], 15 * 60_000);
    const worker = (await o.os.compute.servers.find(`osk-${CLUSTER}-worker-0`))!;
    const workerPorts = await seePorts(o, worker.id);
    const own = (await o.os.network.securityGroups.find(`osk-${CLUSTER}-sg-n2`))!;
    const byName = (name: string) => o.os.network.ports.find(name, { network_id: net.id });
    const n2 = (await byName(`osk-${CLUSTER}-worker-0-n2`))!;
    const raw = (await byName(`osk-${CLUSTER}-worker-0-raw`))!;
    const ovn = await seeOvn(o, n2.id, raw.id, [own.id, ranOps.id]);
    const addons = await o.osk(['cluster', 'addons', '-f', o.file, '-o', 'json']);
    if (addons.code !== 0) throw new Error(`osk cluster addons: exit ${addons.code}\n${addons.stderr}`);
    const attachments = (
      JSON.parse(addons.stdout) as { items: { kind: string; metadata: { name: string }; spec: { config: string } }[] }
    ).items
      .filter((x) => x.kind === 'NetworkAttachmentDefinition')
      .map((x) => ({ name: x.metadata.name, config: JSON.parse(x.spec.config) as unknown }));
    o.log('osk cluster delete');
    const del = await o.osk(['cluster', 'delete', '-f', o.file, '--yes', '-o', 'json'], 15 * 60_000);
    const left = {
      ports: [
        ...(await o.os.network.ports.list({ tags: `osk-cluster=${CLUSTER}` })),
        ...(await o.os.network.ports.list({ network_id: net.id })).filter(
          (p) => !p.device_owner.startsWith('network:'),
        ),
      ].map((p) => p.name),
      ownGroup: (await o.os.network.securityGroups.find(`osk-${CLUSTER}-sg-n2`)) !== undefined,
      adminGroup: (await o.os.network.securityGroups.find('e2e-ran-ops')) !== undefined,
      portGroups: (await rows(o, 'Port_Group', 'name', `name=${portGroupOf(own.id)}`)).map((r) => String(r[0])),
      switchPorts: [
        ...(await rows(o, 'Logical_Switch_Port', 'name', `name=${n2.id}`)),
        ...(await rows(o, 'Logical_Switch_Port', 'name', `name=${raw.id}`)),
      ].map((r) => String(r[0])),
    };
    return {
      workerPorts,
      ownGroupId: own.id,
      adminGroupId: ranOps.id,
      ...ovn,
      attachments,
      create,
      again,
      del,
      left,
    };
  } finally {
    // Whatever happened: the cluster, then what the admin made, then the chassis as osk registered
    // it; a failure here is said, not thrown over the test's own.
    const quietly = (what: string, f: () => Promise<unknown>) =>
      f().catch((e: unknown) => o.log(`cleanup: ${what}: ${(e as Error).message}`));
    await quietly('cluster delete', () => o.osk(['cluster', 'delete', '-f', o.file, '--yes'], 15 * 60_000));
    await quietly('security group', () => o.os.network.securityGroups.delete(ranOps.id));
    await quietly('network', async () => {
      for (const s of await o.os.network.subnets.list({ network_id: net.id })) await o.os.network.subnets.delete(s.id);
      await o.os.network.networks.delete(net.id);
    });
    for (const column of ['external_ids', 'other_config'])
      await quietly('chassis', () => o.sbctl(['remove', 'Chassis', chassis!, column, 'ovn-bridge-mappings']));
  }
}
