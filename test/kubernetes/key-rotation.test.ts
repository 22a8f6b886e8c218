/**
 * Keystone key rotation on a real Kubernetes API (kube-apiserver with RBAC, from Go modules):
 * the rendered rotation objects pass the server's strict validation; the CronJob's script, run
 * here with a token of its ServiceAccount (kwok runs no containers), rotates the fernet key
 * Secret the way config/key-rotation.ts says and cannot touch any other Secret; and the store vs
 * cluster rule: rotated keys are taken into the store, other differences still stop apply.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse } from 'yaml';
import { startCluster, type Cluster } from '../cluster/control-plane.js';
import { clusterSkipReason } from './support.js';
import { rotateKeySet } from '../../src/config/key-rotation.js';
import { SecretStore } from '../../src/state/secret-store.js';
import { render } from '../../src/targets/kubernetes/render.js';
import { parseCloudFile } from '../../src/spec/load.js';
import { reconcileCredentials } from '../../src/targets/kubernetes/credentials.js';
import { KubeApi } from '../../src/targets/kubernetes/kube-api.js';

const NS = 'krot';
const skip = clusterSkipReason();

type Obj = {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: any;
};

const PLURAL: Record<string, string> = {
  ServiceAccount: 'serviceaccounts',
  Role: 'roles',
  RoleBinding: 'rolebindings',
  NetworkPolicy: 'networkpolicies',
  CronJob: 'cronjobs',
  Secret: 'secrets',
};
const pathOf = (o: Obj) =>
  `${o.apiVersion === 'v1' ? '/api/v1' : `/apis/${o.apiVersion}`}/namespaces/${NS}/${PLURAL[o.kind]}`;

function python(script: string, env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('python3', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

describe('keystone key rotation on a real Kubernetes API', { skip, concurrency: false }, () => {
  let cluster: Cluster;
  let api: KubeApi;
  let dir = '';
  const store = SecretStore.memory(NS);
  const file = parseCloudFile(
    `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: ${NS}\n  namespace: ${NS}\nspec:\n  profile: minimal\n`,
  );
  const rendered = () => render(file, store);
  const secretData = async (name: string) =>
    (await api.request<Obj>('GET', `/api/v1/namespaces/${NS}/secrets/${name}`)).body;
  const decoded = (o: Obj) =>
    Object.keys(o.data ?? {})
      .sort((a, b) => Number(a) - Number(b))
      .map((k) => Buffer.from(o.data![k]!, 'base64').toString('utf8'));
  let cronJob: Obj;
  let saDir = '';
  let runEnv: NodeJS.ProcessEnv = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'osk-keyrot-'));
    cluster = await startCluster({ nodes: 1, dir: join(dir, 'cluster'), stopOnExit: true, log: () => undefined });
    api = KubeApi.load({ kubeconfig: cluster.kubeconfig });
    await api.request('POST', '/api/v1/namespaces', {
      body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } },
    });
  });

  after(async () => {
    await cluster?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('the credential Secrets and the rotation objects pass the server with fieldValidation=Strict', async () => {
    const { groups } = rendered();
    const secrets = groups
      .find((g) => g.name.endsWith('-secrets'))!
      .objects.map((o) => o as unknown as Obj)
      .filter((o) => o.metadata.name.startsWith('keystone-'));
    const rotation = groups
      .find((g) => g.name.endsWith('-keystone-key-rotation'))!
      .objects.map((o) => o as unknown as Obj);
    for (const o of [...secrets, ...rotation]) {
      const r = await api.request('POST', pathOf(o), { body: o, query: { fieldValidation: 'Strict' }, ok: [400, 422] });
      assert.equal(r.status, 201, `${o.kind}/${o.metadata.name}: ${JSON.stringify(r.body)}`);
    }
    cronJob = rotation.find((o) => o.kind === 'CronJob')!;
    const bad = structuredClone(cronJob);
    bad.metadata.name = 'typo';
    bad.spec.shedule = bad.spec.schedule;
    const refused = await api.request('POST', pathOf(bad), {
      body: bad,
      query: { fieldValidation: 'Strict' },
      ok: [400, 422],
    });
    assert.ok(
      refused.status === 400 || refused.status === 422,
      'strict validation is real: a misspelled field is refused',
    );
  });

  test("the CronJob's script, with its ServiceAccount's token, rotates the fernet key Secret as rotateKeySet does", async () => {
    // The pod's service account files: a token from the TokenRequest API and the cluster's CA.
    const tr = await api.request<{ status: { token: string } }>(
      'POST',
      `/api/v1/namespaces/${NS}/serviceaccounts/keystone-key-rotation/token`,
      {
        body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
      },
    );
    saDir = join(dir, 'sa');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(saDir, { recursive: true });
    writeFileSync(join(saDir, 'token'), tr.body.status.token);
    const kubeconfig = parse(readFileSync(cluster.kubeconfig, 'utf8')) as {
      clusters: { cluster: { 'certificate-authority-data': string } }[];
    };
    writeFileSync(
      join(saDir, 'ca.crt'),
      Buffer.from(kubeconfig.clusters[0]!.cluster['certificate-authority-data'], 'base64'),
    );
    const url = new URL(cluster.server);
    const container = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
    const podEnv = Object.fromEntries(
      (container.env as { name: string; value?: string }[]).map((e) => [e.name, e.value ?? NS]),
    );
    runEnv = {
      PATH: process.env.PATH,
      ...podEnv,
      SA_DIR: saDir,
      KUBERNETES_SERVICE_HOST: url.hostname,
      KUBERNETES_SERVICE_PORT: url.port || '443',
    };

    const before = decoded(await secretData('keystone-fernet-keys'));
    assert.equal(before.length, 3);
    const r = await python(container.command[2], runEnv);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /rotated krot\/keystone-fernet-keys: 3 keys/);
    const afterObj = await secretData('keystone-fernet-keys');
    const now = decoded(afterObj);
    assert.deepEqual(
      now,
      rotateKeySet(before, 3, () => now[0]!),
    );
    assert.equal(before.includes(now[0]!), false, 'a new staged key');
    assert.match(now[0]!, /^[A-Za-z0-9_-]{43}=$/, 'a Fernet key: 32 bytes, URL-safe base64');
    assert.match(afterObj.metadata.annotations?.['osk.dev/keys-rotated-at'] ?? '', /^\d{4}-\d\d-\d\dT/);

    const again = await python(container.command[2], runEnv);
    assert.equal(again.code, 0, again.out);
    assert.deepEqual(decoded(await secretData('keystone-fernet-keys')).slice(1), [now[2], now[0]]);
  });

  test('the ServiceAccount can touch no other Secret', async () => {
    const credentialKeys = decoded(await secretData('keystone-credential-keys'));
    const r = await python(cronJob.spec.jobTemplate.spec.template.spec.containers[0].command[2], {
      ...runEnv,
      SECRET_NAME: 'keystone-credential-keys',
    });
    assert.notEqual(r.code, 0);
    assert.match(r.out, /GET Secret krot\/keystone-credential-keys: HTTP 403/);
    assert.deepEqual(decoded(await secretData('keystone-credential-keys')), credentialKeys);
  });

  test('store vs cluster: rotated keys are taken into the store; any other difference still stops apply', async () => {
    const { model } = rendered();
    const live = decoded(await secretData('keystone-fernet-keys'));
    assert.notDeepEqual(
      [0, 1, 2].map((i) => store.get(`keystone-fernet-key-${i}`)),
      live,
      'the cluster rotated, the store has not yet',
    );
    const check = await reconcileCredentials(model, store, api, { import: false });
    assert.deepEqual(check.differ, []);
    assert.deepEqual(check.rotated.sort(), ['keystone-fernet-key-0', 'keystone-fernet-key-1', 'keystone-fernet-key-2']);
    assert.deepEqual(
      [0, 1, 2].map((i) => store.get(`keystone-fernet-key-${i}`)),
      live,
      'the store now holds the keys that run',
    );
    assert.deepEqual(
      (await reconcileCredentials(model, store, api, { import: false })).rotated,
      [],
      'nothing left to take',
    );

    // A credential the cloud does not rotate (the admin password), changed behind osk's back:
    // still refused. (The credential keys rotate too, like the fernet keys.)
    await api.request('PATCH', `/api/v1/namespaces/${NS}/secrets/keystone-admin`, {
      body: { data: { password: Buffer.from('changed').toString('base64') } },
      contentType: 'application/merge-patch+json',
    });
    await assert.rejects(
      () => reconcileCredentials(model, store, api, { import: false }),
      /differ from the secret store[\s\S]*keystone-admin-password \(Secret keystone-admin, key password\)/,
    );
  });
});
