/** Node placement as the scheduler and the DaemonSet controller decide it, and said in words. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eligibleNodes, labelsMatch, placementSummary, placementText, type NodeLike } from './placement.js';
import { explainPodList, workloadReadiness } from './readiness.js';

const node = (name: string, labels: Record<string, string>, spec: NodeLike['spec'] = {}): NodeLike => ({
  metadata: { name, labels },
  spec,
});
const nodes = [
  node('cp-1', { cp: 'enabled' }),
  node('c-1', { compute: 'enabled' }),
  node('c-2', { compute: 'enabled', gpu: 'true' }),
  node('c-3', { compute: 'enabled' }, { taints: [{ key: 'maintenance', effect: 'NoSchedule' }] }),
];

test('terms are ORed, requirements within a term ANDed; NotIn holds on a node without the label', () => {
  const notGpu = {
    nodeSelector: { compute: 'enabled' },
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [{ matchExpressions: [{ key: 'gpu', operator: 'NotIn', values: ['true'] }] }],
        },
      },
    },
  };
  assert.deepEqual(
    nodes.filter((n) => labelsMatch(notGpu, n)).map((n) => n.metadata.name),
    ['c-1', 'c-3'],
  );
  const either = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            { matchExpressions: [{ key: 'cp', operator: 'Exists' }] },
            { matchExpressions: [{ key: 'gpu', operator: 'In', values: ['true'] }] },
          ],
        },
      },
    },
  };
  assert.deepEqual(
    nodes.filter((n) => labelsMatch(either, n)).map((n) => n.metadata.name),
    ['cp-1', 'c-2'],
  );
  const both = {
    affinity: {
      nodeAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: {
          nodeSelectorTerms: [
            {
              matchExpressions: [
                { key: 'compute', operator: 'In', values: ['enabled'] },
                { key: 'gpu', operator: 'DoesNotExist' },
              ],
            },
          ],
        },
      },
    },
  };
  assert.deepEqual(
    nodes.filter((n) => labelsMatch(both, n)).map((n) => n.metadata.name),
    ['c-1', 'c-3'],
  );
  assert.equal(placementText(either), '(label cp or gpu=true)');
  assert.equal(placementText(notGpu), 'compute=enabled and gpu!=true');
});

test('untolerated NoSchedule taints keep pods off; a matching toleration lets them on', () => {
  const spec = { nodeSelector: { compute: 'enabled' } };
  assert.deepEqual(
    eligibleNodes(spec, nodes, true).map((n) => n.metadata.name),
    ['c-1', 'c-2'],
  );
  assert.deepEqual(
    eligibleNodes({ ...spec, tolerations: [{ key: 'maintenance', operator: 'Exists' }] }, nodes, true).map(
      (n) => n.metadata.name,
    ),
    ['c-1', 'c-2', 'c-3'],
  );
  assert.match(
    placementSummary(spec, nodes, true).text,
    /^needs nodes with compute=enabled; 3 of 4 nodes have it, 1 of them with taints it does not tolerate \(maintenance:NoSchedule\)$/,
  );
  // The DaemonSet controller tolerates node-condition taints itself; an ordinary pod does not.
  const notReady = [
    node('n', { compute: 'enabled' }, { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' }] }),
  ];
  assert.equal(eligibleNodes(spec, notReady, true).length, 1);
  assert.equal(eligibleNodes(spec, notReady, false).length, 0);
});

const daemonSet = (desired: number, ready: number, nodeSelector: Record<string, string>) => ({
  metadata: { name: 'nova-compute', generation: 1 },
  spec: { template: { spec: { nodeSelector } } },
  status: { observedGeneration: 1, desiredNumberScheduled: desired, numberReady: ready, updatedNumberScheduled: ready },
});

test('a DaemonSet whose selector matches no node is not ready, and the reason names the selector', () => {
  const r = workloadReadiness('DaemonSet', daemonSet(0, 0, { disk: 'nvme' }), { list: nodes });
  assert.equal(r.ready, false);
  assert.equal(r.reason, 'no node to run on: needs nodes with disk=nvme; 0 of 4 nodes have it');
  // Without the right to list nodes: 0 desired is still not ready, and says why osk cannot count.
  const blind = workloadReadiness('DaemonSet', daemonSet(0, 0, { disk: 'nvme' }), {
    unknown: 'osk may not list nodes to count them',
  });
  assert.equal(blind.ready, false);
  assert.match(blind.reason!, /needs nodes with disk=nvme \(osk may not list nodes/);
});

test('a DaemonSet scheduled on fewer nodes than qualify is not ready; on all of them and ready, it is', () => {
  const short = workloadReadiness('DaemonSet', daemonSet(1, 1, { compute: 'enabled' }), { list: nodes });
  assert.equal(short.ready, false);
  assert.match(short.reason!, /scheduled on 1 of the 2 nodes it should run on/);
  assert.equal(workloadReadiness('DaemonSet', daemonSet(2, 2, { compute: 'enabled' }), { list: nodes }).ready, true);
  assert.equal(workloadReadiness('DaemonSet', daemonSet(2, 1, { compute: 'enabled' }), { list: nodes }).ready, false);
});

test('an unschedulable pod names the nodes it needs and how many have them, then the scheduler', () => {
  const pod = {
    metadata: { name: 'keystone-api-1' },
    spec: { nodeSelector: { cp: 'enabled', disk: 'nvme' } },
    status: {
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: "0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector.",
        },
      ],
    },
  };
  assert.equal(
    explainPodList([pod], { list: nodes }),
    "keystone-api-1: Unschedulable: needs nodes with cp=enabled and disk=nvme; 0 of 4 nodes have it (scheduler: 0/4 nodes are available: 4 node(s) didn't match Pod's node affinity/selector.)",
  );
});
