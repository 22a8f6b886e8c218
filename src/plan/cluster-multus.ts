/**
 * Multus NetworkAttachmentDefinitions (k8s.cni.cncf.io/v1) of a cluster's secondary networks:
 * how a pod gets a node's secondary Neutron port (spec.<role>.secondaryNetworks, made by
 * `osk cluster create`). Plain objects; `osk cluster addons` prints them.
 *
 * The choices, and why:
 * - host-device moves the port's NIC from the node into the pod. The node is a VM: its port is a
 *   virtio NIC, and a direct (SR-IOV) port is a VF Nova passed through, which inside the guest is
 *   a whole PCI NIC, not a VF the guest could carve. The sriov CNI manages the VFs of a PF it owns
 *   (bare metal); macvlan or ipvlan would put more MACs or addresses behind the port than Neutron
 *   assigned, which port security drops. So host-device for both vnic types.
 * - The NIC is picked by its MAC (`hwaddr`), which Neutron gave the port: NIC names inside a guest
 *   depend on PCI order, a MAC does not.
 * - IPAM `static`, with the port's fixed IP and its subnet's prefix: the only address port
 *   security lets through is the one Neutron assigned, and it is per node. whereabouts or
 *   host-local would hand out other addresses from the range; `dhcp` would need its daemon on
 *   every node. No gateway: the pod's default route stays on its cluster network.
 * - So one attachment per secondary network per node, named <network>-<node>: the port is one
 *   NIC, which one pod at a time holds, so the pod that takes it runs on that node
 *   (nodeSelector kubernetes.io/hostname: <node>).
 * - tuning sets the MTU of the interface in the pod (host-device has no MTU of its own).
 */
import type { ClusterFile } from '../spec/schema-cluster.js';
import { managed } from './cluster-addon-parts.js';

/** What Neutron made for one node on one secondary network. */
export interface SecondaryAttachment {
  node: string;
  /** spec.<role>.secondaryNetworks[].name */
  network: string;
  namespace: string;
  vnicType: 'normal' | 'direct';
  mac: string;
  /** The port's fixed IP with its subnet's prefix (10.30.0.5/24); none on a network without a subnet. */
  address: string | undefined;
  mtu: number;
}

export interface NetworkAttachmentDefinition {
  apiVersion: 'k8s.cni.cncf.io/v1';
  kind: 'NetworkAttachmentDefinition';
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: { config: string };
}

/** The CNI version of the configuration: 1.0.0, which the plugins since v1.0.0 read. */
const CNI_VERSION = '1.0.0';

const attachmentName = (a: Pick<SecondaryAttachment, 'network' | 'node'>): string => `${a.network}-${a.node}`;

/** The CNI configuration list of one attachment, as Multus hands it to the plugins. */
export function cniConfig(a: SecondaryAttachment): Record<string, unknown> {
  return {
    cniVersion: CNI_VERSION,
    name: attachmentName(a),
    plugins: [
      {
        type: 'host-device',
        hwaddr: a.mac,
        ...(a.address ? { ipam: { type: 'static', addresses: [{ address: a.address }] } } : {}),
      },
      { type: 'tuning', mtu: a.mtu },
    ],
  };
}

export function networkAttachments(
  file: ClusterFile,
  attachments: readonly SecondaryAttachment[],
): NetworkAttachmentDefinition[] {
  return attachments.map((a) => ({
    apiVersion: 'k8s.cni.cncf.io/v1',
    kind: 'NetworkAttachmentDefinition',
    metadata: {
      name: attachmentName(a),
      namespace: a.namespace,
      labels: { ...managed(file), 'osk.dev/secondary-network': a.network },
      annotations: {
        'osk.dev/node': a.node,
        'osk.dev/vnic-type': a.vnicType,
      },
    },
    spec: { config: JSON.stringify(cniConfig(a)) },
  }));
}
