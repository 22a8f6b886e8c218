/** spec.storage: the block storage behind Cinder and Glance, and the claims of the stateful services. */
import { z } from 'zod';
import { hostPath, k8sName, mariadbSize, monitorAddress, rule, simpleName } from './rules.js';
import { type Problem, dnsLabel } from './schema-parts.js';

const qosSchema = z.strictObject({
  readIopsSec: z.number().int().positive().max(1e9).optional(),
  writeIopsSec: z.number().int().positive().max(1e9).optional(),
  totalBytesSec: z.number().int().positive().max(1e15).optional(),
});

export const storageSchema = z.strictObject({
  backend: z
    .enum(['ceph', 'lvm', 'local'])
    .default('local')
    .describe('Block storage for Cinder and Glance: ceph (RBD pools), lvm, or local files'),
  ceph: z
    .strictObject({
      monitors: z
        .array(monitorAddress)
        .min(1)
        .max(16)
        .optional()
        .describe(
          'Monitors of an existing Ceph cluster as host[:port] (osk apply); left out, osk up runs a cluster of its own',
        ),
      user: simpleName('a cephx user name').default('cinder'),
      keyringSecret: k8sName
        .default('ceph-client-keyring')
        .describe('Secret with key "key": the cephx key of the user (created by you or rook)'),
      pools: z
        .strictObject({
          volumes: simpleName('a Ceph pool name').default('volumes'),
          images: simpleName('a Ceph pool name').default('images'),
          backups: simpleName('a Ceph pool name').default('backups'),
          vms: simpleName('a Ceph pool name').default('vms'),
        })
        .default({ volumes: 'volumes', images: 'images', backups: 'backups', vms: 'vms' }),
    })
    .optional(),
  lvm: z
    .strictObject({
      volumeGroup: simpleName('an LVM volume group name', 127)
        .superRefine(
          rule((v: string) =>
            v === '.' || v === '..' || v.startsWith('-')
              ? 'a volume group name other than ".", ".." and not starting with "-"'
              : undefined,
          ),
        )
        .default('cinder-volumes'),
    })
    .optional(),
  storageClass: k8sName
    .optional()
    .describe('StorageClass for the claims of MariaDB, RabbitMQ and OVN (the cluster default when unset)'),
  glance: z
    .strictObject({
      cache: z
        .strictObject({
          hostPath: hostPath.describe(
            'Directory on each node for the image cache: absolute, normalised, not a system directory',
          ),
          maxSize: mariadbSize.optional(),
        })
        .optional(),
    })
    .optional(),
  cinderBackends: z
    .array(
      z.strictObject({
        name: dnsLabel,
        volumeType: simpleName('a Cinder volume type name', 255)
          .optional()
          .describe('Cinder volume type name; defaults to the backend name'),
        storageClass: k8sName
          .optional()
          .describe('Name of the Kubernetes StorageClass rendered for tenants (Cinder CSI); defaults to cinder-<name>'),
        qos: qosSchema.optional(),
      }),
    )
    .min(1)
    .max(16)
    .optional()
    .describe(
      'Cinder backends; one volume type and one StorageClass each. Default: one backend named after storage.backend',
    ),
});

type StorageSpec = z.output<typeof storageSchema>;

/** Each Cinder backend has its own name and its own volume type. */
export function cinderBackendProblems(storage: StorageSpec | undefined): Problem[] {
  const out: Problem[] = [];
  const backends = storage?.cinderBackends ?? [];
  const seen = new Set<string>();
  backends.forEach((b, i) => {
    if (seen.has(b.name))
      out.push({
        path: ['spec', 'storage', 'cinderBackends', i, 'name'],
        message: `backend name "${b.name}" is used twice`,
      });
    seen.add(b.name);
  });
  const types = new Map<string, number>();
  backends.forEach((b, i) => {
    const t = b.volumeType ?? b.name;
    if (types.has(t))
      out.push({
        path: ['spec', 'storage', 'cinderBackends', i, 'volumeType'],
        message: `volume type "${t}" is already the type of cinderBackends[${types.get(t)}]`,
        hint: 'each backend gets its own volume type',
      });
    else types.set(t, i);
  });
  return out;
}
