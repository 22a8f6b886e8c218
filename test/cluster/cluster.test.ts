// The local control plane really works: the scheduler places pods, the controller-manager runs
// Deployments, Jobs and DaemonSets, and kwok plays the kubelet of the fake nodes.
//
// The first run on a machine compiles Kubernetes (see test/cluster/build.ts; tens of minutes on
// 2 cores); later runs reuse the cached build. OSK_SKIP_CLUSTER_TESTS=1 skips this file.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request as httpsRequest } from 'node:https';
import { test } from 'node:test';
import { goCommand } from './build.js';
import {
  COMPUTE_LABEL,
  CONTROL_PLANE_LABEL,
  GPU_LABEL,
  GPU_RESOURCE,
  KWOK_ANNOTATION,
  isNodeReady,
  isOurProcess,
  readState,
  startCluster,
  stopCluster,
  type Cluster,
} from './control-plane.js';
import { applyAddons } from './workload.js';
import { clusterAddons } from '../../src/plan/cluster-addons.js';
import { parseClusterFile } from '../../src/spec/load-cluster.js';
import { adminGroup, signClientCertificate } from '../../src/targets/cluster/kubeconfig.js';
import { waitFor, type KubeObject } from './kube.js';
import { DEFAULT_STORAGE_CLASS, HOSTPATH_PROVISIONER } from './storage.js';

function goneOrZombie(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function skipReason(): string | undefined {
  if (process.env.OSK_SKIP_CLUSTER_TESTS) return 'OSK_SKIP_CLUSTER_TESTS is set';
  try {
    goCommand();
  } catch (e) {
    return String(e);
  }
  return undefined;
}

const NS = 'default';
const podTemplate = (app: string, extra: Record<string, unknown> = {}) => ({
  metadata: { labels: { app } },
  spec: { containers: [{ name: 'c', image: 'registry.invalid/fake:1' }], ...extra },
});

type Pod = KubeObject & {
  spec: { nodeName?: string };
  status: { phase?: string; conditions?: { type: string; status: string }[] };
};
const podReady = (p: Pod): boolean =>
  p.status?.phase === 'Running' && !!p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

// 5 nodes, not 3: with 3 all are control plane (min(3, N)), and the DaemonSet-on-compute check
// would have nothing to count. 5 = 3 control plane + 2 compute, one of them with GPUs.
const NODES = 5;

test('local control plane: etcd + kube-apiserver + controller-manager + scheduler + kwok', {
  skip: skipReason(),
  timeout: 80 * 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'osk-cluster-test-'));
  const started = Date.now();
  let cluster: Cluster | undefined;
  t.after(async () => {
    await cluster?.stop({ graceMs: 5000 });
    rmSync(dir, { recursive: true, force: true });
  });
  cluster = await startCluster({ nodes: NODES, dir, stopOnExit: true, log: (l) => t.diagnostic(l) });
  const startSeconds = (Date.now() - started) / 1000;
  const build = cluster.timings.build ?? 0;
  console.log(
    `# cluster start: ${startSeconds.toFixed(1)}s, build ${build.toFixed(1)}s, start without build ${(startSeconds - build).toFixed(1)}s`,
  );
  const k = cluster.client;

  await t.test('nodes are Ready, kwok-managed and labelled by role', async () => {
    const nodes = await k.list('/api/v1/nodes');
    assert.equal(nodes.length, NODES);
    const byName = new Map(nodes.map((n) => [n.metadata.name, n]));
    for (const name of ['cp-1', 'cp-2', 'cp-3']) {
      const n = byName.get(name);
      assert.ok(n, name);
      assert.equal(n.metadata.labels?.[CONTROL_PLANE_LABEL], 'enabled');
      assert.equal(n.metadata.labels?.[COMPUTE_LABEL], undefined);
    }
    for (const name of ['compute-1', 'compute-2']) {
      assert.equal(byName.get(name)?.metadata.labels?.[COMPUTE_LABEL], 'enabled', name);
    }
    assert.equal(byName.get('compute-1')?.metadata.labels?.[GPU_LABEL], undefined);
    assert.equal(byName.get('compute-2')?.metadata.labels?.[GPU_LABEL], 'true');
    const alloc = byName.get('compute-2')?.status?.allocatable as Record<string, string>;
    assert.equal(alloc[GPU_RESOURCE], '4');
    for (const n of nodes) {
      assert.ok(isNodeReady(n), `${n.metadata.name} Ready`);
      assert.equal(n.metadata.annotations?.[KWOK_ANNOTATION], 'fake');
      assert.ok((n.status?.allocatable as Record<string, string> | undefined)?.cpu, 'allocatable cpu');
    }
  });

  await t.test("a Deployment's pods are scheduled, Running and Ready", async () => {
    await k.create(`/apis/apps/v1/namespaces/${NS}/deployments`, {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web' },
      spec: { replicas: 3, selector: { matchLabels: { app: 'web' } }, template: podTemplate('web') },
    });
    const dep = await waitFor(
      'Deployment web ready',
      async () => {
        const d = await k.get(`/apis/apps/v1/namespaces/${NS}/deployments/web`);
        return d.status?.readyReplicas === 3 && d.status?.availableReplicas === 3 ? d : undefined;
      },
      { timeoutMs: 90_000 },
    );
    assert.equal(dep.status?.replicas, 3);
    const pods = await k.list<Pod>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dweb`);
    assert.equal(pods.length, 3);
    for (const p of pods) {
      assert.ok(p.spec.nodeName, 'bound by the scheduler');
      assert.ok(podReady(p), `${p.metadata.name} Running and Ready`);
    }
  });

  await t.test('a Job completes', async () => {
    await k.create(`/apis/batch/v1/namespaces/${NS}/jobs`, {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'once' },
      spec: { backoffLimit: 0, template: podTemplate('once', { restartPolicy: 'Never' }) },
    });
    const job = await waitFor(
      'Job once Complete',
      async () => {
        const j = await k.get(`/apis/batch/v1/namespaces/${NS}/jobs/once`);
        const conds = (j.status?.conditions ?? []) as { type: string; status: string }[];
        if (conds.some((c) => c.type === 'Failed' && c.status === 'True'))
          throw new Error(`Job failed: ${JSON.stringify(j.status)}`);
        return conds.some((c) => c.type === 'Complete' && c.status === 'True') ? j : undefined;
      },
      { timeoutMs: 90_000 },
    );
    assert.equal(job.status?.succeeded, 1);
  });

  await t.test('a DaemonSet on compute nodes gets exactly one pod per compute node', async () => {
    await k.create(`/apis/apps/v1/namespaces/${NS}/daemonsets`, {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent' },
      spec: {
        selector: { matchLabels: { app: 'agent' } },
        template: podTemplate('agent', { nodeSelector: { [COMPUTE_LABEL]: 'enabled' } }),
      },
    });
    await waitFor(
      'DaemonSet agent ready',
      async () => {
        const d = await k.get(`/apis/apps/v1/namespaces/${NS}/daemonsets/agent`);
        return d.status?.desiredNumberScheduled === 2 && d.status?.numberReady === 2;
      },
      { timeoutMs: 90_000 },
    );
    const pods = await k.list<Pod>(`/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dagent`);
    assert.deepEqual(pods.map((p) => p.spec.nodeName).sort(), ['compute-1', 'compute-2']);
    assert.ok(pods.every(podReady));
  });

  await t.test('a pod asking for a GPU lands on the GPU node', async () => {
    await k.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'gpu' },
      spec: {
        containers: [{ name: 'c', image: 'registry.invalid/fake:1', resources: { limits: { [GPU_RESOURCE]: '1' } } }],
      },
    });
    const pod = await waitFor('pod gpu Ready', async () => {
      const p = await k.get<Pod>(`/api/v1/namespaces/${NS}/pods/gpu`);
      return podReady(p) ? p : undefined;
    });
    assert.equal(pod.spec.nodeName, 'compute-2');
  });

  type Claim = KubeObject & { spec: { storageClassName?: string; volumeName?: string }; status?: { phase?: string } };
  type Volume = KubeObject & { spec: { hostPath?: { path: string }; persistentVolumeReclaimPolicy?: string } };
  const claim = (name: string) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name },
    // No storageClassName, as osk renders claims when the cloud file names no class.
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
  });
  const boundVolume = async (name: string): Promise<{ claim: Claim; volume: Volume; path: string }> => {
    const c = await waitFor(
      `claim ${name} Bound`,
      async () => {
        const got = await k.get<Claim>(`/api/v1/namespaces/${NS}/persistentvolumeclaims/${name}`);
        return got.status?.phase === 'Bound' ? got : undefined;
      },
      { timeoutMs: 90_000 },
    );
    const volume = await k.get<Volume>(`/api/v1/persistentvolumes/${c.spec.volumeName}`);
    return { claim: c, volume, path: volume.spec.hostPath?.path ?? '' };
  };
  const provisioned: string[] = [];

  await t.test('a claim with no storageClassName binds to a volume the default StorageClass provisions', async () => {
    const sc = await k.get(`/apis/storage.k8s.io/v1/storageclasses/${DEFAULT_STORAGE_CLASS}`);
    assert.equal(sc.metadata.annotations?.['storageclass.kubernetes.io/is-default-class'], 'true');
    assert.equal(sc.provisioner, HOSTPATH_PROVISIONER);
    await k.create(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, claim('data'));
    const { claim: c, volume, path } = await boundVolume('data');
    assert.equal(c.spec.storageClassName, DEFAULT_STORAGE_CLASS);
    assert.equal(volume.metadata.annotations?.['pv.kubernetes.io/provisioned-by'], HOSTPATH_PROVISIONER);
    assert.match(path, /^\/tmp\/hostpath_pv\/[0-9a-f-]{36}$/);
    assert.ok(existsSync(path), `${path} created by the provisioner`);
    provisioned.push(path);

    // A pod that mounts the claim is scheduled and becomes Ready (what a StatefulSet's pod needs).
    await k.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'with-claim' },
      spec: {
        containers: [
          { name: 'c', image: 'registry.invalid/fake:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] },
        ],
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
      },
    });
    await waitFor(
      'pod with-claim Ready',
      async () => podReady(await k.get<Pod>(`/api/v1/namespaces/${NS}/pods/with-claim`)),
      { timeoutMs: 90_000 },
    );
  });

  await t.test('deleting a provisioned claim deletes its volume and directory', async () => {
    await k.create(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, claim('scratch'));
    const { volume, path } = await boundVolume('scratch');
    assert.equal(volume.spec.persistentVolumeReclaimPolicy, 'Delete');
    assert.ok(existsSync(path));
    await k.delete(`/api/v1/namespaces/${NS}/persistentvolumeclaims/scratch`);
    await waitFor(`${path} removed`, async () => !existsSync(path), { timeoutMs: 90_000 });
    await waitFor(
      `PersistentVolume ${volume.metadata.name} deleted`,
      async () => (await k.request('GET', `/api/v1/persistentvolumes/${volume.metadata.name}`)).status === 404,
      { timeoutMs: 90_000 },
    );
  });

  await t.test('the per-pod annotation delays readiness', async () => {
    const t0 = Date.now();
    await k.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'slow', annotations: { 'pod-ready.stage.kwok.x-k8s.io/delay': '3s' } },
      spec: { containers: [{ name: 'c', image: 'registry.invalid/fake:1' }] },
    });
    await waitFor('pod slow Ready', async () => podReady(await k.get<Pod>(`/api/v1/namespaces/${NS}/pods/slow`)), {
      timeoutMs: 60_000,
    });
    const ms = Date.now() - t0;
    assert.ok(ms >= 3000, `ready after ${ms} ms, expected >= 3000`);
  });

  await t.test(
    "osk cluster's add-ons are accepted by the API server (strict field validation); the controllers' pods are placed",
    async () => {
      const file = parseClusterFile(
        'apiVersion: osk.dev/v1alpha1\nkind: KubernetesCluster\nmetadata: {name: addons}\nspec:\n  image: i\n  controlPlane: {flavor: f}\n  workers: {flavor: f}\n  storageClasses: [{name: cinder-ssd, volumeType: ssd}]\n',
      );
      const objects = clusterAddons(file, {
        authUrl: 'http://keystone.example:5000/v3',
        region: 'RegionOne',
        applicationCredential: { id: 'id', secret: 'secret' },
        networkId: 'n',
        subnetId: 's',
        floatingNetworkId: 'f',
        loadBalancerService: true,
        caCert: 'PEM',
      });
      await applyAddons(k, objects as unknown as KubeObject[]);
      // The node plugin runs on every node (it tolerates every taint); the controller has its one replica.
      const pods = await waitFor(
        'the Cinder CSI pods',
        async () => {
          const all = await k.list<Pod>('/api/v1/namespaces/kube-system/pods');
          const node = all.filter((p) => p.metadata.labels?.app === 'csi-cinder-nodeplugin' && p.spec.nodeName);
          const ctl = all.filter((p) => p.metadata.labels?.app === 'csi-cinder-controllerplugin' && p.spec.nodeName);
          return node.length === NODES && ctl.length === 1 ? { node, ctl } : undefined;
        },
        { timeoutMs: 60_000 },
      );
      assert.equal(new Set(pods.node.map((p) => p.spec.nodeName)).size, NODES);
    },
  );

  await t.test(
    "a client certificate osk cluster kubeconfig signs with a cluster's CA is accepted by kube-apiserver as its user in kubeadm's admin group",
    async () => {
      // The test control plane's own CA stands for the cluster CA osk keeps (kubeadm init uses it).
      const ca = {
        cert: readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8'),
        key: readFileSync(join(dir, 'pki', 'ca.key'), 'utf8'),
      };
      const client = await signClientCertificate(ca, 'alice@example.com', adminGroup('v1.36.3'), 1);
      const call = (method: string, path: string, body?: object) =>
        new Promise<{ status: number; body: any }>((resolve, reject) => {
          const req = httpsRequest(
            new URL(path, cluster!.server),
            {
              method,
              ca: ca.cert,
              cert: client.cert,
              key: client.key,
              headers: { 'content-type': 'application/json' },
            },
            (res) => {
              let text = '';
              res.on('data', (d) => (text += d));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || '{}') }));
            },
          );
          req.on('error', reject);
          req.end(body ? JSON.stringify(body) : undefined);
        });
      const review = await call('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'SelfSubjectReview',
      });
      assert.equal(review.status, 201, JSON.stringify(review.body));
      assert.equal(review.body.status.userInfo.username, 'alice@example.com');
      assert.ok(review.body.status.userInfo.groups.includes('kubeadm:cluster-admins'));
      assert.equal((await call('GET', '/api/v1/namespaces')).status, 403, 'no rights before the binding');
      // kubeadm init binds that group to cluster-admin; the test control plane is no kubeadm cluster.
      await k.create('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRoleBinding',
        metadata: { name: 'kubeadm:cluster-admins' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'kubeadm:cluster-admins' }],
      });
      const listed = await waitFor(
        'namespaces listed as alice',
        async () => {
          const r = await call('GET', '/api/v1/namespaces');
          return r.status === 200 ? r : undefined;
        },
        { timeoutMs: 30_000 },
      );
      assert.ok(listed.body.items.length > 0);
    },
  );

  await t.test('stop ends every recorded process', async () => {
    assert.ok(cluster);
    const procs = cluster.state.processes;
    assert.deepEqual(procs.map((p) => p.name).sort(), [
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler',
      'kwok',
    ]);
    // --keep (cluster:down --keep) keeps the state and the volumes, and records their directories.
    const r = await cluster.stop({ graceMs: 10_000, keep: true });
    cluster = undefined;
    assert.equal(r.volumesProblem, undefined);
    assert.deepEqual(r.volumesRemoved, []);
    for (const path of provisioned) assert.ok(existsSync(path), `${path} kept`);
    assert.deepEqual(readState(dir)?.volumeDirs, provisioned);
    assert.equal(r.killed.length, 0, `needed SIGKILL: ${r.killed.join(', ')}`);
    assert.equal(r.terminated.length, 5);
    for (const p of procs) {
      assert.equal(isOurProcess(p), false, `${p.name} (pid ${p.pid}) still running`);
      // Gone, or a zombie that this sandbox's PID 1 has not reaped yet (it no longer runs).
      assert.ok(goneOrZombie(p.pid), `${p.name} pid ${p.pid} gone`);
    }

    // The claim "data" was still there: the down that removes the state removes its directory
    // (from the record, the apiserver being gone), and nothing else.
    const after = await stopCluster(dir);
    assert.equal(after.volumesProblem, undefined);
    assert.deepEqual(after.volumesRemoved, provisioned);
    for (const path of provisioned) assert.equal(existsSync(path), false, `${path} removed`);
    assert.equal(existsSync(join(dir, 'state.json')), false);
  });
});
