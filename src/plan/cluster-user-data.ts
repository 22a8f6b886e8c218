/**
 * The cloud-init user data of a cluster's node: a kubeadm configuration (init on the first
 * control-plane node, join elsewhere), the cluster's CA on control-plane nodes, the add-ons
 * (cluster-addons.ts: cloud.conf Secret, cloud controller, Cinder CSI, StorageClasses), Calico's
 * Installation with the MTU the cluster file computes, and the commands that
 * run kubeadm. Everything is data: built as objects and written by the yaml library, every
 * string quoted; the commands are argument lists (cloud-init runs a list without a shell), so no
 * value of the cluster file ever becomes code.
 */
import { stringify } from 'yaml';
import { cniMtu, type ClusterFile } from '../spec/schema-cluster.js';
import type { NodePlan } from './cluster.js';

/** Calico's operator, pinned: the first control-plane node applies it. */
export const CALICO_OPERATOR =
  'https://raw.githubusercontent.com/projectcalico/calico/v3.29.1/manifests/tigera-operator.yaml';

export interface JoinSecrets {
  /** kubeadm bootstrap token, [a-z0-9]{6}.[a-z0-9]{16}. */
  bootstrapToken: string;
  /** 32 bytes in hex: encrypts the control-plane certificates kubeadm uploads for joining control planes. */
  certificateKey: string;
  caCert: string;
  caKey: string;
  /** sha256:<hex> of the CA's public key, which joining nodes pin. */
  caCertHash: string;
}

export interface NodeContext {
  /** Host (address) of the API the nodes join: the load balancer's VIP or the first control-plane node. */
  endpoint: string;
  /** More names of the API certificate (the floating IP). */
  sans: string[];
  /** The node's own address (its port's). */
  address: string;
  /** The add-ons as multi-document YAML (addonsYaml): the first control-plane node applies them. */
  addons: string;
}

const DIR = '/etc/kubernetes/osk';
const ADMIN = ['--kubeconfig', '/etc/kubernetes/admin.conf'];

const yaml = (doc: unknown) => stringify(doc, { defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' });
const docs = (...d: unknown[]) => d.map(yaml).join('---\n');

/** kubeadm v1beta4 (Kubernetes 1.31+) lists kubelet arguments; v1beta3 maps them. */
function kubeadmApi(file: ClusterFile): { apiVersion: string; args: (a: Record<string, string>) => unknown } {
  const minor = Number(/^v1\.(\d+)\./.exec(file.spec.kubernetesVersion)?.[1]);
  return minor >= 31
    ? {
        apiVersion: 'kubeadm.k8s.io/v1beta4',
        args: (a) => Object.entries(a).map(([name, value]) => ({ name, value })),
      }
    : { apiVersion: 'kubeadm.k8s.io/v1beta3', args: (a) => a };
}

function nodeRegistration(node: NodePlan, api: ReturnType<typeof kubeadmApi>) {
  const labels = Object.entries(node.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  // cloud-provider external: the nodes wait for the OpenStack cloud controller to initialise them.
  const args: Record<string, string> = { 'cloud-provider': 'external', ...(labels ? { 'node-labels': labels } : {}) };
  return { name: node.name, kubeletExtraArgs: api.args(args) };
}

function kubeadmConfig(file: ClusterFile, node: NodePlan, ctx: NodeContext, s: JoinSecrets): string {
  const api = kubeadmApi(file);
  const endpoint = `${ctx.endpoint}:6443`;
  const registration = nodeRegistration(node, api);
  if (node.role === 'control-plane' && node.index === 0) {
    return docs(
      {
        apiVersion: api.apiVersion,
        kind: 'InitConfiguration',
        bootstrapTokens: [
          { token: s.bootstrapToken, ttl: '24h0m0s', groups: ['system:bootstrappers:kubeadm:default-node-token'] },
        ],
        certificateKey: s.certificateKey,
        localAPIEndpoint: { advertiseAddress: ctx.address, bindPort: 6443 },
        nodeRegistration: registration,
      },
      {
        apiVersion: api.apiVersion,
        kind: 'ClusterConfiguration',
        clusterName: file.metadata.name,
        kubernetesVersion: file.spec.kubernetesVersion,
        controlPlaneEndpoint: endpoint,
        networking: { podSubnet: file.spec.cni.podCidr, serviceSubnet: file.spec.cni.serviceCidr },
        apiServer: { certSANs: [ctx.endpoint, ...ctx.sans] },
      },
    );
  }
  return docs({
    apiVersion: api.apiVersion,
    kind: 'JoinConfiguration',
    discovery: {
      bootstrapToken: { apiServerEndpoint: endpoint, token: s.bootstrapToken, caCertHashes: [s.caCertHash] },
    },
    nodeRegistration: registration,
    ...(node.role === 'control-plane'
      ? { controlPlane: { certificateKey: s.certificateKey, localAPIEndpoint: { advertiseAddress: ctx.address } } }
      : {}),
  });
}

/** Calico's Installation: the pod network, its encapsulation and the MTU computed from the node network. */
export function calicoInstallation(file: ClusterFile): string {
  const { encapsulation, mtu } = cniMtu(file.spec);
  return docs({
    apiVersion: 'operator.tigera.io/v1',
    kind: 'Installation',
    metadata: { name: 'default' },
    spec: {
      calicoNetwork: {
        mtu,
        ipPools: [
          {
            cidr: file.spec.cni.podCidr,
            encapsulation: encapsulation === 'vxlan' ? 'VXLAN' : 'IPIP',
            natOutgoing: 'Enabled',
            nodeSelector: 'all()',
          },
        ],
      },
    },
  });
}

/** The `#cloud-config` document of one node. */
export function nodeUserData(file: ClusterFile, node: NodePlan, ctx: NodeContext, s: JoinSecrets): string {
  const first = node.role === 'control-plane' && node.index === 0;
  const files: { path: string; content: string; permissions: string }[] = [
    { path: `${DIR}/kubeadm.yaml`, content: kubeadmConfig(file, node, ctx, s), permissions: '0600' },
  ];
  if (node.role === 'control-plane')
    files.push(
      { path: '/etc/kubernetes/pki/ca.crt', content: s.caCert, permissions: '0644' },
      { path: '/etc/kubernetes/pki/ca.key', content: s.caKey, permissions: '0600' },
    );
  const runcmd: string[][] = [];
  if (first) {
    runcmd.push(['kubeadm', 'init', '--config', `${DIR}/kubeadm.yaml`, '--upload-certs']);
    // The add-ons before the CNI: the cloud controller runs on the host network and initialises
    // the nodes, which stay tainted (cloud-provider external) until it does. 0600: the Secret.
    files.push({ path: `${DIR}/addons.yaml`, content: ctx.addons, permissions: '0600' });
    runcmd.push(['kubectl', ...ADMIN, 'apply', '-f', `${DIR}/addons.yaml`]);
    files.push({ path: `${DIR}/calico.yaml`, content: calicoInstallation(file), permissions: '0644' });
    runcmd.push(
      ['kubectl', ...ADMIN, 'create', '-f', CALICO_OPERATOR],
      [
        'kubectl',
        ...ADMIN,
        'wait',
        '--for=condition=established',
        '--timeout=300s',
        'crd/installations.operator.tigera.io',
      ],
      ['kubectl', ...ADMIN, 'create', '-f', `${DIR}/calico.yaml`],
    );
  } else {
    runcmd.push(['kubeadm', 'join', '--config', `${DIR}/kubeadm.yaml`]);
  }
  return `#cloud-config\n${yaml({ write_files: files, runcmd })}`;
}
