/** spec.infra: the database, message queue, cache and OVN databases the services share. */
import { z } from 'zod';
import { mariadbSize } from './rules.js';
import { type Problem, componentFields, componentSchema, storageVolume } from './schema-parts.js';

const mariadbSchema = z.strictObject({
  ...componentFields,
  replicas: z
    .number()
    .int()
    .min(1)
    .max(9)
    .optional()
    .describe('Galera nodes: 1 or an odd number ≥ 3. Profile default: minimal 1, ha 3'),
  storage: storageVolume.optional(),
  innodbBufferPoolSize: mariadbSize.optional().describe('innodb_buffer_pool_size; default 256M (minimal) / 1G (ha)'),
  innodbIoCapacity: z
    .number()
    .int()
    .min(100)
    .max(1_000_000)
    .optional()
    .describe('innodb_io_capacity; default 200 (minimal) / 1000 (ha)'),
  innodbFlushNeighbors: z
    .union([z.literal(0), z.literal(1), z.literal(2)])
    .optional()
    .describe('innodb_flush_neighbors: 0 for SSD/NVMe (default), 1 for spinning disks'),
  threadCacheSize: z.number().int().min(0).max(16384).optional().describe('thread_cache_size; default 16 / 64'),
  maxConnections: z.number().int().min(10).max(100_000).optional().describe('max_connections; default 500 / 4096'),
});

const rabbitmqSchema = z.strictObject({
  ...componentFields,
  storage: storageVolume.optional(),
  memoryHighWatermark: z.number().gt(0).max(0.9).optional().describe('vm_memory_high_watermark.relative; default 0.4'),
  queueType: z.enum(['quorum', 'classic']).optional().describe('quorum (ha default) or classic (minimal default)'),
  quorumInitialGroupSize: z
    .number()
    .int()
    .min(1)
    .max(9)
    .optional()
    .describe('Replicas of each quorum queue; default: all nodes'),
});

const memcachedSchema = z.strictObject({
  ...componentFields,
  memoryMB: z.number().int().min(16).max(1_048_576).optional().describe('Cache size in MiB; default 128 / 1024'),
});
const ovnSchema = z.strictObject({
  ...componentFields,
  replicas: z
    .number()
    .int()
    .min(1)
    .max(7)
    .optional()
    .describe('RAFT members of the NB and SB databases: 1 or an odd number ≥ 3'),
  storage: storageVolume.optional(),
  northd: componentSchema.optional(),
  controller: componentSchema.optional(),
});

/** spec.infra: the shared services, each optional (the profile fills in what is left out). */
export const infraSchema = z.strictObject({
  mariadb: mariadbSchema.optional(),
  rabbitmq: rabbitmqSchema.optional(),
  memcached: memcachedSchema.optional(),
  ovn: ovnSchema.optional(),
});

/** Galera and the OVN RAFT databases keep quorum only with an odd number of members. */
export function quorumProblems(infra: z.output<typeof infraSchema> | undefined): Problem[] {
  const out: Problem[] = [];
  const odd = (n: number | undefined) => n === undefined || n === 1 || (n >= 3 && n % 2 === 1);
  if (!odd(infra?.mariadb?.replicas)) {
    out.push({
      path: ['spec', 'infra', 'mariadb', 'replicas'],
      message: `Galera needs 1 or an odd number of nodes ≥ 3 to keep quorum, found ${infra?.mariadb?.replicas}`,
      hint: 'use 3 (or 5); with 2 nodes losing either one stops the cluster',
    });
  }
  if (!odd(infra?.ovn?.replicas)) {
    out.push({
      path: ['spec', 'infra', 'ovn', 'replicas'],
      message: `OVN RAFT databases need 1 or an odd number of members ≥ 3, found ${infra?.ovn?.replicas}`,
    });
  }
  return out;
}
