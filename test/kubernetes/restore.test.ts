/**
 * Day 2 on a real Kubernetes API (kube-apiserver built from Go modules, nodes by kwok):
 * - the monitoring and backup objects against the real Prometheus Operator and Velero CRDs
 *   (their OpenAPI schemas, fieldValidation=Strict), with both required;
 * - `osk restore --from … -f` run for real: every step in order, observed from the side while it
 *   runs; a failed step stops it, says where and in what state; a killed run continues with
 *   --start-at.
 *
 * What is not real here: kwok runs no containers, so the restore Jobs "complete" without running
 * their scripts (those run for real in src/backup/kubernetes/scripts.test.ts), and no Velero
 * server runs: a stand-in in this test sets the phase of Backups and Restores the way Velero's
 * server does.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCluster, type Cluster } from '../cluster/control-plane.js';
import { installCrds } from '../cluster/crds.js';
import { cloudYaml, clusterSkipReason, provisionVolumes } from './support.js';
import { KubeApi } from '../../src/targets/kubernetes/kube-api.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OSK = join(ROOT, 'bin', 'osk.js');
const NS = 'kr';

const skip = clusterSkipReason();

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
type Obj = {
  metadata: { name: string; creationTimestamp?: string; annotations?: Record<string, string> };
  spec?: any;
  status?: any;
};

describe('day 2 on a real Kubernetes API: CRD-backed objects and osk restore', { skip, concurrency: false }, () => {
  let cluster: Cluster;
  let dir = '';
  let api: KubeApi;
  let cloudFile = '';
  /** Velero Backups/Restores whose name starts with one of these end Failed. */
  const veleroFails = new Set<string>();
  let veleroStandIn: NodeJS.Timeout | undefined;

  const env = () => ({
    ...process.env,
    KUBECONFIG: cluster.kubeconfig,
    OSK_STATE_DIR: join(dir, 'state'),
    CI: 'true',
    OSK_RESTORE_POLL_MS: '300',
  });
  const osk = (args: string[], opts: { killWhen?: () => Promise<boolean> } = {}): Promise<Run & { killed: boolean }> =>
    new Promise((resolve) => {
      // Its own process group: bin/osk.js may re-run itself on Node 22, and a kill must reach that too.
      const p = spawn(process.execPath, [OSK, ...args], {
        env: env(),
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
      });
      let stdout = '';
      let stderr = '';
      let killed = false;
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      let watch: NodeJS.Timeout | undefined;
      if (opts.killWhen) {
        const check = opts.killWhen;
        watch = setInterval(() => {
          void check().then((yes) => {
            if (yes && !killed) {
              killed = true;
              process.kill(-p.pid!, 'SIGKILL');
            }
          });
        }, 150);
      }
      p.on('close', (code, signal) => {
        if (watch) clearInterval(watch);
        resolve({ code: code ?? (signal ? 137 : 1), stdout, stderr, killed });
      });
    });
  const get = async (path: string) => (await api.request<Obj>('GET', path, { ok: [404] })).body;
  const list = async (path: string) =>
    (await api.request<{ items: Obj[] }>('GET', path, { ok: [404] })).body.items ?? [];
  const replicas = async () => {
    const deps = await list(`/apis/apps/v1/namespaces/${NS}/deployments`);
    const sts = await get(`/apis/apps/v1/namespaces/${NS}/statefulsets/mariadb`);
    const cj = await list(`/apis/batch/v1/namespaces/${NS}/cronjobs`);
    return {
      deployments: Object.fromEntries(deps.map((d) => [d.metadata.name, d.spec.replicas as number])),
      mariadb: sts.spec.replicas as number,
      // The backup CronJobs (the key rotation writes a Secret, not the databases: it is not stopped).
      suspended: Object.fromEntries(
        cj.filter((c) => c.metadata.name.startsWith('backup-')).map((c) => [c.metadata.name, Boolean(c.spec.suspend)]),
      ),
    };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osk-restore-k8s-'));
    // 3 control-plane nodes and 1 compute node: a compute DaemonSet that matches no node is
    // not ready, so the cloud needs one.
    cluster = await startCluster({
      nodes: 4,
      dir: join(dir, 'cluster'),
      stopOnExit: true,
      podReadyDelayMs: 300,
      jobCompleteDelayMs: 500,
      log: () => undefined,
    });
    api = KubeApi.load({ kubeconfig: cluster.kubeconfig });
    await provisionVolumes(api, 20);
    await installCrds(api, ['prometheus-operator', 'velero']);
    await api.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'velero' } },
    });
    // The Velero server's part: a new Backup or Restore goes InProgress, then Completed (or Failed).
    veleroStandIn = setInterval(() => {
      void (async () => {
        for (const plural of ['backups', 'restores']) {
          for (const o of await list(`/apis/velero.io/v1/namespaces/velero/${plural}`)) {
            const phase = o.status?.phase;
            if (phase === 'Completed' || phase === 'Failed') continue;
            const fail = [...veleroFails].some((p) => o.metadata.name.startsWith(p));
            const next = !phase ? 'InProgress' : fail ? 'Failed' : 'Completed';
            // Velero's CRDs have no status subresource: its server writes status with the object.
            await api.request('PATCH', `/apis/velero.io/v1/namespaces/velero/${plural}/${o.metadata.name}`, {
              body: {
                status: {
                  phase: next,
                  ...(next === 'Failed' ? { failureReason: 'volume snapshot location default is unavailable' } : {}),
                },
              },
              contentType: 'application/merge-patch+json',
            });
          }
        }
      })().catch(() => undefined);
    }, 250);
    cloudFile = join(dir, 'cloud.yaml');
    writeFileSync(
      cloudFile,
      cloudYaml(NS, '  monitoring:\n    required: true\n  backup:\n    required: true\n    copies: 2\n'),
    );
  });

  after(async () => {
    if (veleroStandIn) clearInterval(veleroStandIn);
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('with the real CRDs installed, a cloud that requires monitoring and backups applies: every PrometheusRule, PodMonitor and the Velero Schedule pass their schemas', {
    timeout: 600_000,
  }, async () => {
    const r = await osk(['apply', '-f', cloudFile]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    assert.doesNotMatch(r.stderr, /skipp/i, 'nothing is skipped: the cluster serves every kind');
    const rules = await list(`/apis/monitoring.coreos.com/v1/namespaces/${NS}/prometheusrules`);
    assert.ok(rules.length >= 1, 'PrometheusRules exist');
    const alerts = rules.flatMap((x) => x.spec.groups.flatMap((g: any) => g.rules)).filter((x: any) => x.alert);
    assert.ok(alerts.length >= 15, `${alerts.length} alerts`);
    const monitors = await list(`/apis/monitoring.coreos.com/v1/namespaces/${NS}/podmonitors`);
    assert.ok(monitors.length >= 3, `${monitors.length} PodMonitors`);
    const schedule = await get(`/apis/velero.io/v1/namespaces/velero/schedules/osk-${NS}`);
    assert.deepEqual(schedule.spec.template.includedNamespaces, [NS]);
    assert.equal(schedule.spec.template.snapshotVolumes, true);
    // Strict validation is real: a field the CRD does not know is refused by the server.
    const bad = await api.request('POST', `/apis/velero.io/v1/namespaces/velero/schedules`, {
      body: {
        apiVersion: 'velero.io/v1',
        kind: 'Schedule',
        metadata: { name: 'typo' },
        spec: { schedule: '0 2 * * *', template: { snapshotVolume: true } },
      },
      query: { fieldValidation: 'Strict' },
      ok: [400, 422],
    });
    assert.ok(bad.status === 400 || bad.status === 422, `a misspelled field is refused (${bad.status})`);
  });

  test('osk health -f: pod restarts from the cluster against the threshold; without metrics-server CPU/memory say what to install', {
    timeout: 120_000,
  }, async () => {
    const healthy = await osk(['health', '-f', cloudFile]);
    assert.equal(healthy.code, 0, healthy.stdout + healthy.stderr);
    assert.match(healthy.stdout, /cloud kr \(Kubernetes\): no API probes/);
    assert.match(healthy.stdout, /podRestartsPerHour\s+3 \(default\)\s+0\s+ok/);
    assert.match(healthy.stdout, /containerCpu .*not-measured .*install metrics-server/);
    assert.match(healthy.stdout, /novaApiP99 .*not-measured .*add --os-cloud/);
    // A container that restarted 5 times in its first minutes (what the kubelet would report).
    const pods = await list(`/api/v1/namespaces/${NS}/pods?labelSelector=osk.dev/component%3Dkeystone-api`);
    const victim = pods[0]!;
    await api.request('PATCH', `/api/v1/namespaces/${NS}/pods/${victim.metadata.name}/status`, {
      body: {
        status: {
          containerStatuses: [
            {
              name: victim.spec.containers[0].name,
              restartCount: 5,
              lastState: { terminated: { exitCode: 137, reason: 'OOMKilled', finishedAt: new Date().toISOString() } },
            },
          ],
        },
      },
      contentType: 'application/strategic-merge-patch+json',
    });
    const sick = await osk(['health', '-f', cloudFile, '-o', 'json']);
    assert.equal(sick.code, 1, sick.stderr);
    const report = JSON.parse(sick.stdout);
    const v = report.thresholds.find((t: any) => t.threshold === 'podRestartsPerHour');
    assert.equal(v.state, 'breach');
    assert.match(v.detail, new RegExp(`${victim.metadata.name}/\\S+ 5 restarts \\(5/h, last OOMKilled\\)`));
    assert.equal(report.healthy, false);
  });

  test('osk restore --dry-run prints the steps and changes nothing; without --yes and no terminal it refuses', {
    timeout: 120_000,
  }, async () => {
    const before = await replicas();
    const dry = await osk(['restore', '--from', 'latest', '-f', cloudFile, '--dry-run']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^1\. Keep a copy of the current state$/m);
    assert.match(dry.stdout, /\$ osk apply -f /);
    const refused = await osk(['restore', '--from', 'latest', '-f', cloudFile]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /add --yes to confirm/);
    assert.deepEqual(await replicas(), before);
  });

  test('a step that fails stops the restore there and says so; nothing after it runs', {
    timeout: 120_000,
  }, async () => {
    const before = await replicas();
    veleroFails.add(`osk-${NS}-before-restore`);
    try {
      const r = await osk(['restore', '--from', 'latest', '-f', cloudFile, '--yes']);
      assert.equal(r.code, 1, r.stderr);
      assert.match(
        r.stderr,
        /restore stopped at step 1 of \d+ \(Keep a copy of the current state\): Velero Backup osk-kr-before-restore-\S+ ended Failed: volume snapshot location default is unavailable/,
      );
      assert.match(r.stderr, /the cloud now: unchanged \(nothing was changed\)/);
      assert.match(r.stderr, /--start-at 1/);
      assert.doesNotMatch(r.stderr, /step 2\//);
    } finally {
      veleroFails.clear();
    }
    assert.deepEqual(await replicas(), before, 'nothing was scaled or suspended');
    assert.equal(
      (await list(`/apis/batch/v1/namespaces/${NS}/jobs`)).filter((j) => j.metadata.name.startsWith('osk-restore'))
        .length,
      0,
    );
  });

  test('osk restore runs every step in order: while MariaDB is restored, every writer is stopped; afterwards all is back and a backup ran', {
    timeout: 900_000,
  }, async () => {
    const before = await replicas();
    assert.ok(Object.values(before.deployments).every((n) => n >= 1));
    // Watched from the side while it runs: the state at the moment each restore Job appears.
    const seen = new Map<string, Awaited<ReturnType<typeof replicas>>>();
    let stop = false;
    const watcher = (async () => {
      while (!stop) {
        for (const j of await list(`/apis/batch/v1/namespaces/${NS}/jobs`).catch(() => [])) {
          if (!seen.has(j.metadata.name) && /^osk-restore-|^backup-mariadb-after-restore/.test(j.metadata.name))
            seen.set(j.metadata.name, await replicas());
        }
        await new Promise((res) => setTimeout(res, 100));
      }
    })();
    // Killed as soon as the MariaDB restore Job exists (step 6 of the minimal plan) ...
    const first = await osk(['restore', '--from', 'latest', '-f', cloudFile, '--yes'], {
      killWhen: async () =>
        (await get(`/apis/batch/v1/namespaces/${NS}/jobs/osk-restore-mariadb`)).metadata?.name ===
        'osk-restore-mariadb',
    });
    assert.ok(first.killed, `the first run was to be killed mid-way: ${first.stderr.slice(-2000)}`);
    const steps = [...first.stderr.matchAll(/step (\d+)\/(\d+): (.+)/g)];
    const at = Number(steps.at(-1)![1]);
    assert.match(steps.at(-1)![3]!, /Restore MariaDB into data-mariadb-0/, first.stderr.slice(-3000));
    // ... and continued from that step, which runs again from its start.
    const r = await osk(['restore', '--from', 'latest', '-f', cloudFile, '--yes', '--start-at', String(at)]);
    stop = true;
    await watcher;
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    assert.match(
      r.stdout,
      new RegExp(`cloud ${NS} restored from latest in [\\d.]+ s \\(\\d+ steps, from step ${at}\\)`),
    );

    // The order, from the steps the two runs printed.
    const titles = [...first.stderr.matchAll(/step \d+\/\d+: (.+)/g), ...r.stderr.matchAll(/step \d+\/\d+: (.+)/g)].map(
      (m) => m[1]!,
    );
    const pos = (re: RegExp) => titles.findIndex((t) => re.test(t));
    const order = [
      /Keep a copy/,
      /Verify the latest/,
      /Stop the backups/,
      /Stop MariaDB/,
      /Restore MariaDB/,
      /Start MariaDB/,
      /OVN Northbound/,
      /plan order/,
      /Reconcile Neutron/,
      /^Verify$/,
    ].map(pos);
    assert.ok(
      order.every((i) => i >= 0),
      `every step ran: ${titles.join(' | ')}`,
    );
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'in dependency order',
    );

    // While the MariaDB and OVN restore Jobs existed, nothing wrote: every Deployment at 0,
    // the backups suspended; MariaDB stopped for its own restore and running for OVN's.
    for (const name of ['osk-restore-mariadb', 'osk-restore-ovn']) {
      const s = seen.get(name);
      assert.ok(s, `${name} was seen`);
      assert.ok(
        Object.values(s.deployments).every((n) => n === 0),
        `${name}: every Deployment at 0 (${JSON.stringify(s.deployments)})`,
      );
      assert.ok(Object.values(s.suspended).every(Boolean), `${name}: backups suspended`);
    }
    assert.equal(seen.get('osk-restore-mariadb')!.mariadb, 0);
    assert.equal(seen.get('osk-restore-ovn')!.mariadb, 1);
    // The Velero copy of the state before: for the cloud's namespace, with volume snapshots.
    const copies = (await list('/apis/velero.io/v1/namespaces/velero/backups')).filter(
      (b) => b.metadata.name.startsWith(`osk-${NS}-before-restore-`) && b.status?.phase === 'Completed',
    );
    assert.ok(copies.length >= 1);
    assert.deepEqual(copies[0]!.spec.includedNamespaces, [NS]);
    // Everything is back as it was, the backups resumed, and the first backup after it ran.
    assert.deepEqual(await replicas(), before);
    const jobs = await list(`/apis/batch/v1/namespaces/${NS}/jobs`);
    for (const name of [
      'osk-restore-verify',
      'osk-restore-mariadb',
      'osk-restore-ovn',
      'osk-restore-neutron-ovn-sync',
    ]) {
      const j = jobs.find((x) => x.metadata.name === name);
      assert.ok(
        j?.status?.conditions?.some((c: any) => c.type === 'Complete' && c.status === 'True'),
        `${name} complete`,
      );
    }
    const after = jobs.find((x) => x.metadata.name.startsWith('backup-mariadb-after-restore'));
    assert.ok(after, 'a backup ran after the restore');
    assert.equal(after.metadata.annotations?.['cronjob.kubernetes.io/instantiate'], 'manual');
    const status = await osk(['status', '-f', cloudFile]);
    assert.equal(status.code, 0, status.stdout);
  });

  test('--from velero:<backup> first brings the namespace back from that Velero backup (a Restore object), then restores the sets', {
    timeout: 600_000,
  }, async () => {
    const before = await replicas();
    const r = await osk(['restore', '--from', 'velero:nightly-1', '-f', cloudFile, '--yes']);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    assert.match(r.stderr, /step 2\/\d+: Restore the namespace's objects from Velero backup nightly-1/);
    const restore = await get(`/apis/velero.io/v1/namespaces/velero/restores/osk-${NS}-nightly-1`);
    assert.equal(restore.spec.backupName, 'nightly-1');
    assert.deepEqual(restore.spec.includedNamespaces, [NS]);
    assert.equal(restore.spec.restorePVs, true);
    assert.equal(restore.status.phase, 'Completed');
    assert.deepEqual(await replicas(), before);
  });
});
