/**
 * osk apply / diff / status / destroy against a real kube-apiserver (built from Go modules,
 * controllers and scheduler real, nodes simulated by kwok; see docs/test-cluster.md).
 * OSK_SKIP_CLUSTER_TESTS=1 skips this file (the first run on a machine compiles Kubernetes).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startCluster, type Cluster } from '../cluster/control-plane.js';
import { clusterSkipReason } from './support.js';
import { KubeApi } from '../../src/targets/kubernetes/kube-api.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const OSK = join(ROOT, 'bin', 'osk.js');

const skip = clusterSkipReason();

const cloudYaml = (extra = '') => `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: kt
  namespace: kt
spec:
  profile: minimal
  storage:
    storageClass: standard
${extra}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('osk apply on a real Kubernetes API', { skip, concurrency: false }, () => {
  let cluster: Cluster;
  let dir = '';
  let api: KubeApi;
  const env = () => ({ ...process.env, KUBECONFIG: cluster.kubeconfig, OSK_STATE_DIR: join(dir, 'state'), CI: 'true' });
  const osk = (args: string[], opts: { killAfterMs?: number; onStderr?: (all: string) => void } = {}): Promise<Run> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [OSK, ...args], { env: env(), stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => {
        stderr += d;
        opts.onStderr?.(stderr);
      });
      if (opts.killAfterMs !== undefined) setTimeout(() => p.kill('SIGKILL'), opts.killAfterMs);
      p.on('close', (code, signal) => resolve({ code: code ?? (signal ? 137 : 1), stdout, stderr }));
    });
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  const credentialSecrets = async (ns: string) => {
    const r = await api.request<{
      items: { metadata: { name: string; annotations?: Record<string, string> }; data: Record<string, string> }[];
    }>('GET', `/api/v1/namespaces/${ns}/secrets`);
    return Object.fromEntries(
      r.body.items.filter((s) => s.metadata.annotations?.['osk.dev/credential']).map((s) => [s.metadata.name, s.data]),
    );
  };
  const names = async (path: string) =>
    (await api.request<{ items: { metadata: { name: string } }[] }>('GET', path, { ok: [404] })).body.items
      ?.map((i) => i.metadata.name)
      .sort() ?? [];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osk-apply-'));
    // Pods become ready after 300 ms, Job pods complete after 500 ms: long enough that an
    // interrupted apply really is in the middle of something.
    cluster = await startCluster({
      nodes: 6,
      dir: join(dir, 'cluster'),
      stopOnExit: true,
      podReadyDelayMs: 300,
      jobCompleteDelayMs: 500,
      log: () => undefined,
    });
    api = KubeApi.load({ kubeconfig: cluster.kubeconfig });
    // Claims bind to pre-made volumes of a no-provisioner class (kwok runs no storage driver).
    await api.request('POST', '/apis/storage.k8s.io/v1/storageclasses', {
      body: {
        apiVersion: 'storage.k8s.io/v1',
        kind: 'StorageClass',
        metadata: { name: 'standard' },
        provisioner: 'kubernetes.io/no-provisioner',
        volumeBindingMode: 'Immediate',
      },
    });
    for (let i = 0; i < 60; i++) {
      await api.request('POST', '/api/v1/persistentvolumes', {
        body: {
          apiVersion: 'v1',
          kind: 'PersistentVolume',
          metadata: { name: `pv-${i}` },
          spec: {
            capacity: { storage: '100Gi' },
            accessModes: ['ReadWriteOnce'],
            storageClassName: 'standard',
            persistentVolumeReclaimPolicy: 'Retain',
            hostPath: { path: `/tmp/osk-pv-${i}` },
          },
        },
      });
    }
  });

  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  let secretsAfterFirst: Record<string, unknown> = {};

  test('a minimal cloud deploys fully; every component became ready after everything it needs', {
    timeout: 600_000,
  }, async () => {
    const f = file('cloud.yaml', cloudYaml());
    const r = await osk(['apply', '-f', f]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    assert.match(
      r.stdout,
      /cloud kt applied to https:\/\/127\.0\.0\.1:\d+ \(context [^)]+\) in [\d.]+ s: \d+ created, 0 changed/,
    );
    // The order, from the progress lines: "[ 12.3s] ✔ nova-api ready".
    const readyAt = new Map<string, number>();
    for (const m of r.stderr.matchAll(/\[\s*([\d.]+)s\] ✔ (\S+) ready/g)) readyAt.set(m[2]!, Number(m[1]));
    const plan = JSON.parse((await osk(['plan', '-f', f, '-o', 'json'])).stdout) as {
      waves: { components: { id: string; waitsFor: { component: string }[] }[] }[];
    };
    let checked = 0;
    for (const c of plan.waves.flatMap((w) => w.components)) {
      for (const d of c.waitsFor) {
        if (!readyAt.has(c.id) || !readyAt.has(d.component)) continue;
        assert.ok(
          readyAt.get(d.component)! <= readyAt.get(c.id)!,
          `${c.id} was ready at ${readyAt.get(c.id)} s, before ${d.component} (${readyAt.get(d.component)} s) which it needs`,
        );
        checked++;
      }
    }
    assert.ok(checked > 50, `only ${checked} dependency pairs were checked`);
    const st = await osk(['status', '-f', f, '-o', 'json']);
    assert.equal(st.code, 0, st.stdout);
    const states = JSON.parse(st.stdout) as { component: string; ready: boolean }[];
    assert.ok(states.length > 20 && states.every((s) => s.ready));
    // nova-compute runs on every compute node (6 nodes: 3 control plane, 3 compute; this cloud
    // declares no GPU nodes, so the GPU one is an ordinary compute node to it).
    const ds = (
      await api.request<{ status: { numberReady: number; desiredNumberScheduled: number } }>(
        'GET',
        '/apis/apps/v1/namespaces/kt/daemonsets/nova-compute',
      )
    ).body.status;
    assert.equal(ds.numberReady, ds.desiredNumberScheduled);
    assert.equal(ds.desiredNumberScheduled, 3);
    secretsAfterFirst = await credentialSecrets('kt');
    assert.ok(Object.keys(secretsAfterFirst).length > 20);
  });

  test('a second apply changes nothing; diff agrees', { timeout: 300_000 }, async () => {
    const f = join(dir, 'cloud.yaml');
    const r = await osk(['apply', '-f', f]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.match(r.stdout, / 0 created, 0 changed, \d+ unchanged, \d+ credentials kept, 0 pruned/);
    const d = await osk(['diff', '-f', f]);
    assert.equal(d.code, 0, d.stdout);
    assert.equal(d.stdout, 'no changes\n');
  });

  test('killed at five points during an apply, a rerun converges and no credential changes', {
    timeout: 900_000,
  }, async () => {
    // A config change (new Job names, rolled pods) gives the apply real work to be killed in.
    const f = file('cloud.yaml', cloudYaml('  services:\n    keystone:\n      token:\n        expiration: 7200\n'));
    for (const ms of [300, 900, 1800, 3000, 4500]) {
      const r = await osk(['apply', '-f', f], { killAfterMs: ms });
      assert.ok(r.code === 137 || r.code === 0, `apply killed at ${ms} ms exited ${r.code}: ${r.stderr.slice(-2000)}`);
    }
    const r = await osk(['apply', '-f', f]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    assert.deepEqual(await credentialSecrets('kt'), secretsAfterFirst, 'credential Secrets changed');
    const again = await osk(['apply', '-f', f]);
    assert.match(again.stdout, / 0 created, 0 changed/);
  });

  test('a component removed from the file is pruned, exactly; with --no-prune it stays, and is still pruned later', {
    timeout: 300_000,
  }, async () => {
    const before = await names('/apis/apps/v1/namespaces/kt/deployments');
    const f = file(
      'cloud.yaml',
      cloudYaml(
        '  services:\n    keystone:\n      token:\n        expiration: 7200\n    horizon:\n      enabled: false\n',
      ),
    );
    const kept = await osk(['apply', '-f', f, '--no-prune']);
    assert.equal(kept.code, 0, kept.stderr.slice(-3000));
    assert.ok((await names('/apis/apps/v1/namespaces/kt/deployments')).includes('horizon'), 'kept by --no-prune');
    const r = await osk(['apply', '-f', f]);
    assert.equal(r.code, 0, r.stderr.slice(-3000));
    const afterNames = await names('/apis/apps/v1/namespaces/kt/deployments');
    assert.deepEqual(
      before.filter((n) => !afterNames.includes(n)),
      ['horizon'],
    );
    assert.deepEqual(
      afterNames.filter((n) => !before.includes(n)),
      [],
    );
    assert.match(r.stderr, /pruned \d+ objects no longer in the cloud file: .*Deployment kt\/horizon/);
  });

  test('a store that does not match the cluster is refused before anything changes', { timeout: 120_000 }, async () => {
    const other = join(dir, 'other-store.yaml');
    const r = await osk(['apply', '-f', join(dir, 'cloud.yaml'), '--secrets-file', other]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /credentials that differ from the secret store/);
    assert.match(r.stderr, /--import-secrets/);
    const imp = await osk(['apply', '-f', join(dir, 'cloud.yaml'), '--secrets-file', other, '--import-secrets']);
    assert.equal(imp.code, 0, imp.stderr.slice(-3000));
    assert.match(imp.stdout, / 0 changed/);
  });

  test('unreachable API server and wrong credentials give clear errors', { timeout: 180_000 }, async () => {
    const cfg = (await import('node:fs')).readFileSync(cluster.kubeconfig, 'utf8');
    const dead = file(
      'dead.kubeconfig',
      cfg.replace(/server: https:\/\/127\.0\.0\.1:\d+/, 'server: https://127.0.0.1:9'),
    );
    const r = await new Promise<Run>((resolve) => {
      const p = spawn(process.execPath, [OSK, 'status', '-f', join(dir, 'cloud.yaml'), '--kubeconfig', dead], {
        env: { ...env(), OSK_KUBE_RETRY_MS: '1000' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      p.stderr.on('data', (d) => (out += d));
      p.on('close', (code) => resolve({ code: code ?? 1, stdout: '', stderr: out }));
    });
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:9 \(context [^)]+\): ECONNREFUSED/,
    );

    // Wrong credentials: a token the apiserver does not know.
    const server = /server: (\S+)/.exec(cfg)![1]!;
    const ca = /certificate-authority(?:-data)?: (\S+)/.exec(cfg)!;
    const kc = (token: string) => `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${server}
    ${ca[0]}
users:
- name: u
  user:
    token: ${token}
contexts:
- name: x
  context: { cluster: c, user: u }
current-context: x
`;
    const bad = await osk([
      'apply',
      '-f',
      join(dir, 'cloud.yaml'),
      '--kubeconfig',
      file('bad.kubeconfig', kc('not-a-real-token')),
    ]);
    assert.equal(bad.code, 1, bad.stderr);
    assert.match(bad.stderr, /rejected the credentials of context x \(401 Unauthorized\)/);

    // RBAC: a service account with no rights gets told which verb on which resource it lacks.
    await api.request('POST', '/api/v1/namespaces/default/serviceaccounts', {
      body: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'nobody' } },
      ok: [409],
    });
    const tok = (
      await api.request<{ status: { token: string } }>(
        'POST',
        '/api/v1/namespaces/default/serviceaccounts/nobody/token',
        { body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 600 } } },
      )
    ).body.status.token;
    const denied = await osk([
      'apply',
      '-f',
      join(dir, 'cloud.yaml'),
      '--kubeconfig',
      file('nobody.kubeconfig', kc(tok)),
    ]);
    assert.equal(denied.code, 1, denied.stderr);
    assert.match(denied.stderr, /RBAC forbids .*(get|list|create|patch)/);
    assert.match(denied.stderr, /needs "(get|create|patch)" on \w+/);
  });

  test('an ha cloud deploys fully: 3-node Galera, RabbitMQ and OVN RAFT, 3 API replicas', {
    timeout: 600_000,
  }, async () => {
    const f = file(
      'ha.yaml',
      cloudYaml('')
        .replace('profile: minimal', 'profile: ha')
        .replace(/name: kt\n {2}namespace: kt/, 'name: kh\n  namespace: kh'),
    );
    const r = await osk(['apply', '-f', f]);
    assert.equal(r.code, 0, r.stderr.slice(-4000));
    const sts = (
      await api.request<{ items: { metadata: { name: string }; status: { readyReplicas?: number } }[] }>(
        'GET',
        '/apis/apps/v1/namespaces/kh/statefulsets',
      )
    ).body.items;
    for (const name of ['mariadb', 'rabbitmq', 'ovn-nb', 'ovn-sb'])
      assert.equal(sts.find((x) => x.metadata.name === name)?.status.readyReplicas, 3, name);
    const api3 = (
      await api.request<{ status: { availableReplicas?: number } }>(
        'GET',
        '/apis/apps/v1/namespaces/kh/deployments/keystone-api',
      )
    ).body.status.availableReplicas;
    assert.equal(api3, 3);
    const d = await osk(['destroy', '-f', f, '--yes', '--purge']);
    assert.equal(d.code, 0, d.stderr);
  });

  test('a component that cannot get ready says why, holds back exactly its dependants, and the rest goes on', {
    timeout: 300_000,
  }, async () => {
    // A second cloud in its own namespace whose Keystone API asks for nodes that do not exist.
    const f = file(
      'stuck.yaml',
      cloudYaml('  services:\n    keystone:\n      api:\n        nodeSelector: { disk: nvme }\n').replace(
        /name: kt\n {2}namespace: kt/,
        'name: ks\n  namespace: ks',
      ),
    );
    const r = await osk(['apply', '-f', f, '--timeout', '8']);
    assert.equal(r.code, 1, r.stderr.slice(-3000));
    assert.match(
      r.stderr,
      /keystone-api is not ready after 8 s: Deployment keystone-api: 0\/1 available.*didn't match Pod's node affinity\/selector/,
    );
    assert.match(r.stderr, /nova-api: not started, waits for keystone-api/);
    // Components that do not need Keystone came up.
    assert.match(r.stderr, /✔ mariadb ready/);
    assert.match(r.stderr, /✔ nova-db-sync ready/);
    await osk(['destroy', '-f', f, '--yes', '--purge']);
  });

  test('missing Prometheus Operator CRDs: skipped with one line, or refused before any change when required', {
    timeout: 120_000,
  }, async () => {
    const r = await osk(['apply', '-f', join(dir, 'cloud.yaml')]);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(
      r.stderr,
      /skipped \d+ monitoring objects: the cluster has no monitoring\.coreos\.com CRDs \(Prometheus Operator\)/,
    );
    const f = file(
      'required.yaml',
      cloudYaml('  monitoring:\n    required: true\n').replace(
        /name: kt\n {2}namespace: kt/,
        'name: kq\n  namespace: kq',
      ),
    );
    const q = await osk(['apply', '-f', f]);
    assert.equal(q.code, 1, q.stderr);
    assert.match(
      q.stderr,
      /requires the Prometheus Operator \(spec\.monitoring\.required: true\), but the cluster does not serve monitoring\.coreos\.com\/v1 \w+.*nothing was changed/,
    );
    assert.equal(
      (await api.request('GET', '/api/v1/namespaces/kq', { ok: [404] })).status,
      404,
      'the namespace was created anyway',
    );
  });

  test('a failed Job stops exactly its dependants, says why, and the rest of the graph goes on', {
    timeout: 300_000,
  }, async () => {
    const { render } = await import('../../src/targets/kubernetes/render.js');
    const { SecretStore } = await import('../../src/state/secret-store.js');
    const { parseCloudFile } = await import('../../src/spec/load.js');
    const { applyCloud } = await import('../../src/targets/kubernetes/apply.js');
    const { createReporter } = await import('../../src/cli/progress.js');
    const text = cloudYaml().replace(/name: kt\n {2}namespace: kt/, 'name: kf\n  namespace: kf');
    const { model, groups } = render(parseCloudFile(text, 'kf.yaml'), SecretStore.memory('kf'));
    // The kwok stage pod-fail makes this Job's pod exit 3 (test/cluster/kwok-stages.yaml).
    const job = groups
      .find((g) => g.component === 'keystone-db-sync')!
      .objects.find((x) => x.kind === 'Job') as unknown as {
      spec: { backoffLimit: number; template: { metadata: { annotations?: Record<string, string> } } };
    };
    job.spec.backoffLimit = 0;
    job.spec.template.metadata.annotations = {
      ...(job.spec.template.metadata.annotations ?? {}),
      'osk.dev/test-exit-code': '3',
    };
    const lines: string[] = [];
    const r = await applyCloud(model, groups, api, {
      reporter: createReporter({ write: (x: string) => (lines.push(x), true), isTTY: false }, { plain: true }),
      timeoutSeconds: 120,
      prune: false,
      pruneVolumes: false,
    });
    assert.deepEqual([...r.failed.keys()], ['keystone-db-sync'], lines.join(''));
    assert.match(
      r.failed.get('keystone-db-sync')!.message,
      /Job keystone-db-sync-[0-9a-f]+ failed: (BackoffLimitExceeded|Failed)/,
    );
    // Everything that needs Keystone's schema waits; nothing else does.
    for (const id of ['keystone-api', 'keystone-bootstrap', 'nova-api', 'glance-api'])
      assert.equal(r.blocked.get(id), 'keystone-db-sync', id);
    for (const id of ['mariadb', 'rabbitmq', 'nova-db-sync', 'neutron-db-sync', 'ovn-northd'])
      assert.ok(r.done.includes(id), `${id} should be ready`);

    // The same apply again: the failed Job (same spec, so same name) is run again, not left
    // failed for good; here it fails again, as its pod is still told to.
    const jobName = (job as unknown as { metadata: { name: string } }).metadata.name;
    const jobPath = `/apis/batch/v1/namespaces/kf/jobs/${jobName}`;
    const uid = async () => (await api.request<{ metadata: { uid: string } }>('GET', jobPath)).body.metadata.uid;
    const first = await uid();
    const again = await applyCloud(model, groups, api, {
      reporter: createReporter({ write: () => true, isTTY: false }, { plain: true }),
      timeoutSeconds: 120,
      prune: false,
      pruneVolumes: false,
    });
    assert.deepEqual(again.rerun, [`Job kf/${jobName}`]);
    assert.notEqual(await uid(), first, 'a new Job object ran');
    assert.deepEqual([...again.failed.keys()], ['keystone-db-sync']);
    await osk(['destroy', '-f', file('kf.yaml', text), '--yes', '--purge']);
  });

  test('kube-apiserver restarted in the middle of an apply: the apply converges', { timeout: 600_000 }, async () => {
    const { readFileSync, openSync, closeSync } = await import('node:fs');
    const f = file('restart.yaml', cloudYaml().replace(/name: kt\n {2}namespace: kt/, 'name: kr\n  namespace: kr'));
    const apiserver = cluster.state.processes.find((p) => p.name === 'kube-apiserver')!;
    const argv = readFileSync(`/proc/${apiserver.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    // Killed once the apply is applying components (not while it still renders), so the
    // outage really hits its requests.
    let applying: () => void = () => undefined;
    const started = new Promise<void>((res) => (applying = res));
    const run = osk(['apply', '-f', f], {
      onStderr: (all) => (/✔ secrets completed/.test(all) ? applying() : undefined),
    });
    await Promise.race([started, run]);
    process.kill(apiserver.pid, 'SIGKILL');
    await new Promise((res) => setTimeout(res, 3000));
    const log = openSync(apiserver.log, 'a');
    const again = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', log, log] });
    closeSync(log);
    again.unref();
    try {
      const r = await run;
      assert.equal(r.code, 0, r.stderr.slice(-3000));
      assert.match(r.stdout, /cloud kr applied/);
      // While the server was away, apply said what it waited for.
      assert.match(
        r.stderr,
        /API server https:\/\/127\.0\.0\.1:\d+ (unreachable \(ECONNREFUSED\)|answers 5\d\d[^,]*), retrying for \d+ s more/,
      );
      const st = await osk(['status', '-f', f, '-o', 'json']);
      assert.equal(st.code, 0, st.stdout.slice(-2000));
      await osk(['destroy', '-f', f, '--yes', '--purge']);
    } finally {
      // The harness stops the PIDs recorded in its state file: record the new apiserver there.
      const { writeFileSync: write } = await import('node:fs');
      const statePath = join(cluster.dir, 'state.json');
      const st = JSON.parse(readFileSync(statePath, 'utf8')) as { processes: { name: string; pid: number }[] };
      st.processes.find((p) => p.name === 'kube-apiserver')!.pid = again.pid!;
      write(statePath, JSON.stringify(st, null, 2));
      apiserver.pid = again.pid!;
    }
  });

  test('destroy removes the workloads dependants first and keeps the data unless purged', {
    timeout: 300_000,
  }, async () => {
    const f = join(dir, 'cloud.yaml');
    const claimsBefore = await names('/api/v1/namespaces/kt/persistentvolumeclaims');
    // Glance's images claim is rendered as an object, not a StatefulSet template: it is kept too.
    assert.ok(
      claimsBefore.includes('glance-api-images') && claimsBefore.length >= 3,
      `claims: ${claimsBefore.join(', ')}`,
    );
    const d = await osk(['destroy', '-f', f, '--yes']);
    assert.equal(d.code, 0, d.stderr);
    assert.deepEqual(await names('/apis/apps/v1/namespaces/kt/deployments'), []);
    assert.deepEqual(await names('/apis/apps/v1/namespaces/kt/statefulsets'), []);
    assert.deepEqual(await names('/apis/batch/v1/namespaces/kt/jobs'), []);
    assert.deepEqual(
      await names('/api/v1/namespaces/kt/persistentvolumeclaims'),
      claimsBefore,
      'destroy without --purge deleted a claim',
    );
    assert.match(
      d.stderr,
      new RegExp(
        `kept namespace kt and its ${claimsBefore.length} PersistentVolumeClaims \\(data\\): ${claimsBefore.join(', ')};`,
      ),
    );
    assert.ok(Object.keys(await credentialSecrets('kt')).length === 0, 'credential Secrets are removed with the cloud');
    const p = await osk(['destroy', '-f', f, '--yes', '--purge']);
    assert.equal(p.code, 0, p.stderr);
    assert.deepEqual(await names('/api/v1/namespaces/kt/persistentvolumeclaims'), []);
  });
});
