/** spec.nodes: where the control plane, compute and GPU pods run. */
import { z } from 'zod';
import { type Problem, labels, tolerations } from './schema-parts.js';

export const nodesSchema = z.strictObject({
  controlPlane: z
    .strictObject({
      selector: labels.default({ 'openstack-control-plane': 'enabled' }),
      tolerations: tolerations.optional(),
    })
    .optional(),
  compute: z
    .strictObject({
      selector: labels.default({ 'openstack-compute-node': 'enabled' }),
      tolerations: tolerations.optional(),
    })
    .optional(),
  gpu: z
    .strictObject({
      selector: labels.describe('Labels of the GPU compute nodes, e.g. { nvidia.com/gpu.present: "true" }'),
      tolerations: tolerations.optional(),
    })
    .optional()
    .describe('GPU compute nodes: a second nova-compute DaemonSet runs there, in its own aggregate'),
});

/**
 * The ordinary compute agents keep off nodes with the GPU labels; GPU labels that every compute
 * node has already would keep them off every node.
 */
export function gpuProblems(nodes: z.output<typeof nodesSchema> | undefined): Problem[] {
  const gpu = nodes?.gpu?.selector;
  if (!gpu) return [];
  const compute = nodes?.compute?.selector ?? { 'openstack-compute-node': 'enabled' };
  if (!Object.entries(gpu).every(([k, v]) => compute[k] === v)) return [];
  return [
    {
      path: ['spec', 'nodes', 'gpu', 'selector'],
      message: `the GPU selector ${JSON.stringify(gpu)} adds no label to the compute selector ${JSON.stringify(compute)}: every compute node would count as a GPU node, and the ordinary compute agents would run on none`,
      hint: 'name a label only GPU nodes have, e.g. { nvidia.com/gpu.present: "true" }',
    },
  ];
}
