// The workload side of `osk cluster` with the real controllers, against a real osk cloud: a
// cluster made by `osk cluster create`, the test control plane as that cluster's Kubernetes with
// kwok nodes registered as its kubelets would (named like the servers, tainted uninitialized),
// osk's rendered add-ons applied to it, and the real openstack-cloud-controller-manager,
// cinder-csi-plugin (controller) and csi-provisioner run on this host with the rendered
// arguments, the rendered cloud.conf (the cluster's application credential) and the tokens of
// the rendered ServiceAccounts (so the rendered RBAC is what they are allowed). Nova's fake driver
// boots no guest, so the nodes are kwok's; everything on the OpenStack side is real.
// test/allinone.e2e.test.ts runs it (the one place a cloud is up in CI); every process it starts
// is stopped by PID.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { OpenStackClient } from '../../src/openstack/index.js';
import { OCCM_SERVICE_ACCOUNT } from '../../src/plan/cluster-addons.js';
import { CINDER_CSI_DRIVER, CSI_CONTROLLER_SERVICE_ACCOUNT } from '../../src/plan/cluster-csi.js';
import { ensureCloudProviderOpenStack, ensureCsiAttacher, ensureCsiProvisioner } from './build.js';
import { startCluster } from './control-plane.js';
import { type KubeClient, type KubeObject, waitFor } from './kube.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

interface WorkloadOptions {
  /** runs osk with the environment of the cloud (OSK_STATE_DIR, OS_CLIENT_CONFIG_FILE) */
  osk: (args: string[], timeoutMs?: number) => Promise<Run>;
  /** clouds.yaml of the cloud */
  cloudsYaml: string;
  /** the cloud of clouds.yaml the cluster is made in (a user's: osk's demo cloud) */
  cloud: string;
  /** the cluster's name (its objects are osk-<name>-…) */
  name: string;
  /** scratch directory: cluster file, control plane, logs, cloud.conf, sockets */
  dir: string;
  log: (line: string) => void;
  /** called while the Service's load balancer is ACTIVE (the e2e test looks at its OVN row) */
  onLoadBalancer?: (lb: { id: string; vip: string; members: string[] }) => Promise<void>;
}

interface WorkloadResult {
  seconds: Record<string, number>;
  servers: { name: string; role: string; id: string; address: string }[];
  nodes: { name: string; providerID: string; internalIP: string; zone: string; instanceType: string }[];
  loadBalancer: {
    id: string;
    provider: string;
    provisioning: string;
    vip: string;
    ingress: string;
    members: string[];
    nodePort: number;
  };
  volume: { id: string; size: number; type: string; cluster: string; pvc: string };
  /** the volume attached to the worker's server (csi-attacher + the plugin), then detached */
  attachment: { serverId: string; device: string; detached: boolean };
  /** what the cluster's cloud still has after `osk cluster delete` (all empty) */
  leftover: Record<string, string[]>;
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr.slice(-4000)}`;

/** Creates osk's add-ons with strict field validation: the API server checks each object's every field. */
export async function applyAddons(client: KubeClient, objects: readonly KubeObject[]): Promise<void> {
  for (const obj of objects) await client.create(`${pathOf(obj)}?fieldValidation=Strict`, obj);
}

/** The objects' API paths (only the kinds osk's add-ons have). */
function pathOf(o: KubeObject): string {
  const ns = o.metadata.namespace;
  const kinds: Record<string, string> = {
    Secret: `/api/v1/namespaces/${ns}/secrets`,
    ServiceAccount: `/api/v1/namespaces/${ns}/serviceaccounts`,
    ClusterRole: '/apis/rbac.authorization.k8s.io/v1/clusterroles',
    ClusterRoleBinding: '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings',
    DaemonSet: `/apis/apps/v1/namespaces/${ns}/daemonsets`,
    Deployment: `/apis/apps/v1/namespaces/${ns}/deployments`,
    CSIDriver: '/apis/storage.k8s.io/v1/csidrivers',
    StorageClass: '/apis/storage.k8s.io/v1/storageclasses',
  };
  const p = kinds[String(o.kind)];
  assert.ok(p, `no API path for ${o.kind}`);
  return p;
}

/** A node as a kubelet with --cloud-provider=external registers it (kubeadm's labels and taints). */
function kubeletNode(name: string, role: 'control-plane' | 'worker'): KubeObject {
  const resources = { cpu: '2', memory: '4Gi', pods: '110' };
  const cp = role === 'control-plane';
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        ...(cp
          ? {
              'node-role.kubernetes.io/control-plane': '',
              'node.kubernetes.io/exclude-from-external-load-balancers': '',
            }
          : {}),
      },
      // The kubelet's own: kube-controller-manager attaches and detaches the node's volumes.
      annotations: {
        'kwok.x-k8s.io/node': 'fake',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
    },
    spec: {
      taints: [
        { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' },
        ...(cp ? [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }] : []),
      ],
    },
    status: { capacity: resources, allocatable: resources, addresses: [{ type: 'Hostname', address: name }] },
  };
}

/** A kubeconfig with a ServiceAccount's token: the controller gets exactly what its rendered role allows. */
async function serviceAccountKubeconfig(client: KubeClient, sa: string, file: string): Promise<string> {
  const tr = await client.create<{ status: { token: string } }>(
    `/api/v1/namespaces/kube-system/serviceaccounts/${sa}/token`,
    { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 7200 } },
  );
  const ca = Buffer.from(client.creds.ca).toString('base64');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'c', cluster: { server: client.creds.server, 'certificate-authority-data': ca } }],
      users: [{ name: sa, user: { token: tr.status.token } }],
      contexts: [{ name: 'c', context: { cluster: 'c', user: sa } }],
      'current-context': 'c',
    }),
    { mode: 0o600 },
  );
  return file;
}

/** The rendered container's arguments, without the command (args[0] is the binary's path in the image). */
function renderedArgs(objects: KubeObject[], kind: string, name: string, container: string): string[] {
  const o = objects.find((x) => x.kind === kind && x.metadata.name === name);
  assert.ok(o, `the add-ons have no ${kind}/${name}`);
  const spec = (o.spec as { template: { spec: { containers: { name: string; args: string[] }[] } } }).template.spec;
  const args = spec.containers.find((c) => c.name === container)?.args;
  assert.ok(args, `${kind}/${name} has no container ${container}`);
  return args[0]?.startsWith('/') ? args.slice(1) : args;
}

class ExitedError extends Error {}

class Processes {
  readonly started: { name: string; child: ChildProcess }[] = [];
  constructor(private readonly dir: string) {}
  start(name: string, binary: string, args: string[]): void {
    const out = openSync(join(this.dir, `${name}.log`), 'a');
    const child = spawn(binary, args, { stdio: ['ignore', out, out] });
    this.started.push({ name, child });
  }
  /** Throws (with the end of its log) when a started program has exited: waiting for it is pointless. */
  assertRunning(): void {
    for (const { name, child } of this.started)
      if (child.exitCode !== null || child.signalCode !== null)
        throw new ExitedError(
          `${name} exited (${child.exitCode ?? child.signalCode}):\n${readFileSync(join(this.dir, `${name}.log`), 'utf8').slice(-3000)}`,
        );
  }

  /** waitFor, failing at once when a started program has exited. */
  waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
    return waitFor(
      what,
      async () => {
        this.assertRunning();
        return check();
      },
      { timeoutMs, intervalMs: 1000, fatal: (e) => e instanceof ExitedError },
    );
  }

  /** TERM, then KILL after 10 s, each by the PID it was started with. */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.started.map(async ({ child }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await gone;
        clearTimeout(timer);
      }),
    );
  }
}

export async function workloadWithRealControllers(o: WorkloadOptions): Promise<WorkloadResult> {
  const seconds: Record<string, number> = {};
  let t = Date.now();
  const lap = (what: string) => {
    seconds[what] = (Date.now() - t) / 1000;
    o.log(`${what}: ${seconds[what]!.toFixed(1)} s`);
    t = Date.now();
  };
  mkdirSync(o.dir, { recursive: true });
  const cpo = await ensureCloudProviderOpenStack({ log: o.log });
  const provisioner = await ensureCsiProvisioner({ log: o.log });
  const attacher = await ensureCsiAttacher({ log: o.log });
  lap('binaries');

  const file = join(o.dir, 'cluster.yaml');
  writeFileSync(
    file,
    [
      'apiVersion: osk.dev/v1alpha1',
      'kind: KubernetesCluster',
      `metadata: {name: ${o.name}}`,
      'spec:',
      `  cloud: ${o.cloud}`,
      '  image: osk-test-raw',
      '  controlPlane: {flavor: m1.tiny, count: 1}',
      '  workers: {flavor: m1.tiny, count: 1}',
      '  network: {cidr: 10.9.0.0/24, mtu: 1442}',
      '  apiLoadBalancer: {enabled: true, provider: ovn}',
      '  storageClasses: [{name: standard, volumeType: local, default: true}]',
      '',
    ].join('\n'),
  );
  const created = await o.osk(['cluster', 'create', '-f', file, '-o', 'json'], 15 * 60_000);
  assert.equal(created.code, 0, show(created));
  const servers = (
    JSON.parse(created.stdout) as { servers: { name: string; role: string; id: string; address: string }[] }
  ).servers;
  lap('osk cluster create');
  const addons = await o.osk(['cluster', 'addons', '-f', file, '-o', 'json']);
  assert.equal(addons.code, 0, show(addons));
  const objects = (JSON.parse(addons.stdout) as { items: KubeObject[] }).items;

  const os = OpenStackClient.fromCloudsYaml({ cloud: o.cloud, env: { OS_CLIENT_CONFIG_FILE: o.cloudsYaml } });
  const cluster = await startCluster({ nodes: 1, dir: join(o.dir, 'k8s'), stopOnExit: true, log: o.log });
  const procs = new Processes(o.dir);
  let deleted: Run | undefined;
  try {
    const result = await drive(o, {
      objects,
      servers,
      os,
      client: cluster.client,
      procs,
      cpo,
      provisioner,
      attacher,
      lap,
    });
    await procs.stopAll();
    await cluster.stop();
    deleted = await o.osk(['cluster', 'delete', '-f', file, '--yes', '-o', 'json'], 15 * 60_000);
    assert.equal(deleted.code, 0, show(deleted));
    lap('osk cluster delete');
    return { seconds, servers, ...result, leftover: await leftovers(os, o.name) };
  } finally {
    await procs.stopAll();
    await cluster.stop().catch(() => undefined);
    // After a failure too: the cloud may be shared (a development cloud), leave nothing of the cluster.
    if (!deleted) await o.osk(['cluster', 'delete', '-f', file, '--yes'], 15 * 60_000);
    await os.close();
  }
}

/** What is left in the cloud of the cluster and of what its controllers made. */
async function leftovers(os: OpenStackClient, name: string): Promise<Record<string, string[]>> {
  const tag = `osk-cluster=${name}`;
  const lbs = await os.loadBalancer.loadBalancers.list();
  const volumes = await os.blockStorage.volumes.list();
  return {
    servers: (await os.compute.servers.list({ tags: tag })).map((s) => s.name),
    networks: (await os.network.networks.list({ tags: tag })).map((n) => n.name),
    loadBalancers: lbs
      .filter((l) => l.name.includes(`_${name}_`) || l.name.startsWith(`osk-${name}-`))
      .filter((l) => l.provisioning_status !== 'DELETED')
      .map((l) => l.name),
    volumes: volumes
      .filter((v) => v.metadata?.['cinder.csi.openstack.org/cluster'] === name)
      .map((v) => `${v.name} ${v.status}`),
    applicationCredentials: (await os.identity.applicationCredentials.find(`osk-${name}`)) ? [`osk-${name}`] : [],
  };
}

interface Drive {
  objects: KubeObject[];
  servers: { name: string; role: string; id: string; address: string }[];
  os: OpenStackClient;
  client: KubeClient;
  procs: Processes;
  cpo: { occm: string; cinderCsi: string };
  provisioner: { binary: string };
  attacher: { binary: string };
  lap: (what: string) => void;
}

type Node = KubeObject & {
  spec: { providerID?: string; taints?: { key: string }[] };
  status: { addresses?: { type: string; address: string }[] };
};

const UNINITIALIZED = 'node.cloudprovider.kubernetes.io/uninitialized';

async function drive(o: WorkloadOptions, d: Drive): Promise<Omit<WorkloadResult, 'seconds' | 'leftover' | 'servers'>> {
  const { client, objects } = d;
  // The test control plane's own kwok node is no server of the cluster: the cloud controller's
  // lifecycle controller would delete it, and the load balancer would have it as a member.
  await client.delete('/api/v1/nodes/cp-1');
  await applyAddons(client, objects);
  for (const s of d.servers) await client.create('/api/v1/nodes', kubeletNode(s.name, s.role as 'worker'));
  d.lap('add-ons applied, nodes registered');

  // cloud.conf as the pods get it: the Secret read back from the API server.
  const secret = await client.get<{ data: Record<string, string> }>(
    '/api/v1/namespaces/kube-system/secrets/cloud-config',
  );
  const conf = join(o.dir, 'cloud.conf');
  writeFileSync(conf, Buffer.from(secret.data['cloud.conf']!, 'base64'), { mode: 0o600 });
  const local = (args: string[]) => args.map((a) => (a.startsWith('--cloud-config=') ? `--cloud-config=${conf}` : a));

  const occmArgs = renderedArgs(
    objects,
    'DaemonSet',
    'openstack-cloud-controller-manager',
    'openstack-cloud-controller-manager',
  );
  d.procs.start('occm', d.cpo.occm, [
    ...local(occmArgs),
    `--kubeconfig=${await serviceAccountKubeconfig(client, OCCM_SERVICE_ACCOUNT, join(o.dir, 'occm.kubeconfig'))}`,
    '--authentication-skip-lookup',
    '--secure-port=0', // serve nothing: the host's ports are osk's
    '--leader-elect-retry-period=1s',
  ]);

  // Nodes: providerID, addresses, zone and instance type from Nova; the taint gone.
  const nodes = await d.procs.waitFor(
    'the cloud controller to initialise every node',
    async () => {
      const all = await client.list<Node>('/api/v1/nodes');
      const done = all.filter((n) => n.spec.providerID && !n.spec.taints?.some((x) => x.key === UNINITIALIZED));
      return done.length === d.servers.length && all.length === d.servers.length ? all : undefined;
    },
    180_000,
  );
  d.lap('nodes initialised by OCCM');
  const nodeInfo = nodes.map((n) => ({
    name: n.metadata.name,
    providerID: String(n.spec.providerID),
    internalIP: n.status.addresses?.find((a) => a.type === 'InternalIP')?.address ?? '',
    zone: n.metadata.labels?.['topology.kubernetes.io/zone'] ?? '',
    instanceType: n.metadata.labels?.['node.kubernetes.io/instance-type'] ?? '',
  }));

  const loadBalancer = await serviceLoadBalancer(o, d);
  const storage = await claimVolume(o, d, conf);
  return { nodes: nodeInfo, loadBalancer, ...storage };
}

/** A Service of type LoadBalancer: an Octavia load balancer (OVN), its ingress IP, and gone with the Service. */
async function serviceLoadBalancer(o: WorkloadOptions, d: Drive): Promise<WorkloadResult['loadBalancer']> {
  const { client, os } = d;
  await client.create('/api/v1/namespaces/default/services', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'default' },
    spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  });
  const svc = await d.procs.waitFor(
    'the Service to get its load balancer ingress',
    async () => {
      const s = await client.get<KubeObject & { status: { loadBalancer?: { ingress?: { ip: string }[] } } }>(
        '/api/v1/namespaces/default/services/web',
      );
      return s.status.loadBalancer?.ingress?.[0]?.ip ? s : undefined;
    },
    300_000,
  );
  d.lap('Service of type LoadBalancer has its ingress IP');
  const nodePort = (svc.spec as { ports: { nodePort: number }[] }).ports[0]!.nodePort;
  const lb = await os.loadBalancer.loadBalancers.find(`kube_service_${o.name}_default_web`);
  assert.ok(lb, 'OCCM named the load balancer kube_service_<cluster>_<namespace>_<service>');
  const pool = (await os.loadBalancer.pools.list({ loadbalancer_id: lb.id }))[0];
  assert.ok(pool, 'the load balancer has a pool');
  const members = (await os.loadBalancer.members(pool.id).list()).map((m) => `${m.address}:${m.protocol_port}`);
  const result = {
    id: lb.id,
    provider: lb.provider,
    provisioning: lb.provisioning_status,
    vip: lb.vip_address,
    ingress: svc.status?.loadBalancer
      ? String((svc.status.loadBalancer as { ingress: { ip: string }[] }).ingress[0]!.ip)
      : '',
    members,
    nodePort,
  };
  o.log(`load balancer: ${JSON.stringify(result)}`);
  await o.onLoadBalancer?.(result);

  await client.delete('/api/v1/namespaces/default/services/web');
  // OCCM's finalizer keeps the Service until the load balancer is deleted.
  await d.procs.waitFor(
    'the Service to be gone',
    async () => (await client.request('GET', '/api/v1/namespaces/default/services/web')).status === 404,
    300_000,
  );
  const after = await os.loadBalancer.loadBalancers.tryGet(lb.id);
  assert.ok(
    !after || after.provisioning_status === 'DELETED',
    `load balancer ${lb.id} is ${after?.provisioning_status}`,
  );
  d.lap('Service deleted, load balancer deleted');
  return result;
}

/** A claim of the cluster's StorageClass, Bound to a Cinder volume made by the real provisioner and plugin. */
async function claimVolume(
  o: WorkloadOptions,
  d: Drive,
  conf: string,
): Promise<Pick<WorkloadResult, 'volume' | 'attachment'>> {
  const { client, os } = d;
  const socket = join(o.dir, 'csi.sock');
  const plugin = renderedArgs(d.objects, 'Deployment', 'csi-cinder-controllerplugin', 'cinder-csi-plugin').map((a) =>
    a.startsWith('--endpoint=')
      ? `--endpoint=unix://${socket}`
      : a.startsWith('--cloud-config=')
        ? `--cloud-config=${conf}`
        : a,
  );
  // Both with the controller's ServiceAccount, as in its pod (the plugin reads the claim's
  // annotations: --pvc-annotations).
  const kc = await serviceAccountKubeconfig(client, CSI_CONTROLLER_SERVICE_ACCOUNT, join(o.dir, 'csi.kubeconfig'));
  d.procs.start('cinder-csi-plugin', d.cpo.cinderCsi, [...plugin, `--kubeconfig=${kc}`]);
  const prov = renderedArgs(d.objects, 'Deployment', 'csi-cinder-controllerplugin', 'csi-provisioner').map((a) =>
    a.startsWith('--csi-address=') ? `--csi-address=${socket}` : a,
  );
  d.procs.start('csi-provisioner', d.provisioner.binary, [
    ...prov,
    `--kubeconfig=${kc}`,
    '--leader-election-namespace=kube-system',
  ]);
  const att = renderedArgs(d.objects, 'Deployment', 'csi-cinder-controllerplugin', 'csi-attacher').map((a) =>
    a.startsWith('--csi-address=') ? `--csi-address=${socket}` : a,
  );
  d.procs.start('csi-attacher', d.attacher.binary, [
    ...att,
    `--kubeconfig=${kc}`,
    '--leader-election-namespace=kube-system',
  ]);

  // What the kubelet and the node plugin's registrar would record of a worker: its CSINode (the
  // node id is the Nova server's, as NodeGetInfo answers) and its zone label.
  const worker = d.servers.find((s) => s.role === 'worker')!;
  const zoneKey = 'topology.cinder.csi.openstack.org/zone';
  await client.mergePatch(`/api/v1/nodes/${worker.name}`, { metadata: { labels: { [zoneKey]: 'nova' } } });
  await client.create('/apis/storage.k8s.io/v1/csinodes', {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'CSINode',
    metadata: { name: worker.name },
    spec: { drivers: [{ name: CINDER_CSI_DRIVER, nodeID: worker.id, topologyKeys: [zoneKey] }] },
  });
  await client.create('/api/v1/namespaces/default/persistentvolumeclaims', {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data', namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  // WaitForFirstConsumer: the volume is made once a pod using it has a node.
  await client.create('/api/v1/namespaces/default/pods', {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'db', namespace: 'default' },
    spec: {
      nodeSelector: { 'kubernetes.io/hostname': worker.name },
      containers: [{ name: 'db', image: 'db', volumeMounts: [{ name: 'data', mountPath: '/data' }] }],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    },
  });
  const pvc = await d.procs.waitFor(
    'the claim to be Bound',
    async () => {
      const c = await client.get('/api/v1/namespaces/default/persistentvolumeclaims/data');
      return c.status?.phase === 'Bound' ? c : undefined;
    },
    180_000,
  );
  d.lap('claim Bound (csi-provisioner + cinder-csi-plugin)');
  const pv = await client.get(`/api/v1/persistentvolumes/${(pvc.spec as { volumeName: string }).volumeName}`);
  const volumeId = String((pv.spec as { csi: { volumeHandle: string } }).csi.volumeHandle);
  const vol = await os.blockStorage.volumes.get(volumeId);
  const volume = {
    id: vol.id,
    size: vol.size,
    type: String(vol.volume_type),
    cluster: vol.metadata['cinder.csi.openstack.org/cluster'] ?? '',
    pvc: vol.metadata['csi.storage.k8s.io/pvc/name'] ?? '',
  };
  o.log(`volume: ${JSON.stringify(volume)}`);
  const attachment = await attachDetach(d, pv.metadata.name, volumeId, worker.id);
  await client.delete('/api/v1/namespaces/default/persistentvolumeclaims/data');
  await d.procs.waitFor(
    'the Cinder volume to be deleted with the claim',
    async () => !(await os.blockStorage.volumes.list()).some((v) => v.id === volumeId),
    180_000,
  );
  d.lap('claim deleted, Cinder volume deleted');
  return { volume, attachment };
}

type Attachment = KubeObject & {
  spec: { source: { persistentVolumeName?: string }; nodeName: string };
  status?: { attached?: boolean; attachmentMetadata?: Record<string, string> };
};

/**
 * The pod on the worker: kube-controller-manager's attach-detach controller makes the
 * VolumeAttachment, csi-attacher has the plugin attach the volume to the worker's Nova server;
 * the pod deleted, it is detached again.
 */
async function attachDetach(
  d: Drive,
  pvName: string,
  volumeId: string,
  serverId: string,
): Promise<WorkloadResult['attachment']> {
  const { client, os } = d;
  const attachments = async () =>
    (await client.list<Attachment>('/apis/storage.k8s.io/v1/volumeattachments')).filter(
      (a) => a.spec.source.persistentVolumeName === pvName,
    );
  const va = await d.procs.waitFor(
    "the volume attached to the worker's server",
    async () => (await attachments()).find((a) => a.status?.attached),
    180_000,
  );
  const vol = await os.blockStorage.volumes.get(volumeId);
  assert.equal(vol.status, 'in-use');
  assert.deepEqual(
    vol.attachments.map((a) => a.server_id),
    [serverId],
  );
  d.lap('volume attached to the server (csi-attacher + cinder-csi-plugin)');
  await client.delete('/api/v1/namespaces/default/pods/db?gracePeriodSeconds=0');
  await d.procs.waitFor(
    'the volume detached',
    async () =>
      (await attachments()).length === 0 && (await os.blockStorage.volumes.get(volumeId)).status === 'available',
    180_000,
  );
  d.lap('pod deleted, volume detached');
  return { serverId, device: va.status?.attachmentMetadata?.DevicePath ?? '', detached: true };
}
