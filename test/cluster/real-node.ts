// A real node for the test cluster (`cluster:up --real-node`): Debian's containerd + runc + CNI
// plugins, and the kubelet and kube-proxy of the pinned Kubernetes (build.ts), in a network
// namespace of its own (node-host.ts says what that buys), with CoreDNS as the cluster DNS.
//
// What this machine needed, each one found by trying (see docs/test-cluster.md):
//   - containerd: restrict_oom_score_adj (the VM lacks CAP_SYS_RESOURCE, so runc cannot lower
//     a pod's oom_score_adj and every sandbox failed), a local sandbox image (no public registry
//     is reachable), a hosts.toml for the cluster's own plain-HTTP registry (registry.ts)
//   - kubelet: failCgroupV1 false (cgroup v1 here), cgroupfs driver (no systemd), a node IP that is
//     not loopback (the kubelet refuses one: the veth's address)
//   - kube-apiserver: --kubelet-preferred-address-types=InternalIP,Hostname (the node's name does
//     not resolve: logs/exec), an advertise address pods can reach (the veth's host end, where a
//     socat forwards to the apiserver on 127.0.0.1)
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLUSTER_DNS_IP, coreDNSObjects } from './coredns.js';
import { commandExists, outputOf, succeeds } from './exec.js';
import { type KubeClient, type KubeObject, waitFor } from './kube.js';
import {
  createCgroup,
  createNodeNetwork,
  deleteNodeNetwork,
  killCgroup,
  type NodeNetwork,
  nodeCommand,
  readSysctls,
  restoreSysctls,
  unmountUnder,
} from './node-host.js';
import { importImages, type NodeImages } from './node-images.js';
import { containerdHosts, REGISTRY_PORT, registryAnswers, registryArgv, registryConfig } from './registry.js';

/** The node's name: the kubelet's client certificate (pki.go) is issued for system:node:<it>. */
export const REAL_NODE_NAME = 'real-node-1';

export interface RealNodeState {
  name: string;
  /** everything the node writes: containerd's root and state, the kubelet's root, logs, configs */
  dir: string;
  net: NodeNetwork;
  /** cgroup of containerd, its shims and the pods (the kubelet's cgroupRoot), in every hierarchy */
  cgroup: string;
  /** the global sysctls the kubelet sets, as they were before it started */
  sysctls: Record<string, string>;
  socket: string;
  /** the cluster's image registry (registry.ts), host:port on the node network's host end; plain HTTP */
  registry: string;
}

/** Commands the node needs and the Debian package of each (scripts/install-test-tools.sh installs them). */
const NEEDED: Record<string, string> = {
  containerd: 'containerd',
  ctr: 'containerd',
  runc: 'runc',
  '/usr/lib/cni/bridge': 'containernetworking-plugins',
  iptables: 'iptables',
  socat: 'socat',
  umoci: 'umoci',
  nsenter: 'util-linux',
  ip: 'iproute2',
  gcc: 'gcc',
};

/** Why this host cannot run a real node, or undefined when it can. */
export function realNodeUnsupported(): string | undefined {
  if (process.getuid?.() !== 0) return 'a real node needs root (containerd, cgroups, network namespaces)';
  const missing = Object.entries(NEEDED).filter(([cmd]) => !commandExists(cmd));
  if (missing.length > 0) {
    const pkgs = [...new Set(missing.map(([, p]) => p))].join(' ');
    return `a real node needs ${missing.map(([c]) => c).join(', ')}: apt-get install ${pkgs} (or run scripts/install-test-tools.sh as root)`;
  }
  return undefined;
}

/** Before the control plane starts: the node's network (its host end is the apiserver's advertise address), cgroup and the sysctls to restore. */
export function prepareRealNode(clusterDir: string): RealNodeState {
  const dir = join(clusterDir, 'node');
  mkdirSync(dir, { recursive: true });
  const net = createNodeNetwork();
  const cgroup = net.netns;
  createCgroup(cgroup);
  return {
    name: REAL_NODE_NAME,
    dir,
    net,
    cgroup,
    sysctls: readSysctls(),
    socket: join(dir, 'containerd.sock'),
    registry: `${net.hostIP}:${REGISTRY_PORT}`,
  };
}

export function realNodeApiserverFlags(node: RealNodeState): string[] {
  return [`--advertise-address=${node.net.hostIP}`, '--kubelet-preferred-address-types=InternalIP,Hostname'];
}

export interface NodeStartContext {
  node: RealNodeState;
  apiserverPort: number;
  pki: string;
  client: KubeClient;
  images: NodeImages;
  kubelet: string;
  kubeProxy: string;
  /** the registry binary (build.ts ensureRegistry) */
  registryBinary: string;
  /** the node's labels (key=value,…): the roles osk's pods select */
  labels: string;
  /** starts a recorded process (argv[0] is what /proc/PID/cmdline shows once it runs), in cgroup /<cgroup>/<leaf> when given */
  start(name: string, argv: string[], recordedArgv0: string, cgroupLeaf?: string): Promise<void>;
  /** waits, failing at once when a recorded process exited */
  waitAlive(what: string, check: () => Promise<boolean>): Promise<void>;
  log(line: string): void;
}

/** After the control plane answers: forwarder, registry, containerd with the images, kubelet, kube-proxy, CoreDNS. */
export async function startRealNode(ctx: NodeStartContext): Promise<void> {
  const { node, client } = ctx;
  const { net } = node;
  await ctx.start(
    'apiserver-forwarder',
    [
      'socat',
      `TCP-LISTEN:${ctx.apiserverPort},bind=${net.hostIP},reuseaddr,fork`,
      `TCP:127.0.0.1:${ctx.apiserverPort}`,
    ],
    'socat',
  );

  // On the host, at the node network's host end: the host pushes there, the node pulls from there.
  mkdirSync(join(node.dir, 'registry', 'data'), { recursive: true });
  const registryFile = join(node.dir, 'registry', 'config.yml');
  writeFileSync(registryFile, registryConfig({ address: node.registry, dataDir: join(node.dir, 'registry', 'data') }));
  await ctx.start('registry', registryArgv(ctx.registryBinary, registryFile), ctx.registryBinary);
  await ctx.waitAlive(`the registry at ${node.registry}`, () => registryAnswers(node.registry));

  containerdHosts(join(node.dir, 'containerd', 'hosts'), node.registry);
  writeFileSync(join(node.dir, 'containerd.toml'), containerdConfig(node, ctx.images.pause.ref));
  mkdirSync(join(node.dir, 'cni'), { recursive: true });
  writeFileSync(join(node.dir, 'cni', '10-osk.conflist'), cniConfig(node));
  await ctx.start(
    'containerd',
    nodeCommand(net, ['containerd', '--config', join(node.dir, 'containerd.toml')]),
    'containerd',
    'runtime',
  );
  await ctx.waitAlive('containerd', async () => succeeds('ctr', ['--address', node.socket, 'version']));
  importImages(node.socket, ctx.images);

  const server = `https://${net.hostIP}:${ctx.apiserverPort}`;
  for (const user of ['kubelet', 'kube-proxy'])
    writeNodeKubeconfig(join(node.dir, `${user}.kubeconfig`), server, ctx.pki, user);
  writeFileSync(
    join(node.dir, 'resolv.conf'),
    '# the node has no upstream DNS: names outside the cluster do not resolve\n',
  );
  writeFileSync(join(node.dir, 'kubelet.yaml'), kubeletConfig(node, ctx.pki));
  writeFileSync(join(node.dir, 'kube-proxy.yaml'), kubeProxyConfig(node));
  await ctx.start(
    'kubelet',
    nodeCommand(net, [
      ctx.kubelet,
      `--config=${join(node.dir, 'kubelet.yaml')}`,
      `--kubeconfig=${join(node.dir, 'kubelet.kubeconfig')}`,
      `--hostname-override=${node.name}`,
      `--node-ip=${net.nodeIP}`,
      `--root-dir=${join(node.dir, 'kubelet')}`,
      `--cert-dir=${join(node.dir, 'kubelet-pki')}`,
      `--node-labels=${ctx.labels}`,
    ]),
    ctx.kubelet,
    'kubelet',
  );
  await ctx.start(
    'kube-proxy',
    nodeCommand(net, [ctx.kubeProxy, `--config=${join(node.dir, 'kube-proxy.yaml')}`]),
    ctx.kubeProxy,
    'kube-proxy',
  );
  await ctx.waitAlive(`node ${node.name} Ready`, async () => {
    const r = await client.request<KubeObject>('GET', `/api/v1/nodes/${node.name}`);
    const conds = (r.body.status?.conditions ?? []) as { type: string; status: string }[];
    return r.status === 200 && conds.some((c) => c.type === 'Ready' && c.status === 'True');
  });
  await createLocalVolumes(client, node);
  for (const { path, obj } of coreDNSObjects(ctx.images.coredns.ref, node.name)) await client.create(path, obj);
  await ctx.waitAlive('CoreDNS ready', async () => {
    const r = await client.request<KubeObject>('GET', '/apis/apps/v1/namespaces/kube-system/deployments/coredns');
    return r.status === 200 && Number(r.body.status?.readyReplicas ?? 0) >= 1;
  });
}

/** The default StorageClass of a cluster with a real node (static volumes, see createLocalVolumes). */
export const REAL_NODE_STORAGE_CLASS = 'real-node-local';
const LOCAL_VOLUMES = 24;

/**
 * The default StorageClass of a cluster with a real node: pre-made volumes in DIR/node/volumes,
 * each a directory anyone may write. kube-controller-manager's host-path provisioner makes its
 * directories root's with mode 0750, and the kubelet applies no fsGroup to a hostPath volume, so
 * a pod running as a service's uid (MariaDB as 999) could not write its own data there. A real
 * cluster's storage honours fsGroup; these directories stand in for it.
 */
async function createLocalVolumes(client: KubeClient, node: RealNodeState): Promise<void> {
  await client.create('/apis/storage.k8s.io/v1/storageclasses', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: REAL_NODE_STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: 'kubernetes.io/no-provisioner',
    reclaimPolicy: 'Retain',
    volumeBindingMode: 'Immediate',
  });
  for (let i = 0; i < LOCAL_VOLUMES; i++) {
    const path = join(node.dir, 'volumes', `pv-${i}`);
    mkdirSync(path, { recursive: true });
    chmodSync(path, 0o777);
    await client.create('/api/v1/persistentvolumes', {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: `${REAL_NODE_STORAGE_CLASS}-${i}` },
      spec: {
        capacity: { storage: '20Gi' },
        accessModes: ['ReadWriteOnce'],
        storageClassName: REAL_NODE_STORAGE_CLASS,
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path, type: 'Directory' },
      },
    });
  }
}

/** After the kubelet and kube-proxy stopped: every process of the node (containerd, shims, pods) ended, then the host put back. */
export async function cleanUpRealNode(node: RealNodeState): Promise<string[]> {
  // Tasks ended through containerd let their shims exit cleanly (they remove their sockets in
  // /run/containerd/s); whatever is left is killed through its cgroup by restoreHost.
  if (succeeds('ctr', ['--address', node.socket, 'version'])) {
    const ctr = ['--address', node.socket, '-n', 'k8s.io', 'tasks'];
    const ids = outputOf('ctr', [...ctr, 'ls', '-q'])
      .split('\n')
      .filter(Boolean);
    for (const id of ids) succeeds('ctr', [...ctr, 'kill', '-s', 'SIGKILL', id]);
    await waitFor(
      "the node's tasks to stop",
      async () => outputOf('ctr', [...ctr, 'ls', '-q']).trim() === '' || undefined,
      {
        timeoutMs: 10_000,
      },
    ).catch(() => undefined);
    for (const id of ids) succeeds('ctr', [...ctr, 'delete', id]);
  }
  return restoreHost(node);
}

/**
 * Kills what is left in the node's cgroup (containerd, shims, containers), unmounts everything
 * under its directory, writes back the sysctls and deletes its network namespace. Synchronous:
 * the exit hook of a test that dies runs it. Returns what could not be undone.
 */
export function restoreHost(node: RealNodeState): string[] {
  return [
    ...killCgroup(node.cgroup),
    ...unmountUnder(node.dir),
    ...restoreSysctls(node.sysctls),
    ...deleteNodeNetwork(node.net),
  ];
}

// ---------------------------------------------------------------------------------------------
// configuration files

function containerdConfig(node: RealNodeState, pauseImage: string): string {
  const d = node.dir;
  return `version = 2
root = ${q(join(d, 'containerd', 'root'))}
state = ${q(join(d, 'containerd', 'state'))}
[grpc]
  address = ${q(node.socket)}
[ttrpc]
  address = ${q(`${node.socket}.ttrpc`)}
[plugins."io.containerd.internal.v1.opt"]
  path = ${q(join(d, 'containerd', 'opt'))}
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = ${q(pauseImage)}
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = ${q(join(d, 'containerd', 'hosts'))}
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = ${q(join(d, 'cni'))}
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = ${q(join(d, 'runc'))}
`;
}

function cniConfig(node: RealNodeState): string {
  const { net } = node;
  return `${JSON.stringify(
    {
      cniVersion: '1.0.0',
      name: 'osk-node',
      plugins: [
        {
          type: 'bridge',
          bridge: net.bridge,
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: net.podCIDR }]],
            routes: [{ dst: '0.0.0.0/0' }],
            dataDir: join(node.dir, 'cni-ipam'),
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

function kubeletConfig(node: RealNodeState, pki: string): string {
  return `${JSON.stringify(
    {
      apiVersion: 'kubelet.config.k8s.io/v1beta1',
      kind: 'KubeletConfiguration',
      address: node.net.nodeIP,
      readOnlyPort: 0,
      healthzBindAddress: '127.0.0.1',
      // The apiserver has no client certificate for the kubelet: logs and exec come anonymously.
      // Only the apiserver (and the host) can reach the node's address.
      authentication: {
        anonymous: { enabled: true },
        webhook: { enabled: false },
        x509: { clientCAFile: join(pki, 'ca.crt') },
      },
      authorization: { mode: 'AlwaysAllow' },
      cgroupDriver: 'cgroupfs',
      cgroupRoot: `/${node.cgroup}`,
      failCgroupV1: false,
      failSwapOn: false,
      containerRuntimeEndpoint: `unix://${node.socket}`,
      clusterDNS: [CLUSTER_DNS_IP],
      clusterDomain: 'cluster.local',
      resolvConf: join(node.dir, 'resolv.conf'),
      podLogsDir: join(node.dir, 'pod-logs'),
      serializeImagePulls: false,
      // The node's own images (pause, CoreDNS, busybox) are imported, not pulled: never collect them.
      imageGCHighThresholdPercent: 100,
      imageGCLowThresholdPercent: 99,
      evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '1%', 'imagefs.available': '1%' },
      maxPods: 110,
    },
    null,
    2,
  )}\n`;
}

function kubeProxyConfig(node: RealNodeState): string {
  return `${JSON.stringify(
    {
      apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
      kind: 'KubeProxyConfiguration',
      clientConnection: { kubeconfig: join(node.dir, 'kube-proxy.kubeconfig') },
      mode: 'iptables',
      hostnameOverride: node.name,
      bindAddress: node.net.nodeIP,
      healthzBindAddress: '127.0.0.1:10256',
      metricsBindAddress: '127.0.0.1:10249',
      clusterCIDR: node.net.podCIDR,
      nodePortAddresses: [`${node.net.nodeIP}/32`],
      // 0: leave the host's conntrack table size and timeouts as they are.
      conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
      iptables: { syncPeriod: '10s', minSyncPeriod: '0s' },
    },
    null,
    2,
  )}\n`;
}

/** The node reaches the apiserver at the veth's host end; the serving certificate names localhost. */
export function writeNodeKubeconfig(path: string, server: string, pki: string, user: string): void {
  const b64 = (f: string): string => readFileSync(join(pki, f)).toString('base64');
  writeFileSync(
    path,
    `${JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [
        {
          name: 'osk-test',
          cluster: { server, 'tls-server-name': 'localhost', 'certificate-authority-data': b64('ca.crt') },
        },
      ],
      users: [
        { name: user, user: { 'client-certificate-data': b64(`${user}.crt`), 'client-key-data': b64(`${user}.key`) } },
      ],
      contexts: [{ name: 'osk-test', context: { cluster: 'osk-test', user } }],
      'current-context': 'osk-test',
    })}\n`,
    { mode: 0o600 },
  );
}

/** A TOML basic string. */
function q(s: string): string {
  return JSON.stringify(s);
}
