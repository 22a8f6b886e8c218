/** The Kubernetes thresholds of `osk health`: restart rates, quantities, usage against limits. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCloudFile } from '../spec/load.js';
import { kubeVerdicts, quantity, restartRates, usageRatios, type PodInfo } from './health-kube.js';

const NOW = Date.parse('2026-11-24T12:00:00Z');
const ago = (min: number) => new Date(NOW - min * 60_000).toISOString();
const pod = (
  name: string,
  startedMinAgo: number,
  restarts: number,
  lastMinAgo?: number,
  limits?: Record<string, string>,
): PodInfo => ({
  metadata: { name },
  spec: { containers: [{ name: 'main', resources: limits ? { limits } : {} }] },
  status: {
    startTime: ago(startedMinAgo),
    containerStatuses: [
      {
        name: 'main',
        restartCount: restarts,
        ...(lastMinAgo !== undefined
          ? { lastState: { terminated: { finishedAt: ago(lastMinAgo), reason: 'OOMKilled' } } }
          : {}),
      },
    ],
  },
});

test("restarts per hour: all of a young pod's restarts are in the last hour; an old pod averages, but a restart within the hour counts", () => {
  const r = restartRates(
    [pod('young', 30, 4, 1), pod('old', 600, 5), pod('old-recent', 6000, 2, 10), pod('calm', 60, 0)],
    NOW,
  );
  assert.deepEqual(
    r.map((x) => [x.pod, x.perHour]),
    [
      ['young', 4],
      ['old-recent', 1],
      ['old', 0.5],
    ],
  );
  assert.equal(r[0]!.lastReason, 'OOMKilled');
});

test('quantities: CPU in cores, memory in bytes', () => {
  assert.equal(quantity('250m'), 0.25);
  assert.equal(quantity('2'), 2);
  assert.ok(Math.abs(quantity('123456789n') - 0.123456789) < 1e-15);
  assert.equal(quantity('512Mi'), 512 * 2 ** 20);
  assert.equal(quantity('1G'), 1e9);
  assert.throws(() => quantity('lots'), /not a Kubernetes quantity/);
});

test('verdicts: restarts and usage above the cloud file\'s limits breach and name the pods; no metrics-server is "not measured", with what to install', () => {
  const spec = parseCloudFile(
    'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: c\nspec:\n  monitoring:\n    thresholds:\n      podRestartsPerHour: 2\n      containerMemory: "50%"\n',
  ).spec;
  const pods = [
    pod('nova-api-1', 20, 3, 2, { cpu: '1', memory: '1Gi' }),
    pod('keystone-api-1', 20, 0, undefined, { cpu: '500m', memory: '512Mi' }),
  ];
  const noMetrics = kubeVerdicts(spec, { pods, now: NOW });
  const restarts = noMetrics.find((v) => v.threshold === 'podRestartsPerHour')!;
  assert.equal(restarts.state, 'breach');
  assert.match(restarts.detail, /nova-api-1\/main 3 restarts \(3\/h, last OOMKilled\)/);
  assert.equal(restarts.limit, '2 (cloud file)');
  assert.match(noMetrics.find((v) => v.threshold === 'containerCpu')!.detail, /install metrics-server/);
  assert.equal(noMetrics.find((v) => v.threshold === 'gatewayP99')!.state, 'not-measured');

  const metrics = [
    { metadata: { name: 'nova-api-1' }, containers: [{ name: 'main', usage: { cpu: '100m', memory: '700Mi' } }] },
    { metadata: { name: 'keystone-api-1' }, containers: [{ name: 'main', usage: { cpu: '400m', memory: '100Mi' } }] },
  ];
  const v = kubeVerdicts(spec, { pods, metrics, now: NOW });
  const mem = v.find((x) => x.threshold === 'containerMemory')!;
  assert.equal(mem.state, 'breach');
  assert.match(mem.detail, /nova-api-1\/main 68\.4% of its limit/);
  const cpu = v.find((x) => x.threshold === 'containerCpu')!;
  assert.equal(cpu.state, 'breach', 'keystone at 80% of its CPU limit, above the default 70%');
  assert.equal(cpu.measured, '80%');
  // A container without limits or requests is not compared with anything.
  assert.deepEqual(
    usageRatios(
      [pod('free', 5, 0)],
      [{ metadata: { name: 'free' }, containers: [{ name: 'main', usage: { cpu: '3' } }] }],
    ),
    [],
  );
});
