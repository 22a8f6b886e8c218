/**
 * The cluster file, v1alpha1 (`kind: KubernetesCluster`): the OpenStack side of a user's
 * Kubernetes cluster, with the fields people know from Magnum templates and Cluster API Provider
 * OpenStack (image, flavors and counts, external network, DNS servers, server-group policy, API
 * load balancer, node network CIDR and MTU, CNI and its MTU, Kubernetes version, volume types as
 * StorageClasses, labels) and, for telco workloads, secondary networks (schema-cluster-ports.ts). `osk cluster` reads it with the loader of the cloud file (load.ts):
 * located errors, did-you-mean, exit 2.
 *
 * The rules here need only the file. What needs the cloud (is the flavor there, are there enough
 * compute hosts for hard anti-affinity) is the preflight of `osk cluster create`.
 */
import { z } from 'zod';
import { API_VERSION } from './schema.js';
import { dnsLabel, ownLabelRefusal, type Problem } from './schema-parts.js';
import { cidr, cidrRange, ipv4, overlap } from './ipv4.js';
import { openstackRef, ownSecurityGroup, secondaryNetworkProblems, secondaryNetworks } from './schema-cluster-ports.js';
import { k8sName, labelKey, labelValue, pattern, rule, simpleName } from './rules.js';

export const CLUSTER_KIND = 'KubernetesCluster';

// ---- the file -------------------------------------------------------------------------------

/** Kubernetes node labels of one role, set by the kubelet at registration (kubeadm's node-labels). */
const nodeLabels = z
  .record(labelKey.superRefine(rule(ownLabelRefusal)), labelValue)
  .optional()
  .describe('Kubernetes labels the nodes of this role register with (kubelet --node-labels)');

const role = (count: { min: number; max: number; default: number }, what: string) =>
  z.strictObject({
    flavor: openstackRef('a Nova flavor').describe(`Nova flavor of the ${what}`),
    count: z
      .number()
      .int()
      .min(count.min)
      .max(count.max)
      .default(count.default)
      .describe(`How many ${what} (default ${count.default})`),
    labels: nodeLabels,
    secondaryNetworks,
  });

/** Encapsulations the CNI puts around pod traffic between nodes, and the bytes each adds to a packet. */
export const CNI_OVERHEAD = { vxlan: 50, ipip: 20 } as const;

const clusterSpecSchema = z.strictObject({
  cloud: simpleName('a cloud of clouds.yaml', 128)
    .optional()
    .describe(
      "The cloud of clouds.yaml (OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack) the cluster is made in; default: osk's own all-in-one cloud, as `osk env` gives it",
    ),
  kubernetesVersion: pattern(
    /^v1\.(2[89]|3[0-9])\.\d{1,3}$/,
    'a Kubernetes version such as v1.36.3 (v1.28 or later)',
    12,
  )
    .default('v1.36.3')
    .describe('The kubeadm, kubelet and control-plane version the nodes run (the image must carry it)'),
  image: openstackRef('a Glance image').describe(
    'Glance image of every node: a cloud image with cloud-init, containerd and kubeadm/kubelet of kubernetesVersion (as the CAPI image-builder makes)',
  ),
  keyPair: openstackRef('a Nova keypair').optional().describe('Nova keypair put on every node (SSH)'),
  controlPlane: role({ min: 1, max: 7, default: 1 }, 'control-plane nodes').describe(
    'Control-plane nodes (an odd count: etcd needs a majority)',
  ),
  workers: role({ min: 0, max: 200, default: 1 }, 'worker nodes').describe('Worker nodes'),
  network: z
    .strictObject({
      cidr: cidr('node subnet', 16, 28).default('10.6.0.0/24').describe('The node subnet'),
      mtu: z
        .number()
        .int()
        .min(1280)
        .max(9000)
        .default(1442)
        .describe(
          'MTU of the node network, set explicitly on the Neutron network (default 1442: a Geneve tenant network on a 1500-byte underlay)',
        ),
      externalNetwork: openstackRef('an external Neutron network')
        .optional()
        .describe(
          'External network of the router (and of the API floating IP when the API load balancer is on); without it the nodes reach only the cloud',
        ),
      dnsServers: z
        .array(ipv4)
        .max(5)
        .default([])
        .describe('DNS servers of the node subnet (Neutron hands them out by DHCP)'),
    })
    .prefault({}),
  serverGroupPolicy: z
    .enum(['soft-anti-affinity', 'anti-affinity', 'soft-affinity', 'affinity'])
    .default('soft-anti-affinity')
    .describe(
      'Nova server-group policy of the nodes: soft-anti-affinity spreads them where it can; anti-affinity fails to schedule a node when there are fewer compute hosts than nodes',
    ),
  apiLoadBalancer: z
    .strictObject({
      enabled: z.boolean().default(true).describe('An Octavia load balancer in front of the API servers (port 6443)'),
      provider: z
        .enum(['ovn', 'amphora'])
        .default('ovn')
        .describe('Octavia provider (ovn: no amphora VMs; members see the client address)'),
    })
    .prefault({}),
  cni: z
    .strictObject({
      plugin: z
        .enum(['calico'])
        .default('calico')
        .describe('The CNI the first control-plane node installs (Calico, through its operator)'),
      encapsulation: z
        .enum(['vxlan', 'ipip'])
        .default('vxlan')
        .describe(
          'How the CNI carries pod traffic between nodes (Calico VXLAN or IP-in-IP); its header is what the CNI MTU leaves room for',
        ),
      mtu: z
        .number()
        .int()
        .min(1280)
        .max(9000)
        .optional()
        .describe(
          'MTU of pod interfaces; default: network.mtu − the encapsulation overhead (50 for VXLAN, 20 for IP-in-IP)',
        ),
      podCidr: cidr('pod network', 8, 24).default('192.168.0.0/16'),
      serviceCidr: cidr('Service network', 8, 24).default('10.96.0.0/12'),
    })
    .prefault({}),
  storageClasses: z
    .array(
      z.strictObject({
        name: k8sName.describe('StorageClass name'),
        volumeType: openstackRef('a Cinder volume type').describe('Cinder volume type of its volumes'),
        default: z.boolean().default(false).describe('The default StorageClass of the cluster (at most one)'),
      }),
    )
    .max(20)
    .default([])
    .describe('One StorageClass per Cinder volume type (provisioner cinder.csi.openstack.org)'),
  securityGroups: z
    .array(ownSecurityGroup)
    .max(20)
    .default([])
    .describe(
      "Security groups osk makes for the nodes' secondary networks (secondaryNetworks[].securityGroups names them)",
    ),
});

export const clusterFileSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal(CLUSTER_KIND, { error: `must be "${CLUSTER_KIND}"` }),
  metadata: z.strictObject({
    name: dnsLabel.describe('Name of the cluster: every OpenStack object of it is named osk-<name>-… and tagged'),
    labels: z
      .record(labelKey.superRefine(rule(ownLabelRefusal)), labelValue)
      .optional()
      .describe('Put on every server of the cluster as Nova metadata'),
  }),
  spec: clusterSpecSchema,
});

export type ClusterFile = z.output<typeof clusterFileSchema>;
export type ClusterSpec = ClusterFile['spec'];

/** The CNI's encapsulation, overhead and MTU as the file gives them or as they default. */
export function cniMtu(spec: ClusterSpec): { encapsulation: keyof typeof CNI_OVERHEAD; overhead: number; mtu: number } {
  const encapsulation = spec.cni.encapsulation;
  const overhead = CNI_OVERHEAD[encapsulation];
  return { encapsulation, overhead, mtu: spec.cni.mtu ?? spec.network.mtu - overhead };
}

/** The CNI's packets, with its header, must fit in the node network's MTU. */
function mtuProblems(spec: ClusterSpec): Problem[] {
  const { encapsulation, overhead, mtu } = cniMtu(spec);
  const fits = spec.network.mtu - overhead;
  if (mtu <= fits) return [];
  return [
    {
      path: ['spec', spec.cni.mtu === undefined ? 'network' : 'cni', 'mtu'],
      message: `the CNI MTU ${mtu} does not fit: node network MTU ${spec.network.mtu} − ${overhead} bytes of ${encapsulation} = ${fits}`,
      hint: `set cni.mtu to ${fits} or less (or raise network.mtu, which the underlay must carry too); larger pod packets are dropped or fragmented, which breaks replication in ways that take days to find`,
    },
  ];
}

function cidrProblems(spec: ClusterSpec): Problem[] {
  const out: Problem[] = [];
  const { cidr } = spec.network;
  if (overlap(cidr, spec.cni.podCidr))
    out.push({
      path: ['spec', 'cni', 'podCidr'],
      message: `the pod network ${spec.cni.podCidr} overlaps the node subnet ${cidr}`,
      hint: 'pods and nodes need separate address ranges: pick a podCidr outside network.cidr',
    });
  if (overlap(cidr, spec.cni.serviceCidr))
    out.push({
      path: ['spec', 'cni', 'serviceCidr'],
      message: `the Service network ${spec.cni.serviceCidr} overlaps the node subnet ${cidr}`,
      hint: 'pick a serviceCidr outside network.cidr',
    });
  else if (overlap(spec.cni.podCidr, spec.cni.serviceCidr))
    out.push({
      path: ['spec', 'cni', 'serviceCidr'],
      message: `the Service network ${spec.cni.serviceCidr} overlaps the pod network ${spec.cni.podCidr}`,
      hint: 'pick separate ranges for pods and Services',
    });
  // Neutron keeps the first address for the router and the last for broadcast.
  const usable = (cidrRange(cidr)?.size ?? 0) - 3;
  const nodes = spec.controlPlane.count + spec.workers.count + (spec.apiLoadBalancer.enabled ? 1 : 0);
  if (usable < nodes)
    out.push({
      path: ['spec', 'network', 'cidr'],
      message: `${cidr} has ${usable} addresses for ${nodes} nodes and load balancer addresses`,
      hint: 'use a larger subnet (a shorter prefix), e.g. /24',
    });
  return out;
}

function countProblems(spec: ClusterSpec): Problem[] {
  const out: Problem[] = [];
  if (spec.controlPlane.count % 2 === 0)
    out.push({
      path: ['spec', 'controlPlane', 'count'],
      message: `${spec.controlPlane.count} control-plane nodes: etcd needs a majority, so an even count tolerates no more failures than one node fewer`,
      hint: `use ${spec.controlPlane.count - 1} or ${spec.controlPlane.count + 1}`,
    });
  if (spec.controlPlane.count > 1 && !spec.apiLoadBalancer.enabled)
    out.push({
      path: ['spec', 'apiLoadBalancer', 'enabled'],
      message: `${spec.controlPlane.count} control-plane nodes need the API load balancer: without it the nodes would all be pointed at the first one`,
      hint: 'set apiLoadBalancer.enabled: true, or use one control-plane node',
    });
  const defaults = spec.storageClasses.map((c, i) => [c, i] as const).filter(([c]) => c.default);
  for (const [, i] of defaults.slice(1))
    out.push({
      path: ['spec', 'storageClasses', i, 'default'],
      message: 'a second default StorageClass: Kubernetes then refuses claims that name no class',
      hint: 'keep default: true on one class only',
    });
  const seen = new Set<string>();
  spec.storageClasses.forEach((c, i) => {
    if (seen.has(c.name))
      out.push({ path: ['spec', 'storageClasses', i, 'name'], message: `a second StorageClass named ${c.name}` });
    seen.add(c.name);
  });
  return out;
}

/** The rules that span fields of a cluster file. */
export function clusterProblems(file: ClusterFile): Problem[] {
  return [
    ...mtuProblems(file.spec),
    ...cidrProblems(file.spec),
    ...countProblems(file.spec),
    ...secondaryNetworkProblems(file.spec),
  ];
}
