/** spec.endpoints and spec.network: how users reach the APIs, and the physical networks of instances. */
import { z } from 'zod';
import { bridgeName, dnsName, interfaceName, k8sLabelName, k8sName } from './rules.js';
import { type Problem, dnsLabel } from './schema-parts.js';

export const endpointsSchema = z.strictObject({
  publicDomain: dnsName.optional().describe('Public API hostnames are <service>.<publicDomain>; no Ingress when unset'),
  ingressClassName: k8sName.optional().describe('IngressClass of the public Ingresses; the cluster default when unset'),
  tls: z
    .strictObject({
      enabled: z.boolean().default(false),
      issuer: k8sName.optional().describe('cert-manager ClusterIssuer that signs the public certificates'),
      secretName: k8sName.optional().describe('An existing TLS Secret (wildcard certificate) instead of an issuer'),
    })
    .optional(),
  nodePorts: z
    .strictObject({
      address: dnsName.describe(
        'An IPv4 address or DNS name of the cluster that reaches its NodePorts (a node, or a load balancer in front of the nodes)',
      ),
    })
    .optional()
    .describe(
      'Public APIs as NodePort Services on fixed ports (identity 30500, compute 30774, placement 30778, image 30292, network 30696, volume 30776, load-balancer 30876, novnc 30680), registered in the catalog as http://<address>:<port>: a cloud reachable without an Ingress controller or DNS; not with publicDomain',
    ),
});

export const networkSchema = z.strictObject({
  backend: z
    .enum(['ovn', 'kube-ovn', 'calico-ovn'])
    .default('ovn')
    .describe(
      'ovn: OVN runs in the cloud; kube-ovn: reuse the cluster CNI OVN; calico-ovn: Calico pods, OVN for instances',
    ),
  datapath: z
    .enum(['system', 'netdev'])
    .default('system')
    .describe(
      "Open vSwitch datapath on the compute nodes: system (the kernel's openvswitch module, fastest) or netdev (userspace, for nodes without that module: containers, some VMs; slower)",
    ),
  mtu: z
    .number()
    .int()
    .min(1280)
    .max(9216)
    .default(1500)
    .describe('MTU of the physical network; tenant networks get this minus the Geneve overhead (58)'),
  providerNetworks: z
    .array(
      z.strictObject({
        name: dnsLabel.describe('physnet name'),
        interface: interfaceName.describe('Host interface plugged into the bridge, e.g. bond1'),
        bridge: bridgeName
          .optional()
          .describe('Open vSwitch bridge of the physnet; default br-<name> (cut to 15 characters)'),
      }),
    )
    .max(32)
    .default([])
    .describe(
      'Physical networks for provider/external networks: physnet name to host interface. Each physnet, interface and bridge is used once',
    ),
  multus: z
    .strictObject({
      networks: z
        .array(
          z.strictObject({
            name: dnsLabel,
            namespace: k8sLabelName()
              .optional()
              .describe(
                "Namespace of the NetworkAttachmentDefinition; only the cloud's own namespace is allowed (a pod must not join another namespace's network)",
              ),
            interface: interfaceName.optional().describe('Interface name inside the pod'),
          }),
        )
        .max(16)
        .default([])
        .describe('NetworkAttachmentDefinitions attached to the OVN and compute pods as secondary interfaces'),
    })
    .optional(),
});

type NetworkSpec = z.output<typeof networkSchema>;

/** TLS on the public endpoints needs a signer and the public hostnames; one way to publish them. */
export function tlsProblems(endpoints: z.output<typeof endpointsSchema> | undefined): Problem[] {
  const out: Problem[] = [];
  const tls = endpoints?.tls;
  if (tls?.enabled && !tls.issuer && !tls.secretName) {
    out.push({
      path: ['spec', 'endpoints', 'tls'],
      message: 'tls.enabled needs an issuer (cert-manager) or a secretName',
      hint: 'e.g. issuer: letsencrypt-prod',
    });
  }
  if (endpoints?.nodePorts && endpoints.publicDomain) {
    out.push({
      path: ['spec', 'endpoints', 'nodePorts'],
      message: 'nodePorts and publicDomain both say where the public APIs are; the catalog has one public URL per API',
      hint: 'keep publicDomain (Ingress, TLS) or nodePorts (plain HTTP on the nodes), not both',
    });
  }
  if (tls?.enabled && !endpoints?.publicDomain) {
    out.push({
      path: ['spec', 'endpoints', 'tls'],
      message: 'tls.enabled needs endpoints.publicDomain (certificates are for the public hostnames)',
    });
  }
  return out;
}

/** Two physnets on one interface or one bridge would bridge two networks together. */
export function providerNetworkProblems(network: NetworkSpec | undefined): Problem[] {
  const out: Problem[] = [];
  const nets = network?.providerNetworks ?? [];
  const seen = {
    name: new Map<string, number>(),
    interface: new Map<string, number>(),
    bridge: new Map<string, number>(),
  };
  nets.forEach((n, i) => {
    const bridge = n.bridge ?? `br-${n.name}`.slice(0, 15);
    const values = { name: n.name, interface: n.interface, bridge };
    for (const k of ['name', 'interface', 'bridge'] as const) {
      const j = seen[k].get(values[k]);
      if (j !== undefined) {
        out.push({
          path: ['spec', 'network', 'providerNetworks', i, k === 'bridge' && !n.bridge ? 'name' : k],
          message: `${k === 'name' ? 'physnet' : k} "${values[k]}" is already used by providerNetworks[${j}]${k === 'bridge' && !n.bridge ? ` (the default bridge is br-<name> cut to 15 characters)` : ''}: two provider networks on one ${k === 'name' ? 'physnet' : k} would join two physical networks into one`,
          hint: k === 'name' ? 'give each physical network its own name' : `give each provider network its own ${k}`,
        });
      } else seen[k].set(values[k], i);
    }
    if (bridge === n.interface)
      out.push({
        path: ['spec', 'network', 'providerNetworks', i, 'bridge'],
        message: `the bridge and the interface are both "${bridge}"`,
        hint: 'the bridge is a new Open vSwitch bridge; the interface is the NIC plugged into it',
      });
  });
  return out;
}

/** A pod of the cloud attaches only to networks of its own namespace. */
export function multusProblems(namespace: string | undefined, network: NetworkSpec | undefined): Problem[] {
  const ns = namespace ?? 'openstack';
  const out: Problem[] = [];
  (network?.multus?.networks ?? []).forEach((n, i) => {
    if (n.namespace !== undefined && n.namespace !== ns) {
      out.push({
        path: ['spec', 'network', 'multus', 'networks', i, 'namespace'],
        message: `the network is in namespace "${n.namespace}", not the cloud's own "${ns}": osk does not attach its privileged pods to another namespace's network`,
        hint: `create the NetworkAttachmentDefinition in "${ns}" and leave namespace unset`,
      });
    }
  });
  return out;
}
