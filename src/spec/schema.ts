/**
 * The cloud file, v1alpha1: the single source of its TypeScript types, its defaults, its
 * validation and the JSON Schema that editors use (`osk schema`).
 *
 * Every object is strict: an unknown key is an error (with a did-you-mean), because a typo in a
 * cloud file that is silently ignored is how a production cloud ends up with one replica.
 * Fields whose default depends on the profile (replicas, anti-affinity, …) are optional here and
 * filled in by `profiles.ts`; the description of each says what the profiles give it.
 */
import { z } from 'zod';
import { cronOf, rotationProblem } from '../config/key-rotation.js';

export const API_VERSION = 'osk.dev/v1alpha1';
export const KIND = 'Cloud';

const dnsLabel = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a DNS label: lower-case letters, digits and "-", starting and ending with a letter or digit')
  .max(40, 'at most 40 characters (osk appends suffixes to build object names)');

const dnsName = z
  .string()
  .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'a DNS name such as cloud.example.com');

/** Kubernetes resource quantity, e.g. "500m", "2", "4Gi". */
const quantity = z
  .union([z.string(), z.number()])
  .transform((v) => String(v))
  .pipe(z.string().regex(/^\d+(\.\d+)?(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/, 'a Kubernetes quantity such as "500m", "2" or "4Gi"'));

/** MariaDB-style byte size, e.g. "512M", "32G". */
const mariadbSize = z
  .union([z.string(), z.number().int().positive()])
  .transform((v) => String(v))
  .pipe(z.string().regex(/^\d+[KMGT]?$/, 'a MariaDB size such as "512M" or "32G" (K, M, G or T; no "i")'));

const duration = z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, 'a duration such as "500ms", "3s", "5m" or "1h"');
const percent = z.string().regex(/^\d+(\.\d+)?%$/, 'a percentage such as "1%" or "99.9%"');
const labels = z.record(z.string().min(1), z.string()).describe('Kubernetes node labels that must all match');
const cron = z
  .string()
  .regex(/^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|(\S+\s+){4}\S+)$/, 'a cron schedule with five fields such as "0 2 * * *", or @daily');

const resourceList = z.strictObject({ cpu: quantity.optional(), memory: quantity.optional() });
export const resourcesSchema = z
  .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
  .describe('CPU and memory for each container; defaults come from the profile and the component');

const toleration = z.strictObject({
  key: z.string().optional(),
  operator: z.enum(['Exists', 'Equal']).optional(),
  value: z.string().optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
});

/** What every component can override. */
const componentFields = {
  replicas: z.number().int().min(0).max(50).optional().describe('Pods for this component. Profile default: minimal 1, ha 3'),
  resources: resourcesSchema.optional(),
  nodeSelector: labels.optional().describe('Extra node labels for this component, added to its node role selector'),
  tolerations: z.array(toleration).optional(),
};
export const componentSchema = z.strictObject(componentFields);

const storageVolume = z.strictObject({
  size: quantity.optional().describe('PersistentVolumeClaim size'),
  storageClass: z.string().optional().describe('StorageClass of the claim; the cluster default when unset'),
});

function service<T extends z.core.$ZodLooseShape>(components: T) {
  return z.strictObject({
    enabled: z.boolean().optional().describe('Deploy this service (default true)'),
    ...components,
  });
}

const endpointsSchema = z.strictObject({
  publicDomain: dnsName.optional().describe('Public API hostnames are <service>.<publicDomain>; no Ingress when unset'),
  ingressClassName: z.string().optional(),
  tls: z
    .strictObject({
      enabled: z.boolean().default(false),
      issuer: z.string().optional().describe('cert-manager ClusterIssuer that signs the public certificates'),
      secretName: z.string().optional().describe('An existing TLS Secret (wildcard certificate) instead of an issuer'),
    })
    .optional(),
});

const nodesSchema = z.strictObject({
  controlPlane: z.strictObject({ selector: labels.default({ 'openstack-control-plane': 'enabled' }), tolerations: z.array(toleration).optional() }).optional(),
  compute: z.strictObject({ selector: labels.default({ 'openstack-compute-node': 'enabled' }), tolerations: z.array(toleration).optional() }).optional(),
  gpu: z
    .strictObject({
      selector: labels.describe('Labels of the GPU compute nodes, e.g. { nvidia.com/gpu.present: "true" }'),
      tolerations: z.array(toleration).optional(),
    })
    .optional()
    .describe('GPU compute nodes: a second nova-compute DaemonSet runs there, in its own aggregate'),
});

const networkSchema = z.strictObject({
  backend: z.enum(['ovn', 'kube-ovn', 'calico-ovn']).default('ovn').describe('ovn: OVN runs in the cloud; kube-ovn: reuse the cluster CNI OVN; calico-ovn: Calico pods, OVN for instances'),
  mtu: z.number().int().min(1280).max(9216).default(1500).describe('MTU of the physical network; tenant networks get this minus the Geneve overhead (58)'),
  providerNetworks: z
    .array(z.strictObject({ name: dnsLabel.describe('physnet name'), interface: z.string().min(1), bridge: z.string().optional() }))
    .default([])
    .describe('Physical networks for provider/external networks: physnet name to host interface'),
  multus: z
    .strictObject({
      networks: z
        .array(z.strictObject({ name: dnsLabel, namespace: z.string().optional(), interface: z.string().optional() }))
        .default([])
        .describe('NetworkAttachmentDefinitions attached to the OVN and compute pods as secondary interfaces'),
    })
    .optional(),
});

const qosSchema = z.strictObject({
  readIopsSec: z.number().int().positive().optional(),
  writeIopsSec: z.number().int().positive().optional(),
  totalBytesSec: z.number().int().positive().optional(),
});

const storageSchema = z.strictObject({
  backend: z.enum(['ceph', 'lvm', 'local']).default('local').describe('Block storage for Cinder and Glance: ceph (RBD pools), lvm, or local files'),
  ceph: z
    .strictObject({
      monitors: z.array(z.string().regex(/^[^\s:]+(:\d+)?$|^\[[0-9a-fA-F:]+\](:\d+)?$/, 'host:port')).min(1),
      user: z.string().default('cinder'),
      keyringSecret: z.string().default('ceph-client-keyring').describe('Secret with key "key": the cephx key of the user (created by you or rook)'),
      pools: z
        .strictObject({
          volumes: z.string().default('volumes'),
          images: z.string().default('images'),
          backups: z.string().default('backups'),
          vms: z.string().default('vms'),
        })
        .default({ volumes: 'volumes', images: 'images', backups: 'backups', vms: 'vms' }),
    })
    .optional(),
  lvm: z.strictObject({ volumeGroup: z.string().default('cinder-volumes') }).optional(),
  storageClass: z.string().optional().describe('StorageClass for the claims of MariaDB, RabbitMQ and OVN (the cluster default when unset)'),
  glance: z
    .strictObject({
      cache: z.strictObject({ hostPath: z.string().regex(/^\//, 'an absolute path'), maxSize: mariadbSize.optional() }).optional(),
    })
    .optional(),
  cinderBackends: z
    .array(
      z.strictObject({
        name: dnsLabel,
        volumeType: z.string().optional().describe('Cinder volume type name; defaults to the backend name'),
        storageClass: z.string().optional().describe('Name of the Kubernetes StorageClass rendered for tenants (Cinder CSI); defaults to cinder-<name>'),
        qos: qosSchema.optional(),
      }),
    )
    .optional()
    .describe('Cinder backends; one volume type and one StorageClass each. Default: one backend named after storage.backend'),
});

const mariadbSchema = z.strictObject({
  ...componentFields,
  replicas: z.number().int().min(1).max(9).optional().describe('Galera nodes: 1 or an odd number ≥ 3. Profile default: minimal 1, ha 3'),
  storage: storageVolume.optional(),
  innodbBufferPoolSize: mariadbSize.optional().describe('innodb_buffer_pool_size; default 256M (minimal) / 1G (ha)'),
  innodbIoCapacity: z.number().int().min(100).optional().describe('innodb_io_capacity; default 200 (minimal) / 1000 (ha)'),
  innodbFlushNeighbors: z.union([z.literal(0), z.literal(1), z.literal(2)]).optional().describe('innodb_flush_neighbors: 0 for SSD/NVMe (default), 1 for spinning disks'),
  threadCacheSize: z.number().int().min(0).optional().describe('thread_cache_size; default 16 / 64'),
  maxConnections: z.number().int().min(10).optional().describe('max_connections; default 500 / 4096'),
});

const rabbitmqSchema = z.strictObject({
  ...componentFields,
  storage: storageVolume.optional(),
  memoryHighWatermark: z.number().gt(0).max(0.9).optional().describe('vm_memory_high_watermark.relative; default 0.4'),
  queueType: z.enum(['quorum', 'classic']).optional().describe('quorum (ha default) or classic (minimal default)'),
  quorumInitialGroupSize: z.number().int().min(1).optional().describe('Replicas of each quorum queue; default: all nodes'),
});

const memcachedSchema = z.strictObject({ ...componentFields, memoryMB: z.number().int().min(16).optional().describe('Cache size in MiB; default 128 / 1024') });
const ovnSchema = z.strictObject({
  ...componentFields,
  replicas: z.number().int().min(1).max(7).optional().describe('RAFT members of the NB and SB databases: 1 or an odd number ≥ 3'),
  storage: storageVolume.optional(),
  northd: componentSchema.optional(),
  controller: componentSchema.optional(),
});

const keystoneSchema = service({
  api: componentSchema.optional(),
  token: z
    .strictObject({
      provider: z.enum(['fernet', 'jws']).default('fernet'),
      expiration: z.number().int().min(300).max(604800).default(3600).describe('Token lifetime in seconds'),
      cacheTime: z.number().int().min(0).default(300).describe('Seconds a validated token stays in memcached'),
      maxActiveKeys: z.number().int().min(3).default(3),
    })
    .optional(),
  keyRotation: z
    .strictObject({
      enabled: z.boolean().default(true).describe('Rotate the fernet keys on a schedule (false: only `osk rotate-keys` rotates)'),
      every: z.string().regex(/^[1-9][0-9]{0,3}[mhd]$/, 'an interval such as 30m, 12h or 7d').default('24h').describe('Time between rotations: minutes dividing an hour, hours dividing a day, or days (Kubernetes runs it as a cron schedule)'),
    })
    .optional()
    .describe('Fernet key rotation without restarts (staged key → primary, old primary kept to validate, maxActiveKeys in all); default every 24h'),
});

export const cloudSpecSchema = z.strictObject({
  profile: z.enum(['minimal', 'ha']).default('minimal').describe('minimal: one replica of everything; ha: 3 API replicas, 3-node Galera and RabbitMQ with quorum queues, anti-affinity, PodDisruptionBudgets'),
  release: z.enum(['2024.2', '2025.1', '2025.2']).default('2025.1').describe('OpenStack release; picks the pinned image tags'),
  region: z.string().regex(/^[A-Za-z0-9][-A-Za-z0-9_.]*$/, 'a region name such as RegionOne').default('RegionOne'),
  images: z
    .strictObject({
      registry: z.string().optional().describe('Mirror registry that replaces the registry part of every pinned image'),
      pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      pullSecrets: z.array(z.string()).default([]),
      overrides: z.record(z.string(), z.string().min(1)).optional().describe('Image per image key (see `osk images`), e.g. { keystone: my.registry/keystone:patched }'),
    })
    .optional(),
  endpoints: endpointsSchema.optional(),
  nodes: nodesSchema.optional(),
  network: networkSchema.optional(),
  storage: storageSchema.optional(),
  services: z
    .strictObject({
      keystone: keystoneSchema.optional(),
      glance: service({ api: componentSchema.optional() }).optional(),
      placement: service({ api: componentSchema.optional() }).optional(),
      nova: service({
        api: componentSchema.optional(),
        metadata: componentSchema.optional(),
        conductor: componentSchema.optional(),
        scheduler: componentSchema.optional(),
        novncproxy: componentSchema.optional(),
        compute: componentSchema.optional(),
        libvirt: componentSchema.optional(),
        cpuAllocationRatio: z.number().positive().optional(),
        ramAllocationRatio: z.number().positive().optional(),
      }).optional(),
      neutron: service({ server: componentSchema.optional(), metadataAgent: componentSchema.optional() }).optional(),
      cinder: service({
        api: componentSchema.optional(),
        scheduler: componentSchema.optional(),
        volume: componentSchema.optional(),
        backup: componentSchema.optional(),
      }).optional(),
      horizon: service({
        web: componentSchema.optional(),
        expose: z.enum(['ingress', 'nodePort', 'none']).optional().describe('How users reach the dashboard; ingress needs endpoints.publicDomain'),
        nodePort: z.number().int().min(30000).max(32767).optional(),
      }).optional(),
    })
    .optional(),
  infra: z
    .strictObject({
      mariadb: mariadbSchema.optional(),
      rabbitmq: rabbitmqSchema.optional(),
      memcached: memcachedSchema.optional(),
      ovn: ovnSchema.optional(),
    })
    .optional(),
  monitoring: z
    .strictObject({
      enabled: z.boolean().default(true),
      required: z.boolean().default(false).describe('Stop osk apply before changing anything when the cluster lacks the Prometheus Operator CRDs (default: skip those objects with a note)'),
      thresholds: z
        .strictObject({
          novaApiP99: duration.default('500ms'),
          neutronPortFailureRate: percent.default('1%'),
          cinderOpLatency: duration.default('3s'),
          apiSuccessRate: percent.default('99.9%'),
          gatewayP99: duration.default('200ms'),
          podRestartsPerHour: z.number().int().min(0).default(3),
          containerCpu: percent.default('70%'),
          containerMemory: percent.default('80%'),
        })
        .optional(),
    })
    .optional(),
  backup: z
    .strictObject({
      enabled: z.boolean().default(true),
      required: z.boolean().default(false).describe("Stop osk apply before changing anything when the cluster lacks Velero's CRDs (default: skip those objects with a note)"),
      schedule: cron.default('0 2 * * *'),
      copies: z.number().int().min(1).max(365).default(3).describe('Backups kept'),
      offsite: z
        .strictObject({
          url: z.string().regex(/^s3:\/\/[^/\s]+(\/\S*)?$/, 'an S3 URL such as s3://bucket/prefix'),
          endpoint: z.string().url().optional().describe('S3-compatible endpoint (MinIO, Ceph RGW); AWS when unset'),
          credentialsSecret: z.string().default('osk-backup-s3').describe('Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'),
        })
        .optional(),
    })
    .optional(),
});

export const cloudFileSchema = z.strictObject({
  apiVersion: z.literal(API_VERSION, { error: `must be "${API_VERSION}"` }),
  kind: z.literal(KIND, { error: `must be "${KIND}"` }),
  metadata: z.strictObject({
    name: dnsLabel.describe('Name of the cloud; also names its state and secret store'),
    namespace: dnsLabel.optional().describe('Kubernetes namespace of the control plane; default "openstack"'),
    labels: z.record(z.string(), z.string()).optional(),
  }),
  spec: cloudSpecSchema.default(() => cloudSpecSchema.parse({})),
});

/** The cloud file as written (before defaults). */
export type CloudFileInput = z.input<typeof cloudFileSchema>;
/** The cloud file after validation and the schema's own defaults (profile defaults come later). */
export type CloudFile = z.output<typeof cloudFileSchema>;
export type CloudSpec = CloudFile['spec'];
export type ComponentSettings = z.output<typeof componentSchema>;
export type Resources = z.output<typeof resourcesSchema>;

/**
 * Rules that span fields. They run on the parsed file; each names the field to fix.
 * (zod keeps these out of the JSON Schema: editors check structure, `osk validate` checks these.)
 */
export function crossFieldProblems(file: CloudFile): { path: (string | number)[]; message: string; hint?: string }[] {
  const out: { path: (string | number)[]; message: string; hint?: string }[] = [];
  const s = file.spec;
  const odd = (n: number | undefined) => n === undefined || n === 1 || (n >= 3 && n % 2 === 1);
  if (!odd(s.infra?.mariadb?.replicas)) {
    out.push({
      path: ['spec', 'infra', 'mariadb', 'replicas'],
      message: `Galera needs 1 or an odd number of nodes ≥ 3 to keep quorum, found ${s.infra?.mariadb?.replicas}`,
      hint: 'use 3 (or 5); with 2 nodes losing either one stops the cluster',
    });
  }
  if (!odd(s.infra?.ovn?.replicas)) {
    out.push({
      path: ['spec', 'infra', 'ovn', 'replicas'],
      message: `OVN RAFT databases need 1 or an odd number of members ≥ 3, found ${s.infra?.ovn?.replicas}`,
    });
  }
  if (s.storage?.backend === 'ceph' && !s.storage.ceph) {
    out.push({ path: ['spec', 'storage', 'ceph'], message: 'storage.backend is ceph but storage.ceph is missing', hint: 'add storage.ceph.monitors: [host:6789, …]' });
  }
  const horizon = s.services?.horizon;
  if (horizon?.enabled !== false && horizon?.expose === 'ingress' && !s.endpoints?.publicDomain) {
    out.push({ path: ['spec', 'services', 'horizon', 'expose'], message: 'expose: ingress needs endpoints.publicDomain', hint: 'set spec.endpoints.publicDomain or use expose: nodePort' });
  }
  if (horizon?.nodePort !== undefined && horizon.expose !== 'nodePort') {
    out.push({ path: ['spec', 'services', 'horizon', 'nodePort'], message: 'nodePort is set but expose is not nodePort', hint: 'add expose: nodePort' });
  }
  const tls = s.endpoints?.tls;
  if (tls?.enabled && !tls.issuer && !tls.secretName) {
    out.push({ path: ['spec', 'endpoints', 'tls'], message: 'tls.enabled needs an issuer (cert-manager) or a secretName', hint: 'e.g. issuer: letsencrypt-prod' });
  }
  if (tls?.enabled && !s.endpoints?.publicDomain) {
    out.push({ path: ['spec', 'endpoints', 'tls'], message: 'tls.enabled needs endpoints.publicDomain (certificates are for the public hostnames)' });
  }
  const backends = s.storage?.cinderBackends ?? [];
  const seen = new Set<string>();
  backends.forEach((b, i) => {
    if (seen.has(b.name)) out.push({ path: ['spec', 'storage', 'cinderBackends', i, 'name'], message: `backend name "${b.name}" is used twice` });
    seen.add(b.name);
  });
  const ks = s.services?.keystone;
  if (ks?.keyRotation?.enabled !== false && (ks?.token?.provider ?? 'fernet') === 'fernet') {
    const every = ks?.keyRotation?.every ?? '24h';
    const unsafe = rotationProblem(every, ks?.token?.maxActiveKeys ?? 3, ks?.token?.expiration ?? 3600);
    if (unsafe) out.push({ path: ['spec', 'services', 'keystone', 'keyRotation', 'every'], message: unsafe, hint: 'rotate less often, raise token.maxActiveKeys, or shorten token.expiration' });
    if (!cronOf(every)) out.push({ path: ['spec', 'services', 'keystone', 'keyRotation', 'every'], message: `${every} has no cron schedule (the Kubernetes CronJob needs one)`, hint: 'use minutes that divide an hour (15m, 30m), hours that divide a day (6h, 12h, 24h) or 1d … 28d' });
  }
  return out;
}
