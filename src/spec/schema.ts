/**
 * The cloud file, v1alpha1: the single source of its TypeScript types, its defaults, its
 * validation and the JSON Schema that editors use (`osk schema`).
 *
 * Every object is strict: an unknown key is an error (with a did-you-mean), because a typo in a
 * cloud file that is silently ignored is how a production cloud ends up with one replica.
 * Fields whose default depends on the profile (replicas, anti-affinity, …) are optional here and
 * filled in by the catalog (`CatalogContext.settings` and each service module); the description
 * of each says what the profiles give it.
 *
 * Every string is one of the value types of `rules.ts`, checked with the rules of the place it
 * lands (docs/security.md lists them).
 */
import { z } from 'zod';
import { cronOf, rotationProblem } from '../config/key-rotation.js';
import { IMAGE_KEYS } from './image-keys.js';
import {
  bridgeName,
  cronSchedule,
  dnsName,
  duration,
  hostPath,
  httpUrl,
  imageRef,
  interfaceName,
  k8sLabelName,
  k8sName,
  labelKey,
  labelMap,
  labelValue,
  mariadbSize,
  monitorAddress,
  namespaceRefusal,
  pattern,
  percent,
  quantity,
  quantityValue,
  registryRef,
  rule,
  s3Url,
  simpleName,
} from './rules.js';

export const API_VERSION = 'osk.dev/v1alpha1';
export const KIND = 'Cloud';

/** Where S3 credentials go instead of a URL. */
const CREDENTIALS_GO =
  'put the access key in the Secret named by spec.backup.offsite.credentialsSecret (keys AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) and write the URL without user:password@';

/** osk's own label prefixes: a user label there would change what osk selects and prunes by. */
const OWN_LABEL_PREFIXES = ['app.kubernetes.io/', 'osk.dev/'];
function ownLabelRefusal(key: string): { sentence: string; hint: string } | undefined {
  const own = OWN_LABEL_PREFIXES.find((p) => key.startsWith(p));
  return own
    ? {
        sentence: `labels under ${own} are set by osk (it selects and prunes its objects by them)`,
        hint: 'use a prefix of your own, e.g. example.com/team',
      }
    : undefined;
}

/** Names osk builds object names from: a DNS label short enough for the suffixes osk appends. */
const dnsLabel = k8sLabelName(40);
const labels = labelMap.describe('Kubernetes node labels that must all match');
const cron = cronSchedule.describe(
  'A cron schedule with five fields such as "0 2 * * *" (minute 0-59, hour 0-23, day 1-31, month 1-12, weekday 0-7), or @daily',
);

const resourceList = z.strictObject({
  cpu: quantity({ positive: true }).optional(),
  memory: quantity({ positive: true }).optional(),
});
const resourcesSchema = z
  .strictObject({ requests: resourceList.optional(), limits: resourceList.optional() })
  .describe(
    'CPU and memory for each container; defaults come from the profile and the component. A limit must not be below its request',
  );

/** A toleration as the API server accepts it (core/v1 validation of Toleration). */
const toleration = z
  .strictObject({
    key: labelKey.optional().describe('Taint key; empty or unset matches every taint (then operator must be Exists)'),
    operator: z.enum(['Exists', 'Equal']).optional(),
    value: labelValue.optional(),
    effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']).optional(),
  })
  .superRefine((t, ctx) => {
    const add = (path: string, message: string) =>
      ctx.addIssue({
        code: 'custom',
        path: [path],
        message,
        input: (t as Record<string, unknown>)[path],
        params: { sentence: true },
      });
    if (t.operator === 'Exists' && t.value)
      add('value', 'a toleration with operator Exists must not have a value (the API server refuses it)');
    if (!t.key && t.operator !== 'Exists')
      add(
        t.operator ? 'operator' : 'key',
        'a toleration without a key matches every taint and needs operator: Exists (the API server refuses it otherwise)',
      );
  });
const tolerations = z.array(toleration).max(50);

/** What every component can override. */
const componentFields = {
  replicas: z
    .number()
    .int()
    .min(0)
    .max(50)
    .optional()
    .describe('Pods for this component. Profile default: minimal 1, ha 3'),
  resources: resourcesSchema.optional(),
  nodeSelector: labels.optional().describe('Extra node labels for this component, added to its node role selector'),
  tolerations: tolerations.optional(),
};
const componentSchema = z.strictObject(componentFields);

const storageVolume = z.strictObject({
  size: quantity({ positive: true }).optional().describe('PersistentVolumeClaim size (greater than 0)'),
  storageClass: k8sName.optional().describe('StorageClass of the claim; the cluster default when unset'),
});

function service<T extends z.core.$ZodLooseShape>(components: T) {
  return z.strictObject({
    enabled: z
      .boolean()
      .optional()
      .describe(
        'Deploy this service (default true). A service is disabled only with enabled: false; leaving its block out, or deleting it, keeps it deployed',
      ),
    ...components,
  });
}

const endpointsSchema = z.strictObject({
  publicDomain: dnsName.optional().describe('Public API hostnames are <service>.<publicDomain>; no Ingress when unset'),
  ingressClassName: k8sName.optional().describe('IngressClass of the public Ingresses; the cluster default when unset'),
  tls: z
    .strictObject({
      enabled: z.boolean().default(false),
      issuer: k8sName.optional().describe('cert-manager ClusterIssuer that signs the public certificates'),
      secretName: k8sName.optional().describe('An existing TLS Secret (wildcard certificate) instead of an issuer'),
    })
    .optional(),
});

const nodesSchema = z.strictObject({
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

const networkSchema = z.strictObject({
  backend: z
    .enum(['ovn', 'kube-ovn', 'calico-ovn'])
    .default('ovn')
    .describe(
      'ovn: OVN runs in the cloud; kube-ovn: reuse the cluster CNI OVN; calico-ovn: Calico pods, OVN for instances',
    ),
  mtu: z
    .number()
    .int()
    .min(1280)
    .max(9216)
    .default(1500)
    .describe('MTU of the physical network; tenant networks get this minus the Geneve overhead (58)'),
  providerNetworks: z
    .array(
      z.strictObject({
        name: dnsLabel.describe('physnet name'),
        interface: interfaceName.describe('Host interface plugged into the bridge, e.g. bond1'),
        bridge: bridgeName
          .optional()
          .describe('Open vSwitch bridge of the physnet; default br-<name> (cut to 15 characters)'),
      }),
    )
    .max(32)
    .default([])
    .describe(
      'Physical networks for provider/external networks: physnet name to host interface. Each physnet, interface and bridge is used once',
    ),
  multus: z
    .strictObject({
      networks: z
        .array(
          z.strictObject({
            name: dnsLabel,
            namespace: k8sLabelName()
              .optional()
              .describe(
                "Namespace of the NetworkAttachmentDefinition; only the cloud's own namespace is allowed (a pod must not join another namespace's network)",
              ),
            interface: interfaceName.optional().describe('Interface name inside the pod'),
          }),
        )
        .max(16)
        .default([])
        .describe('NetworkAttachmentDefinitions attached to the OVN and compute pods as secondary interfaces'),
    })
    .optional(),
});

const qosSchema = z.strictObject({
  readIopsSec: z.number().int().positive().max(1e9).optional(),
  writeIopsSec: z.number().int().positive().max(1e9).optional(),
  totalBytesSec: z.number().int().positive().max(1e15).optional(),
});

const storageSchema = z.strictObject({
  backend: z
    .enum(['ceph', 'lvm', 'local'])
    .default('local')
    .describe('Block storage for Cinder and Glance: ceph (RBD pools), lvm, or local files'),
  ceph: z
    .strictObject({
      monitors: z.array(monitorAddress).min(1).max(16).describe('Ceph monitors as host[:port]'),
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

const keystoneSchema = service({
  api: componentSchema.optional(),
  token: z
    .strictObject({
      provider: z.enum(['fernet', 'jws']).default('fernet'),
      expiration: z.number().int().min(300).max(604800).default(3600).describe('Token lifetime in seconds'),
      cacheTime: z
        .number()
        .int()
        .min(0)
        .max(86400)
        .default(300)
        .describe('Seconds a validated token stays in memcached'),
      maxActiveKeys: z.number().int().min(3).max(100).default(3),
    })
    .optional(),
  keyRotation: z
    .strictObject({
      enabled: z
        .boolean()
        .default(true)
        .describe('Rotate the fernet keys on a schedule (false: only `osk rotate-keys` rotates)'),
      every: z
        .string()
        .regex(/^[1-9][0-9]{0,3}[mhd]$/, 'an interval such as 30m, 12h or 7d')
        .default('24h')
        .describe(
          'Time between rotations: minutes dividing an hour, hours dividing a day, or days (Kubernetes runs it as a cron schedule)',
        ),
    })
    .optional()
    .describe(
      'Fernet key rotation without restarts (staged key → primary, old primary kept to validate, maxActiveKeys in all); default every 24h',
    ),
});

export const cloudSpecSchema = z.strictObject({
  profile: z
    .enum(['minimal', 'ha'])
    .default('minimal')
    .describe(
      'minimal: one replica of everything; ha: 3 API replicas, 3-node Galera and RabbitMQ with quorum queues, anti-affinity, PodDisruptionBudgets',
    ),
  release: z
    .enum(['2024.2', '2025.1', '2025.2'])
    .default('2025.1')
    .describe('OpenStack release; picks the pinned image tags'),
  region: pattern(
    /^[A-Za-z0-9][-A-Za-z0-9_.]{0,63}$/,
    'a region name such as RegionOne (letters, digits, "-", "_" and ".", at most 64 characters)',
    64,
  ).default('RegionOne'),
  images: z
    .strictObject({
      registry: registryRef
        .optional()
        .describe('Mirror registry that replaces the registry part of every pinned image'),
      pullPolicy: z.enum(['Always', 'IfNotPresent', 'Never']).default('IfNotPresent'),
      pullSecrets: z
        .array(k8sName)
        .max(16)
        .default([])
        .describe('Secrets (in the cloud namespace) the kubelet pulls images with'),
      overrides: z
        .partialRecord(z.enum(IMAGE_KEYS), imageRef)
        .optional()
        .describe(
          `Image per image key, e.g. { keystone: my.registry/keystone:patched }; keys: ${IMAGE_KEYS.join(', ')}`,
        ),
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
        cpuAllocationRatio: z.number().positive().max(128).optional(),
        ramAllocationRatio: z.number().positive().max(16).optional(),
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
        expose: z
          .enum(['ingress', 'nodePort', 'none'])
          .optional()
          .describe('How users reach the dashboard; ingress needs endpoints.publicDomain'),
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
      required: z
        .boolean()
        .default(false)
        .describe(
          'Stop osk apply before changing anything when the cluster lacks the Prometheus Operator CRDs (default: skip those objects with a note)',
        ),
      thresholds: z
        .strictObject({
          novaApiP99: duration.default('500ms'),
          neutronPortFailureRate: percent.default('1%'),
          cinderOpLatency: duration.default('3s'),
          apiSuccessRate: percent.default('99.9%'),
          gatewayP99: duration.default('200ms'),
          podRestartsPerHour: z
            .number()
            .int()
            .min(0)
            .max(1000)
            .default(3)
            .describe('Alert when a container restarts more often than this in an hour (0: on any restart)'),
          containerCpu: percent.default('70%'),
          containerMemory: percent.default('80%'),
        })
        .optional(),
    })
    .optional(),
  backup: z
    .strictObject({
      enabled: z.boolean().default(true),
      required: z
        .boolean()
        .default(false)
        .describe(
          "Stop osk apply before changing anything when the cluster lacks Velero's CRDs (default: skip those objects with a note)",
        ),
      schedule: cron.default('0 2 * * *'),
      copies: z.number().int().min(1).max(365).default(3).describe('Backups kept'),
      offsite: z
        .strictObject({
          url: s3Url(CREDENTIALS_GO).describe(
            's3://bucket/prefix; never with credentials (they go in credentialsSecret)',
          ),
          endpoint: httpUrl(CREDENTIALS_GO)
            .optional()
            .describe('S3-compatible endpoint (MinIO, Ceph RGW); AWS when unset'),
          credentialsSecret: k8sName
            .default('osk-backup-s3')
            .describe('Secret with AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY'),
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
    namespace: dnsLabel
      .superRefine(rule(namespaceRefusal))
      .optional()
      .describe('Kubernetes namespace of the control plane; default "openstack". Not default or kube-*'),
    labels: z
      .record(labelKey.superRefine(rule(ownLabelRefusal)), labelValue)
      .optional()
      .describe(
        "Labels added to every object osk renders on Kubernetes; keys under app.kubernetes.io/ and osk.dev/ are osk's own",
      ),
  }),
  spec: cloudSpecSchema.default(() => cloudSpecSchema.parse({})),
});

/** The cloud file after validation and the schema's own defaults (profile defaults come later). */
export type CloudFile = z.output<typeof cloudFileSchema>;
export type CloudSpec = CloudFile['spec'];
export type ComponentSettings = z.output<typeof componentSchema>;
type Resources = z.output<typeof resourcesSchema>;

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
    out.push({
      path: ['spec', 'storage', 'ceph'],
      message: 'storage.backend is ceph but storage.ceph is missing',
      hint: 'add storage.ceph.monitors: [host:6789, …]',
    });
  }
  const horizon = s.services?.horizon;
  if (horizon?.enabled !== false && horizon?.expose === 'ingress' && !s.endpoints?.publicDomain) {
    out.push({
      path: ['spec', 'services', 'horizon', 'expose'],
      message: 'expose: ingress needs endpoints.publicDomain',
      hint: 'set spec.endpoints.publicDomain or use expose: nodePort',
    });
  }
  if (horizon?.nodePort !== undefined && horizon.expose !== 'nodePort') {
    out.push({
      path: ['spec', 'services', 'horizon', 'nodePort'],
      message: 'nodePort is set but expose is not nodePort',
      hint: 'add expose: nodePort',
    });
  }
  const tls = s.endpoints?.tls;
  if (tls?.enabled && !tls.issuer && !tls.secretName) {
    out.push({
      path: ['spec', 'endpoints', 'tls'],
      message: 'tls.enabled needs an issuer (cert-manager) or a secretName',
      hint: 'e.g. issuer: letsencrypt-prod',
    });
  }
  if (tls?.enabled && !s.endpoints?.publicDomain) {
    out.push({
      path: ['spec', 'endpoints', 'tls'],
      message: 'tls.enabled needs endpoints.publicDomain (certificates are for the public hostnames)',
    });
  }
  const backends = s.storage?.cinderBackends ?? [];
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
  const ks = s.services?.keystone;
  if (ks?.keyRotation?.enabled !== false && (ks?.token?.provider ?? 'fernet') === 'fernet') {
    const every = ks?.keyRotation?.every ?? '24h';
    const unsafe = rotationProblem(every, ks?.token?.maxActiveKeys ?? 3, ks?.token?.expiration ?? 3600);
    if (unsafe)
      out.push({
        path: ['spec', 'services', 'keystone', 'keyRotation', 'every'],
        message: unsafe,
        hint: 'rotate less often, raise token.maxActiveKeys, or shorten token.expiration',
      });
    if (!cronOf(every))
      out.push({
        path: ['spec', 'services', 'keystone', 'keyRotation', 'every'],
        message: `${every} has no cron schedule (the Kubernetes CronJob needs one)`,
        hint: 'use minutes that divide an hour (15m, 30m), hours that divide a day (6h, 12h, 24h) or 1d … 28d',
      });
  }
  const gpu = s.nodes?.gpu?.selector;
  if (gpu) {
    // The ordinary compute agents keep off nodes with the GPU labels; GPU labels that every compute
    // node has already would keep them off every node.
    const compute = s.nodes?.compute?.selector ?? { 'openstack-compute-node': 'enabled' };
    if (Object.entries(gpu).every(([k, v]) => compute[k] === v)) {
      out.push({
        path: ['spec', 'nodes', 'gpu', 'selector'],
        message: `the GPU selector ${JSON.stringify(gpu)} adds no label to the compute selector ${JSON.stringify(compute)}: every compute node would count as a GPU node, and the ordinary compute agents would run on none`,
        hint: 'name a label only GPU nodes have, e.g. { nvidia.com/gpu.present: "true" }',
      });
    }
  }
  out.push(...providerNetworkProblems(s), ...multusProblems(file), ...resourceProblems(s, ['spec']));
  return out;
}

type Problem = ReturnType<typeof crossFieldProblems>[number];

/** Two physnets on one interface or one bridge would bridge two networks together. */
function providerNetworkProblems(s: CloudSpec): Problem[] {
  const out: Problem[] = [];
  const nets = s.network?.providerNetworks ?? [];
  const seen = {
    name: new Map<string, number>(),
    interface: new Map<string, number>(),
    bridge: new Map<string, number>(),
  };
  nets.forEach((n, i) => {
    const bridge = n.bridge ?? `br-${n.name}`.slice(0, 15);
    const values = { name: n.name, interface: n.interface, bridge };
    for (const k of ['name', 'interface', 'bridge'] as const) {
      const j = seen[k].get(values[k]);
      if (j !== undefined) {
        out.push({
          path: ['spec', 'network', 'providerNetworks', i, k === 'bridge' && !n.bridge ? 'name' : k],
          message: `${k === 'name' ? 'physnet' : k} "${values[k]}" is already used by providerNetworks[${j}]${k === 'bridge' && !n.bridge ? ` (the default bridge is br-<name> cut to 15 characters)` : ''}: two provider networks on one ${k === 'name' ? 'physnet' : k} would join two physical networks into one`,
          hint: k === 'name' ? 'give each physical network its own name' : `give each provider network its own ${k}`,
        });
      } else seen[k].set(values[k], i);
    }
    if (bridge === n.interface)
      out.push({
        path: ['spec', 'network', 'providerNetworks', i, 'bridge'],
        message: `the bridge and the interface are both "${bridge}"`,
        hint: 'the bridge is a new Open vSwitch bridge; the interface is the NIC plugged into it',
      });
  });
  return out;
}

/** A pod of the cloud attaches only to networks of its own namespace. */
function multusProblems(file: CloudFile): Problem[] {
  const ns = file.metadata?.namespace ?? 'openstack';
  const out: Problem[] = [];
  (file.spec?.network?.multus?.networks ?? []).forEach((n, i) => {
    if (n.namespace !== undefined && n.namespace !== ns) {
      out.push({
        path: ['spec', 'network', 'multus', 'networks', i, 'namespace'],
        message: `the network is in namespace "${n.namespace}", not the cloud's own "${ns}": osk does not attach its privileged pods to another namespace's network`,
        hint: `create the NetworkAttachmentDefinition in "${ns}" and leave namespace unset`,
      });
    }
  });
  return out;
}

/** Every resources block: a limit below its request is refused by the API server. */
function resourceProblems(node: unknown, path: (string | number)[]): Problem[] {
  if (typeof node !== 'object' || node === null) return [];
  const out: Problem[] = [];
  for (const [k, v] of Object.entries(node)) {
    if (k === 'resources' && typeof v === 'object' && v !== null) {
      const r = v as Resources;
      for (const what of ['cpu', 'memory'] as const) {
        const req = r.requests?.[what];
        const lim = r.limits?.[what];
        if (req === undefined || lim === undefined) continue;
        const [rq, lm] = [quantityValue(String(req)), quantityValue(String(lim))];
        if (rq !== undefined && lm !== undefined && lm < rq) {
          out.push({
            path: [...path, k, 'limits', what],
            message: `the ${what} limit ${lim} is below the request ${req}`,
            hint: `raise limits.${what} to at least ${req}, or lower requests.${what}`,
          });
        }
      }
    } else out.push(...resourceProblems(v, [...path, Array.isArray(node) ? Number(k) : k]));
  }
  return out;
}
