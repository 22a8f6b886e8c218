// The real node runs real containers: a pod serves HTTP, a Job reaches it through its Service
// by CoreDNS name, the apiserver reads a pod's log through the kubelet, a claim of the default
// StorageClass holds a file the host sees, pods reach the API server's Service, the cluster's
// registry answers, and stopping the cluster leaves the host as it was (network namespace,
// cgroups, mounts, sysctls, the registry's process and data). Pulls from the registry:
// test/kubernetes/registry.e2e.test.ts.
//
// Needs root and the packages of scripts/install-test-tools.sh; the first run on a machine also
// compiles the kubelet and CoreDNS (build.ts). OSK_SKIP_CLUSTER_TESTS=1 skips it.
import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { goCommand } from './build.js';
import { COMPUTE_LABEL, CONTROL_PLANE_LABEL, type Cluster, isOurProcess, startCluster } from './control-plane.js';
import { type KubeObject, waitFor } from './kube.js';
import { cgroupDirs, cgroupPids, mountsUnder, readSysctls } from './node-host.js';
import { REAL_NODE_NAME, realNodeUnsupported } from './real-node.js';
import { registryAnswers } from './registry.js';

function skipReason(): string | undefined {
  if (process.env.OSK_SKIP_CLUSTER_TESTS) return 'OSK_SKIP_CLUSTER_TESTS is set';
  try {
    goCommand();
  } catch (e) {
    return String(e);
  }
  return realNodeUnsupported();
}

const NS = 'real-node-test';

// Debian's busybox-static: its wget crashes with -T (a static glibc build), so `timeout` bounds it;
// its nc has no -z, so the probe of a port is a connect with nothing to send. kube-proxy's rules
// follow a new Service by a moment: retry.
const PROBE_SCRIPT = `
set -u
ns=$1
lookup() { nslookup "$1" | sed -n 's/^Address: *\\([0-9.]*\\)$/\\1/p' | tail -n 1; }
for i in $(seq 30); do
  web=$(lookup "web.$ns.svc.cluster.local")
  [ -n "$web" ] && timeout 5 wget -q -O /data/page "http://web.$ns.svc.cluster.local/" && break
  sleep 1
done
echo "web.$ns.svc.cluster.local is $web"
cat /data/page
api=$(lookup kubernetes.default.svc.cluster.local)
echo "kubernetes.default.svc.cluster.local is $api"
timeout 5 nc "$api" 443 </dev/null && echo api-reachable
`;
type Pod = KubeObject & { status: { phase?: string; podIP?: string } };

test('real node: containers run, Services and DNS answer, logs and volumes work, the host is put back', {
  skip: skipReason(),
  timeout: 90 * 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'osk-real-node-test-'));
  const sysctlsBefore = readSysctls();
  let cluster: Cluster | undefined;
  t.after(async () => {
    await cluster?.stop({ graceMs: 5000 });
    rmSync(dir, { recursive: true, force: true });
  });
  cluster = await startCluster({ nodes: 0, realNode: true, dir, stopOnExit: true, log: (l) => t.diagnostic(l) });
  const { client } = cluster;
  const node = cluster.state.realNode;
  assert.ok(node, 'the state records the real node');
  const registry = cluster.state.processes.find((p) => p.name === 'registry');
  assert.ok(registry && isOurProcess(registry), 'the registry runs as a recorded process');
  assert.ok(await registryAnswers(node.registry), `the registry answers at ${node.registry}`);

  const n = await client.get(`/api/v1/nodes/${REAL_NODE_NAME}`);
  assert.equal(n.metadata.labels?.[CONTROL_PLANE_LABEL], 'enabled');
  assert.equal(n.metadata.labels?.[COMPUTE_LABEL], 'enabled');
  const busybox = 'localhost/osk-test/busybox';
  const images = (n.status?.images ?? []) as { names: string[] }[];
  const busyboxRef = images.flatMap((i) => i.names).find((r) => r.startsWith(`${busybox}:`));
  assert.ok(busyboxRef, `the node reports the imported busybox image (has: ${JSON.stringify(images)})`);

  await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const container = (name: string, command: string[]) => ({
    name,
    image: busyboxRef,
    imagePullPolicy: 'Never',
    command,
  });

  // A web server whose page says where it runs, behind a Service.
  await client.create(`/api/v1/namespaces/${NS}/pods`, {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'web', labels: { app: 'web' } },
    spec: {
      containers: [
        {
          ...container('web', [
            'sh',
            '-c',
            'mkdir -p /www && echo "hello from $(hostname)" > /www/index.html && echo serving && exec httpd -f -p 8080 -h /www',
          ]),
          readinessProbe: { httpGet: { path: '/', port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  });
  await client.create(`/api/v1/namespaces/${NS}/services`, {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web' },
    spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
  });
  const web = await waitFor(
    'pod web Ready',
    async () => {
      const p = await client.get<Pod>(`/api/v1/namespaces/${NS}/pods/web`);
      const conds = (p.status as { conditions?: { type: string; status: string }[] }).conditions ?? [];
      return conds.some((c) => c.type === 'Ready' && c.status === 'True') ? p : undefined;
    },
    { timeoutMs: 120_000 },
  );
  assert.ok(
    web.status.podIP?.startsWith(node.net.podCIDR.split('.').slice(0, 3).join('.')),
    'the pod has an address of the node bridge',
  );

  // The apiserver reads the log through the kubelet (--kubelet-preferred-address-types).
  const log = await client.request<string>('GET', `/api/v1/namespaces/${NS}/pods/web/log`);
  assert.equal(log.status, 200, String(log.body));
  assert.match(String(log.body), /serving/);

  // A Job: the page through the Service by its DNS name, the API server's Service by TCP, and a
  // file on a claim of the default StorageClass.
  await client.create(`/api/v1/namespaces/${NS}/persistentvolumeclaims`, {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'data' },
    spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '10Mi' } } },
  });
  await client.create(`/apis/batch/v1/namespaces/${NS}/jobs`, {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'probe' },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          containers: [
            {
              ...container('probe', ['sh', '-c', PROBE_SCRIPT, 'probe', NS]),
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        },
      },
    },
  });
  const probeLog = async () => {
    const pods = await client.list<Pod>(`/api/v1/namespaces/${NS}/pods?labelSelector=job-name%3Dprobe`);
    return client.request<string>('GET', `/api/v1/namespaces/${NS}/pods/${pods[0]?.metadata.name}/log`);
  };
  await waitFor(
    'Job probe Complete',
    async () => {
      const j = await client.get(`/apis/batch/v1/namespaces/${NS}/jobs/probe`);
      const conds = (j.status?.conditions ?? []) as { type: string; status: string }[];
      if (conds.some((c) => c.type === 'Failed' && c.status === 'True')) {
        throw new Error(`Job probe failed; its log:\n${String((await probeLog()).body)}`);
      }
      return conds.some((c) => c.type === 'Complete' && c.status === 'True');
    },
    { timeoutMs: 180_000, fatal: (e) => String(e).includes('Job probe failed') },
  );
  const log2 = await probeLog();
  assert.match(String(log2.body), /hello from web/);
  assert.match(String(log2.body), /api-reachable/);
  const pvc = await client.get(`/api/v1/namespaces/${NS}/persistentvolumeclaims/data`);
  const pv = await client.get(`/api/v1/persistentvolumes/${String(pvc.spec?.volumeName)}`);
  const hostDir = (pv.spec?.hostPath as { path?: string } | undefined)?.path;
  assert.ok(hostDir, `the claim's volume is a host path (${JSON.stringify(pv.spec)})`);
  assert.match(readFileSync(join(hostDir, 'page'), 'utf8'), /hello from web/, 'the file the pod wrote is on the host');

  // Stop: nothing of the node is left on the host.
  const stopped = await cluster.stop({ graceMs: 5000 });
  cluster = undefined;
  assert.deepEqual(stopped.hostProblems, []);
  assert.equal(existsSync(`/run/netns/${node.net.netns}`), false, 'the network namespace is gone');
  assert.equal(existsSync(`/sys/class/net/${node.net.hostIf}`), false, 'the veth is gone');
  assert.deepEqual(cgroupPids(node.cgroup), [], 'no process is left in the node cgroup');
  assert.deepEqual(cgroupDirs(node.cgroup), [], 'the node cgroup is removed from every hierarchy');
  assert.deepEqual(mountsUnder(dir), [], 'nothing is mounted under the cluster directory');
  assert.deepEqual(readSysctls(), sysctlsBefore, 'the sysctls the kubelet changes are back');
  assert.equal(isOurProcess(registry), false, 'the registry is stopped');
  assert.equal(await registryAnswers(node.registry), false, 'nothing answers at the registry address');
  assert.equal(existsSync(join(dir, 'node')), false, "the node's directory (containerd, kubelet, volumes) is removed");
});
