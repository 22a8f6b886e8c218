/** A Job's readiness: its Complete condition, or its one pod's success before the controller writes it. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { workloadReadiness } from './readiness.js';

const job = (spec: Record<string, unknown> = {}, conditions: { type: string; status: string }[] = []) => ({
  metadata: { name: 'db-sync-1a2b', uid: 'job-uid', generation: 1 },
  spec: { completions: 1, parallelism: 1, backoffLimit: 6, ...spec },
  status: { active: 1, conditions },
});
const pod = (phase: string, owner = 'job-uid') => ({
  metadata: { name: `p-${owner}`, uid: `pod-${owner}`, ownerReferences: [{ uid: owner, controller: true }] },
  status: { phase },
});

test('a Job is complete by its condition, with or without its pods', () => {
  const done = job({}, [{ type: 'Complete', status: 'True' }]);
  assert.deepEqual(workloadReadiness('Job', done), { ready: true, summary: 'Complete' });
  assert.equal(workloadReadiness('Job', done, undefined, []).ready, true);
});

test('a Job of one pod is done once its own pod succeeded, before the Job controller says so', () => {
  assert.deepEqual(workloadReadiness('Job', job(), undefined, [pod('Succeeded')]), {
    ready: true,
    summary: 'its pod succeeded',
  });
  // Not yet: running, or a pod of another Job (an earlier one of the same component).
  assert.equal(workloadReadiness('Job', job(), undefined, [pod('Running')]).ready, false);
  assert.equal(workloadReadiness('Job', job(), undefined, [pod('Succeeded', 'other-uid')]).ready, false);
  // Without pods (status of an older caller, or pods that may not be listed): the condition only.
  assert.equal(workloadReadiness('Job', job()).ready, false);
});

test('a pod that succeeded does not make a Job ready when the controller may still fail it or wants more', () => {
  const succeeded = [pod('Succeeded')];
  assert.equal(workloadReadiness('Job', job({ activeDeadlineSeconds: 60 }), undefined, succeeded).ready, false);
  assert.equal(workloadReadiness('Job', job({ completions: 2 }), undefined, succeeded).ready, false);
  assert.equal(workloadReadiness('Job', job({ parallelism: 2 }), undefined, succeeded).ready, false);
  const failing = job({}, [{ type: 'FailureTarget', status: 'True' }]);
  const r = workloadReadiness('Job', failing, undefined, succeeded);
  assert.equal(r.ready, false);
  assert.equal(r.failed, true);
});
