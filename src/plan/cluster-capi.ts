/**
 * `osk cluster render`: a cluster file as Cluster API objects for the OpenStack provider (CAPO),
 * for users who run Cluster API themselves. Pinned to what osk checks them against: cluster-api
 * v1.12.10 (cluster.x-k8s.io and the kubeadm providers at v1beta2, their storage version) and
 * CAPO v0.14.7 (infrastructure.cluster.x-k8s.io/v1beta1).
 *
 * Plain objects, not a ClusterClass: one cluster file is one cluster, and the objects are what a
 * user reads, diffs and applies. A ClusterClass would add the topology controller's variables and
 * patches (and the webhooks that default them) for templating many clusters, which is what the
 * cluster file already is.
 *
 * What CAPO cannot make is an input here, made by osk first (targets/cluster/capi.ts): the server
 * group (CAPO only references one by id), the application credential in the identity Secret, and
 * the security groups of spec.securityGroups that secondary ports name (CAPO makes only its own).
 * Pure: the objects are data, written out by the caller.
 */
import { stringify } from 'yaml';
import type { ClusterFile } from '../spec/schema-cluster.js';
import { clusterTag, type GroupKey, type RulePlan, securityGroupRules } from './cluster.js';
import { addonsYaml } from './cluster-addons.js';
import { storageClassObjects } from './cluster-csi.js';
import { calicoInstallation, CALICO_OPERATOR } from './cluster-user-data.js';

export interface CapiObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

interface CapiIdentity {
  authUrl: string;
  region: string | undefined;
  /** The endpoint interface of the catalog (public, internal). */
  interface: string | undefined;
  applicationCredentialId: string;
  /** The credential's secret; without it the identity Secret is left out (render without --show-secrets). */
  applicationCredentialSecret: string | undefined;
  /** PEM of the CA the cloud's TLS endpoints are signed by, when it is not a public one. */
  cacert: string | undefined;
}

/** What the cloud resolved: ids of what the file names, and what osk made for CAPO. */
export interface CapiInputs {
  imageId: string;
  /** flavor name or id in the file → flavor id */
  flavorIds: ReadonlyMap<string, string>;
  externalNetworkId: string | undefined;
  serverGroupId: string;
  identity: CapiIdentity;
  /** The secondary networks' references → ids: networks, `<network> <subnet>`, and security groups (osk's by their name in the file). */
  secondary: {
    networks: ReadonlyMap<string, string>;
    subnets: ReadonlyMap<string, string>;
    groups: ReadonlyMap<string, string>;
  };
}

const CAPI = 'cluster.x-k8s.io';
const INFRA = 'infrastructure.cluster.x-k8s.io';
const BOOTSTRAP = 'bootstrap.cluster.x-k8s.io';
const CONTROL_PLANE = 'controlplane.cluster.x-k8s.io';
/** The cloud of the identity Secret's clouds.yaml. */
const CLOUD_NAME = 'openstack';
const OSK_DIR = '/etc/kubernetes/osk';

interface CapiNames {
  cluster: string;
  identitySecret: string;
  controlPlane: string;
  workers: string;
}

export function capiNames(cluster: string): CapiNames {
  return {
    cluster,
    identitySecret: `${cluster}-cloud-config`,
    controlPlane: `${cluster}-control-plane`,
    workers: `${cluster}-md-0`,
  };
}

/** The rules CAPO's managed security groups always have (securitygroups.go): rendering them again would be a duplicate Neutron refuses. */
function capoMakesItself(r: RulePlan): boolean {
  const ports = r.ports?.join('-');
  return r.protocol === 'tcp' && (ports === '6443-6443' || ports === '2379-2380' || ports === '10250-10250');
}

const REMOTE: Record<GroupKey, string[]> = {
  nodes: ['controlplane', 'worker'],
  controlPlane: ['controlplane'],
  workers: ['worker'],
};

/**
 * osk's rules (plan/cluster.ts) beyond CAPO's own: ICMP for path-MTU discovery, Calico between
 * nodes, SSH when there is a keypair, and NodePorts from anywhere, which the OVN load-balancer
 * provider needs (it does not SNAT; CAPO opens NodePorts only to the node subnet).
 */
function managedSecurityGroups(file: ClusterFile) {
  const by: Record<GroupKey, unknown[]> = { nodes: [], controlPlane: [], workers: [] };
  const seen = new Map<string, number>();
  for (const r of securityGroupRules(file).filter((x) => !capoMakesItself(x))) {
    const base = `${r.group}-${r.protocol}${r.ports ? `-${r.ports[0]}` : ''}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    by[r.group].push({
      name: n === 1 ? base : `${base}-${n}`,
      description: r.why,
      direction: 'ingress',
      etherType: 'IPv4',
      protocol: r.protocol,
      ...(r.ports ? { portRangeMin: r.ports[0], portRangeMax: r.ports[1] } : {}),
      ...(r.from === 'anywhere' ? { remoteIPPrefix: '0.0.0.0/0' } : { remoteManagedGroups: REMOTE[r.from] }),
    });
  }
  return {
    allowAllInClusterTraffic: false,
    allNodesSecurityGroupRules: by.nodes,
    controlPlaneNodesSecurityGroupRules: by.controlPlane,
    workerNodesSecurityGroupRules: by.workers,
  };
}

function openStackCluster(file: ClusterFile, inputs: CapiInputs, n: CapiNames): CapiObject {
  const s = file.spec;
  const ext = inputs.externalNetworkId;
  return {
    apiVersion: `${INFRA}/v1beta1`,
    kind: 'OpenStackCluster',
    metadata: { name: n.cluster },
    spec: {
      identityRef: { type: 'Secret', name: n.identitySecret, cloudName: CLOUD_NAME },
      managedSubnets: [
        { cidr: s.network.cidr, ...(s.network.dnsServers.length ? { dnsNameservers: s.network.dnsServers } : {}) },
      ],
      // Set on the network CAPO makes (Neutron's net-mtu extension): the MTU the CNI's is computed from.
      networkMTU: s.network.mtu,
      // Without an external network there is no router gateway and no floating IP to give the API.
      ...(ext ? { externalNetwork: { id: ext } } : { disableExternalNetwork: true, disableAPIServerFloatingIP: true }),
      apiServerLoadBalancer: s.apiLoadBalancer.enabled
        ? { enabled: true, provider: s.apiLoadBalancer.provider }
        : { enabled: false },
      managedSecurityGroups: managedSecurityGroups(file),
      // The tag osk cluster delete finds leftovers by (ports, floating IPs a failed delete left).
      tags: [clusterTag(n.cluster)],
    },
  };
}

type SecondaryNetworks = ClusterFile['spec']['workers']['secondaryNetworks'];

/**
 * The machine's ports when its role has secondary networks. The first is CAPO's default (an empty
 * port: the cluster's network with its managed security groups); one more per secondary network,
 * named <machine>-<name>, with the cluster's tag (CAPO adds the machine's tags) so osk cluster
 * delete finds what CAPO leaves.
 */
function ports(file: ClusterFile, inputs: CapiInputs, secondary: SecondaryNetworks) {
  const id = (m: ReadonlyMap<string, string>, key: string) => {
    const v = m.get(key);
    if (v === undefined) throw new Error(`${key} was not resolved`);
    return v;
  };
  const s = inputs.secondary;
  return [
    {},
    ...secondary.map((sn) => ({
      nameSuffix: sn.name,
      description: `osk cluster ${file.metadata.name}: secondary network ${sn.name}`,
      network: { id: id(s.networks, sn.network) },
      ...(sn.subnet === undefined
        ? {}
        : { fixedIPs: [{ subnet: { id: id(s.subnets, `${sn.network} ${sn.subnet}`) } }] }),
      vnicType: sn.vnicType,
      ...(sn.portSecurity
        ? { securityGroups: sn.securityGroups.map((g) => ({ id: id(s.groups, g) })) }
        : { disablePortSecurity: true }),
    })),
  ];
}

function machineTemplate(
  file: ClusterFile,
  inputs: CapiInputs,
  name: string,
  role: { flavor: string; secondaryNetworks: SecondaryNetworks },
): CapiObject {
  const flavor = role.flavor;
  const flavorID = inputs.flavorIds.get(flavor);
  if (!flavorID) throw new Error(`flavor ${flavor} was not resolved`);
  const labels = Object.entries(file.metadata.labels ?? {}).map(([key, value]) => ({ key, value }));
  return {
    apiVersion: `${INFRA}/v1beta1`,
    kind: 'OpenStackMachineTemplate',
    metadata: { name },
    spec: {
      template: {
        spec: {
          flavorID,
          image: { id: inputs.imageId },
          serverGroup: { id: inputs.serverGroupId },
          ...(file.spec.keyPair ? { sshKeyName: file.spec.keyPair } : {}),
          ...(labels.length ? { serverMetadata: labels } : {}),
          ...(role.secondaryNetworks.length ? { ports: ports(file, inputs, role.secondaryNetworks) } : {}),
          tags: [clusterTag(file.metadata.name)],
        },
      },
    },
  };
}

/**
 * kubelet arguments: the external cloud provider (the OpenStack cloud controller initialises the
 * node) and the providerID CAPO matches the Machine by; cloud-init fills in the instance id.
 */
function nodeRegistration(labels: Record<string, string> | undefined) {
  const nodeLabels = Object.entries(labels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return {
    name: '{{ local_hostname }}',
    kubeletExtraArgs: [
      { name: 'cloud-provider', value: 'external' },
      { name: 'provider-id', value: 'openstack:///{{ instance_id }}' },
      ...(nodeLabels ? [{ name: 'node-labels', value: nodeLabels }] : []),
    ],
  };
}

/**
 * The first control-plane node's extra work, as `osk cluster create`'s user data does it: Calico
 * through its operator with the MTU computed from the node network, and the StorageClasses.
 * KubeadmControlPlane runs postKubeadmCommands on every control-plane node, so they are applies
 * (server-side), which a second node repeats without harm.
 */
function cniAndStorage(file: ClusterFile) {
  const kubectl = 'kubectl --kubeconfig /etc/kubernetes/admin.conf';
  const files = [{ path: `${OSK_DIR}/calico.yaml`, content: calicoInstallation(file), permissions: '0644' }];
  const commands = [
    `${kubectl} apply --server-side --force-conflicts -f ${CALICO_OPERATOR}`,
    `${kubectl} wait --for=condition=established --timeout=300s crd/installations.operator.tigera.io`,
    `${kubectl} apply --server-side -f ${OSK_DIR}/calico.yaml`,
  ];
  const classes = storageClassObjects(file);
  if (classes.length > 0) {
    files.push({ path: `${OSK_DIR}/storageclasses.yaml`, content: addonsYaml(classes), permissions: '0644' });
    commands.push(`${kubectl} apply --server-side -f ${OSK_DIR}/storageclasses.yaml`);
  }
  return { files, commands };
}

function kubeadmControlPlane(file: ClusterFile, n: CapiNames): CapiObject {
  const s = file.spec;
  const registration = nodeRegistration(s.controlPlane.labels);
  const { files, commands } = cniAndStorage(file);
  return {
    apiVersion: `${CONTROL_PLANE}/v1beta2`,
    kind: 'KubeadmControlPlane',
    metadata: { name: n.controlPlane },
    spec: {
      replicas: s.controlPlane.count,
      version: s.kubernetesVersion,
      machineTemplate: {
        spec: { infrastructureRef: { apiGroup: INFRA, kind: 'OpenStackMachineTemplate', name: n.controlPlane } },
      },
      kubeadmConfigSpec: {
        initConfiguration: { nodeRegistration: registration },
        joinConfiguration: { nodeRegistration: registration },
        files,
        postKubeadmCommands: commands,
      },
    },
  };
}

function workers(file: ClusterFile, inputs: CapiInputs, n: CapiNames): CapiObject[] {
  const s = file.spec;
  const selector = { [`${CAPI}/cluster-name`]: n.cluster, [`${CAPI}/deployment-name`]: n.workers };
  return [
    {
      apiVersion: `${CAPI}/v1beta2`,
      kind: 'MachineDeployment',
      metadata: { name: n.workers },
      spec: {
        clusterName: n.cluster,
        replicas: s.workers.count,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels: selector },
          spec: {
            clusterName: n.cluster,
            version: s.kubernetesVersion,
            bootstrap: { configRef: { apiGroup: BOOTSTRAP, kind: 'KubeadmConfigTemplate', name: n.workers } },
            infrastructureRef: { apiGroup: INFRA, kind: 'OpenStackMachineTemplate', name: n.workers },
          },
        },
      },
    },
    machineTemplate(file, inputs, n.workers, s.workers),
    {
      apiVersion: `${BOOTSTRAP}/v1beta2`,
      kind: 'KubeadmConfigTemplate',
      metadata: { name: n.workers },
      spec: { template: { spec: { joinConfiguration: { nodeRegistration: nodeRegistration(s.workers.labels) } } } },
    },
  ];
}

/**
 * clouds.yaml of the identity Secret: the application credential, never a password. A private CA
 * goes beside it under the key `cacert`, which CAPO reads from the Secret itself.
 */
function cloudsYaml(id: CapiIdentity, secret: string): string {
  const cloud = {
    auth: {
      auth_url: id.authUrl,
      application_credential_id: id.applicationCredentialId,
      application_credential_secret: secret,
    },
    auth_type: 'v3applicationcredential',
    identity_api_version: 3,
    ...(id.region ? { region_name: id.region } : {}),
    ...(id.interface ? { interface: id.interface } : {}),
  };
  return stringify({ clouds: { [CLOUD_NAME]: cloud } });
}

function identitySecret(inputs: CapiInputs, n: CapiNames): CapiObject | undefined {
  const id = inputs.identity;
  if (id.applicationCredentialSecret === undefined) return undefined;
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: n.identitySecret, labels: { 'clusterctl.cluster.x-k8s.io/move': 'true' } },
    type: 'Opaque',
    stringData: {
      'clouds.yaml': cloudsYaml(id, id.applicationCredentialSecret),
      ...(id.cacert ? { cacert: id.cacert } : {}),
    },
  };
}

/**
 * What the cluster file allows but CAPO v0.14 cannot do: without a load balancer and without an
 * external network (for a floating IP) it has no address to give the API before the first node
 * exists ("unable to determine control plane endpoint"). `osk cluster create` can, because it
 * makes the node's port first.
 */
export function capiProblems(file: ClusterFile): { path: string; message: string; hint: string }[] {
  const s = file.spec;
  if (s.apiLoadBalancer.enabled || s.network.externalNetwork) return [];
  return [
    {
      path: 'spec.apiLoadBalancer.enabled',
      message:
        'Cluster API needs the API load balancer or an external network: without either, CAPO has no address for the Kubernetes API before the first node exists',
      hint: 'set apiLoadBalancer.enabled: true or name network.externalNetwork (osk cluster create has no such limit)',
    },
  ];
}

/** The objects, in the order they are applied: what a reference names comes with or before it. */
export function clusterApiObjects(file: ClusterFile, inputs: CapiInputs): CapiObject[] {
  const n = capiNames(file.metadata.name);
  const s = file.spec;
  const cluster: CapiObject = {
    apiVersion: `${CAPI}/v1beta2`,
    kind: 'Cluster',
    metadata: { name: n.cluster },
    spec: {
      clusterNetwork: { pods: { cidrBlocks: [s.cni.podCidr] }, services: { cidrBlocks: [s.cni.serviceCidr] } },
      controlPlaneRef: { apiGroup: CONTROL_PLANE, kind: 'KubeadmControlPlane', name: n.controlPlane },
      infrastructureRef: { apiGroup: INFRA, kind: 'OpenStackCluster', name: n.cluster },
    },
  };
  const secret = identitySecret(inputs, n);
  return [
    ...(secret ? [secret] : []),
    cluster,
    openStackCluster(file, inputs, n),
    kubeadmControlPlane(file, n),
    machineTemplate(file, inputs, n.controlPlane, s.controlPlane),
    ...workers(file, inputs, n),
  ];
}
