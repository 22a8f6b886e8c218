/**
 * What the Kubernetes target must never get wrong, against a real kube-apiserver, controllers
 * and scheduler with kwok nodes (3 control plane, 3 compute, 2 GPU compute): claims are data
 * (kept by destroy and prune unless asked, and diff shows every deletion), the `ha` example puts
 * the compute agents on every compute node, and a workload that cannot be placed is not ready
 * and says which nodes it needs. OSK_SKIP_CLUSTER_TESTS=1 skips this file.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KubeApi } from '../../src/targets/kubernetes/kube-api.js';
import { startCluster, type Cluster } from '../cluster/control-plane.js';
import { cloudYaml, clusterSkipReason, provisionVolumes } from './support.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OSK = join(ROOT, 'bin', 'osk.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('osk on Kubernetes keeps data and schedules what it reports ready', {
  skip: clusterSkipReason(),
  concurrency: false,
}, () => {
  let cluster: Cluster;
  let dir = '';
  let api: KubeApi;
  const osk = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [OSK, ...args], {
        env: { ...process.env, KUBECONFIG: cluster.kubeconfig, OSK_STATE_DIR: join(dir, 'state'), CI: 'true' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code, signal) => resolve({ code: code ?? (signal ? 137 : 1), stdout, stderr }));
    });
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const claims = async (ns: string) =>
    (
      await api.request<{ items: { metadata: { name: string; deletionTimestamp?: string } }[] }>(
        'GET',
        `/api/v1/namespaces/${ns}/persistentvolumeclaims`,
        { ok: [404] },
      )
    ).body.items
      ?.filter((c) => !c.metadata.deletionTimestamp)
      .map((c) => c.metadata.name)
      .sort() ?? [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osk-safety-'));
    cluster = await startCluster({
      nodes: 8,
      gpuNodes: 2,
      dir: join(dir, 'cluster'),
      stopOnExit: true,
      podReadyDelayMs: 200,
      jobCompleteDelayMs: 300,
      log: () => undefined,
    });
    api = KubeApi.load({ kubeconfig: cluster.kubeconfig });
    // `standard` is the default class (the ha example names no class for most claims); its
    // MariaDB asks for fast-ssd.
    await provisionVolumes(api, 40, 'standard', { isDefault: true });
    await provisionVolumes(api, 4, 'fast-ssd');
  });

  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('claims are data: prune and destroy keep every claim unless asked, and diff lists every deletion', {
    timeout: 900_000,
  }, async () => {
    const withBackup = file('kc.yaml', cloudYaml('kc', '  backup:\n    schedule: "0 2 * * *"\n'));
    const first = await osk(['apply', '-f', withBackup]);
    assert.equal(first.code, 0, first.stderr.slice(-4000));
    const all = await claims('kc');
    // Rendered claims (Glance's images, the backup claim) and StatefulSet template claims.
    for (const c of ['glance-api-images', 'osk-backups', 'data-mariadb-0'])
      assert.ok(all.includes(c), `claim ${c} in ${all.join(', ')}`);

    // Backup switched off: diff shows what apply would delete, the claim as kept.
    const without = file('kc.yaml', cloudYaml('kc', '  backup:\n    enabled: false\n'));
    const d = await osk(['diff', '-f', without]);
    assert.equal(d.code, 1, d.stdout + d.stderr);
    assert.match(d.stdout, /^- CronJob kc\/\S+$/m);
    assert.match(d.stdout, /^= PersistentVolumeClaim kc\/osk-backups \(kept \(use --prune-volumes\)\)$/m);
    assert.match(d.stdout, /\d+ objects would change \(\d+ deleted\); 1 claim kept\n$/);
    const dj = JSON.parse((await osk(['diff', '-f', without, '-o', 'json'])).stdout) as {
      object: string;
      change: string;
      note?: string;
    }[];
    assert.ok(dj.some((e) => e.change === 'delete' && e.object.startsWith('CronJob kc/')));
    assert.deepEqual(
      dj.filter((e) => e.change === 'keep'),
      [
        {
          object: 'PersistentVolumeClaim kc/osk-backups',
          change: 'keep',
          paths: [],
          note: 'kept (use --prune-volumes)',
        },
      ],
    );
    const dy = await osk(['diff', '-f', without, '-o', 'yaml']);
    assert.match(dy.stdout, /object: PersistentVolumeClaim kc\/osk-backups\n\s+change: keep/);

    // Apply prunes the CronJobs and keeps the claim, saying which and how to delete it.
    const a = await osk(['apply', '-f', without]);
    assert.equal(a.code, 0, a.stderr.slice(-4000));
    assert.match(a.stderr, /pruned \d+ objects no longer in the cloud file: .*CronJob kc\//);
    assert.match(
      a.stderr,
      /kept 1 PersistentVolumeClaim no longer in the cloud file \(data\): PersistentVolumeClaim kc\/osk-backups; to delete it: osk apply --prune-volumes, or kubectl delete pvc -n kc osk-backups/,
    );
    assert.match(a.stdout, /, 1 claims kept \(--prune-volumes deletes them\)/);
    assert.deepEqual(await claims('kc'), all);
    // Nothing left to change but the kept claim: diff exits 0 and still lists it.
    const again = await osk(['diff', '-f', without]);
    assert.equal(again.code, 0, again.stdout);
    assert.equal(
      again.stdout,
      '= PersistentVolumeClaim kc/osk-backups (kept (use --prune-volumes))\nno changes; 1 claim kept\n',
    );
    // A second apply still remembers and reports it.
    assert.match((await osk(['apply', '-f', without])).stderr, /kept 1 PersistentVolumeClaim .*osk-backups/);
    // Asked for, it goes (and diff says so first).
    const dv = await osk(['diff', '-f', without, '--prune-volumes']);
    assert.equal(dv.code, 1);
    assert.match(dv.stdout, /^- PersistentVolumeClaim kc\/osk-backups \(data: deleted because of --prune-volumes\)$/m);
    const pv = await osk(['apply', '-f', without, '--prune-volumes']);
    assert.equal(pv.code, 0, pv.stderr.slice(-3000));
    assert.match(pv.stderr, /pruned 1 objects no longer in the cloud file: PersistentVolumeClaim kc\/osk-backups/);
    const kept = all.filter((c) => c !== 'osk-backups');
    assert.deepEqual(await claims('kc'), kept);

    // destroy keeps every claim, rendered or from a template, and names them.
    const x = await osk(['destroy', '-f', without, '--yes']);
    assert.equal(x.code, 0, x.stderr);
    assert.deepEqual(await claims('kc'), kept);
    assert.match(
      x.stderr,
      new RegExp(
        `kept namespace kc and its ${kept.length} PersistentVolumeClaims \\(data\\): ${kept.join(', ')}; osk destroy --purge deletes them`,
      ),
    );
    assert.deepEqual(
      (await api.request<{ items: unknown[] }>('GET', '/apis/apps/v1/namespaces/kc/deployments')).body.items,
      [],
    );
    // --purge deletes them, and the namespace.
    const p = await osk(['destroy', '-f', without, '--yes', '--purge']);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(await claims('kc'), []);
  });

  test('a DaemonSet whose selector matches no node is not ready, and apply and status name the selector', {
    timeout: 300_000,
  }, async () => {
    const f = file(
      'kn.yaml',
      cloudYaml(
        'kn',
        '  nodes:\n    compute:\n      selector: { disk: nvme }\n  services:\n    keystone:\n      api:\n        nodeSelector: { disk: nvme }\n',
      ),
    );
    const r = await osk(['apply', '-f', f, '--timeout', '10']);
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    assert.match(
      r.stderr,
      /openvswitch is not ready after 10 s: DaemonSet openvswitch: 0\/0 ready: no node to run on: needs nodes with disk=nvme; 0 of 8 nodes have it/,
    );
    assert.match(
      r.stderr,
      /keystone-api is not ready after 10 s: .*Unschedulable: needs nodes with disk=nvme and openstack-control-plane=enabled; 0 of 8 nodes have it \(scheduler: 0\/8 nodes are available/,
    );

    const st = await osk(['status', '-f', f]);
    assert.equal(st.code, 1, st.stdout + st.stderr);
    const why = st.stdout.slice(st.stdout.indexOf('\nnot ready:\n'));
    assert.match(why, /^ {2}openvswitch: no node to run on: needs nodes with disk=nvme; 0 of 8 nodes have it$/m);
    assert.match(why, /^ {2}libvirt: no node to run on: needs nodes with disk=nvme; 0 of 8 nodes have it$/m);
    assert.match(
      why,
      /^ {2}keystone-api: keystone-api-\S+: Unschedulable: needs nodes with disk=nvme and openstack-control-plane=enabled; 0 of 8 nodes have it/m,
    );
    assert.match(why, /^ {2}nova-api: not applied: waits for .*keystone-api/m);
    const states = JSON.parse((await osk(['status', '-f', f, '-o', 'json'])).stdout) as {
      component: string;
      ready: boolean;
      reason?: string;
    }[];
    assert.ok(
      states.filter((s) => !s.ready).every((s) => s.reason),
      'every component that is not ready has a reason',
    );
    assert.equal(states.find((s) => s.component === 'openvswitch')?.ready, false);
    await osk(['destroy', '-f', f, '--yes', '--purge']);
  });

  test('examples/ha.yaml: every compute agent on every ordinary compute node, the GPU agents only on the GPU nodes', {
    timeout: 900_000,
  }, async () => {
    const f = file('ha.yaml', readFileSync(join(ROOT, 'examples', 'ha.yaml'), 'utf8'));
    // Its Ceph client key is the user's (spec.storage.ceph.keyringSecret): without it, apply
    // refuses before it changes anything, and says which Secret and who mounts it.
    const refused = await osk(['apply', '-f', f]);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      /needs Secret openstack\/ceph-client-keyring \(mounted by [a-z-]+(, [a-z-]+)*\), which does not exist; nothing was changed/,
    );
    assert.equal((await api.request('GET', '/api/v1/namespaces/openstack', { ok: [404] })).status, 404);
    await api.request('POST', '/api/v1/namespaces', { body: { metadata: { name: 'openstack' } } });
    await api.request('POST', '/api/v1/namespaces/openstack/secrets', {
      body: { metadata: { name: 'ceph-client-keyring' }, stringData: { key: 'AQBtestkeyonlyforkwok==' } },
    });
    const r = await osk(['apply', '-f', f]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    const nodes = (
      await api.request<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>(
        'GET',
        '/api/v1/nodes',
      )
    ).body.items;
    const gpu = nodes
      .filter((n) => n.metadata.labels['nvidia.com/gpu.present'] === 'true')
      .map((n) => n.metadata.name)
      .sort();
    const compute = nodes
      .filter((n) => n.metadata.labels['openstack-compute-node'] === 'enabled' && !gpu.includes(n.metadata.name))
      .map((n) => n.metadata.name)
      .sort();
    assert.deepEqual([compute.length, gpu.length], [3, 2]);
    const podNodes = async (component: string) =>
      (
        await api.request<{ items: { spec: { nodeName?: string }; status: { phase?: string } }[] }>(
          'GET',
          '/api/v1/namespaces/openstack/pods',
          { query: { labelSelector: `osk.dev/component=${component}` } },
        )
      ).body.items
        .map((p) => p.spec.nodeName ?? '(unscheduled)')
        .sort();
    for (const agent of ['nova-compute', 'libvirt', 'openvswitch', 'ovn-controller', 'neutron-ovn-metadata-agent']) {
      assert.deepEqual(await podNodes(agent), compute, `${agent}: one pod on each ordinary compute node`);
      assert.deepEqual(await podNodes(`${agent}-gpu`), gpu, `${agent}-gpu: one pod on each GPU node`);
    }
    const st = await osk(['status', '-f', f, '-o', 'json']);
    assert.equal(st.code, 0, st.stdout.slice(-3000));
    await osk(['destroy', '-f', f, '--yes', '--purge']);
  });
});
