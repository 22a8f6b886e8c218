import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Applied, applyObject } from './apply-object.js';
import type { KubeApi } from './kube-api.js';
import type { KubeObject } from './objects.js';
import type { Live, WorkloadWatch } from './workload-watch.js';

const job: KubeObject = {
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name: 'db-sync', namespace: 'cloud', labels: { app: 'db' } },
};

/** The watch holds `seen`; the apiserver answers the apply with `after`. */
async function applyJob(seen: Live, after: Live): Promise<Applied> {
  const api = {
    path: async () => '/apis/batch/v1/namespaces/cloud/jobs/db-sync',
    request: async (method: string) => {
      assert.equal(method, 'PATCH', 'the state before comes from the watch, not a GET');
      return { status: 200, body: after };
    },
  } as unknown as KubeApi;
  const watch = { ns: 'cloud', current: async () => ({ live: seen }) } as unknown as WorkloadWatch;
  const res: Applied = { created: [], changed: [], unchanged: [], keptSecrets: [], rerun: [] };
  await applyObject(api, res, job, { watch });
  return res;
}

const meta = (resourceVersion: string, generation: number, labels: Record<string, string> = { app: 'db' }) => ({
  metadata: { name: 'db-sync', resourceVersion, generation, labels },
});

test('a workload whose status its controller wrote meanwhile is unchanged by an apply that changed nothing', async () => {
  // The watch had version 10; the Job controller wrote Complete (11) before the apply answered.
  const res = await applyJob(meta('10', 1), { ...meta('11', 1), status: { succeeded: 1 } });
  assert.deepEqual(res.unchanged, ['Job cloud/db-sync']);
  assert.deepEqual(res.changed, []);
});

test('a workload whose spec, labels or annotations the apply changed is changed', async () => {
  assert.deepEqual((await applyJob(meta('10', 1), meta('12', 2))).changed, ['Job cloud/db-sync']);
  assert.deepEqual((await applyJob(meta('10', 1), meta('12', 1, { app: 'db', tier: 'x' }))).changed, [
    'Job cloud/db-sync',
  ]);
  const annotated = { metadata: { ...meta('12', 1).metadata, annotations: { a: 'b' } } };
  assert.deepEqual((await applyJob(meta('10', 1), annotated)).changed, ['Job cloud/db-sync']);
  assert.deepEqual((await applyJob(meta('10', 1), meta('10', 1))).unchanged, ['Job cloud/db-sync']);
});
