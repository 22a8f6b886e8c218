/**
 * Cinder: API, scheduler, volume and backup, one backend section per configured backend, and a
 * Job that creates the matching volume types with their QoS.
 */
import type { IniDoc, IniEntry } from '../config/ini.js';
import { ExitCode, OskError } from '../errors.js';
import type { CatalogContext } from './context.js';
import {
  adminEnv,
  apiProbes,
  apiProcesses,
  bootstrapCommand,
  dbInitJob,
  dbSyncJob,
  hostConfigArgs,
  hostUwsgi,
  ksRegisterJob,
  ksUserJob,
  serviceSecrets,
  SIZES,
  uwsgiIni,
} from './common.js';
import { catalogSection } from './nova-conf.js';
import { withHostCephEtc } from './ceph-host.js';
import {
  cephAfter,
  cephConfPath,
  cephMounts,
  cephSettings,
  hostCephEnabled,
  RBD_PACKAGES,
  rbdSecretUuid,
} from './ceph.js';
import { rowsEnv } from './script-input.js';
import type { ComponentDef, ServiceDef } from './types.js';

interface CinderBackend {
  name: string;
  volumeType: string;
  storageClass: string;
  qos?: { readIopsSec?: number; writeIopsSec?: number; totalBytesSec?: number };
}

function cinderBackends(ctx: CatalogContext): CinderBackend[] {
  const backend = ctx.spec.storage?.backend ?? 'local';
  const declared = ctx.spec.storage?.cinderBackends ?? [{ name: backend }];
  return declared.map((b) => ({
    name: b.name,
    volumeType: ('volumeType' in b && b.volumeType) || b.name,
    storageClass: ('storageClass' in b && b.storageClass) || `cinder-${b.name}`,
    ...('qos' in b && b.qos ? { qos: b.qos } : {}),
  }));
}

const FAKE_BACKEND = 'fake';

/** cinder.conf: the service, its clients, one section per backend, locks. */
function cinderConf(ctx: CatalogContext, backends: CinderBackend[]): IniDoc {
  const conf = ctx.ini('cinder.conf');
  const data = ctx.dataDir('cinder');
  defaultSection(ctx, conf, backends);
  conf.section('database', {
    connection: ctx.dbConnection('cinder', 'cinder', 'cinder-db-password', 'cinder-db-init'),
    ...ctx.dbSettings(),
  });
  conf.section('keystone_authtoken', ctx.authtoken('cinder'));
  if (ctx.enabled('nova'))
    conf.section('nova', {
      ...ctx.serviceAuth('cinder'),
      interface: 'internal',
      ...catalogSection(ctx, 'compute', 'calls', 8774),
    });
  conf.section('service_user', { send_service_user_token: true, ...ctx.serviceAuth('cinder') });
  // Cinder has no [glance] section: it finds Glance in the request's catalog by [DEFAULT]
  // glance_catalog_info, and only while serving a request (image to volume), so it is a call,
  // not something Cinder waits for at start.
  if (ctx.enabled('glance'))
    conf.section('DEFAULT', {
      glance_catalog_info: {
        value: 'image:glance:internalURL',
        refs: ctx.catalogRefs('image', 'glance-api', 'glance-ks-register', 'calls', 9292),
      },
    });
  for (const b of backends) conf.section(b.name, backendSection(ctx, b));
  conf.section('coordination', { backend_url: `file://${data}/tmp` });
  conf.section('oslo_concurrency', { lock_path: `${data}/tmp` });
  conf.section('oslo_messaging_rabbit', ctx.oslo_messaging_rabbit());
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  return conf;
}

/** [DEFAULT]: messaging, backends, backups and (in ha) the active/active cluster; on one host, its listeners. */
function defaultSection(ctx: CatalogContext, conf: IniDoc, backends: CinderBackend[]): void {
  const ceph = cephSettings(ctx);
  const m = ctx.machine;
  const data = ctx.dataDir('cinder');
  conf.section('DEFAULT', {
    use_stderr: true,
    transport_url: ctx.transportUrl('cinder', 'rabbitmq-cinder-password', 'cinder'),
    auth_strategy: 'keystone',
    osapi_volume_workers: apiProcesses(ctx),
    enabled_backends: backends.map((b) => b.name).join(','),
    default_volume_type: backends[0]!.volumeType,
    state_path: data,
    backup_driver: ceph
      ? 'cinder.backup.drivers.ceph.CephBackupDriver'
      : 'cinder.backup.drivers.posix.PosixBackupDriver',
    ...(ceph
      ? { backup_ceph_pool: ceph.pools.backups, backup_ceph_user: ceph.user, backup_ceph_conf: cephConfPath(ctx) }
      : { backup_posix_path: `${data}/backup` }),
    // The scheduler sends a backup only to a backup service that has reported in, which it does
    // first after this interval (60 s by default): on one host, backups made right after osk up
    // would fail for a minute. 10 s is the least Cinder accepts.
    ...(m && ceph ? { backup_driver_stats_polling_interval: 10 } : {}),
    ...(ctx.ha ? { cluster: `${ctx.name}-volume` } : {}),
  });
  if (m)
    conf.section('DEFAULT', {
      host: m.hostname,
      my_ip: '127.0.0.1',
      osapi_volume_listen: ctx.topology.bindAddress,
      api_paste_config: '/etc/cinder/api-paste.ini',
    });
}

/** The volume driver of one backend: the test driver on a host without device-mapper, else RBD or LVM. */
function backendSection(ctx: CatalogContext, b: CinderBackend): Record<string, string | boolean | IniEntry> {
  const storage = ctx.spec.storage;
  const ceph = cephSettings(ctx);
  if (ctx.machine && !hostCephEnabled(ctx)) {
    // No device-mapper on this host: Cinder's own test driver keeps the volume lifecycle
    // (create, attach, detach, delete) without storing data.
    // The test driver reports its backend as "fake" whatever the section says.
    return {
      volume_backend_name: FAKE_BACKEND,
      volume_driver: 'cinder.tests.fake_driver.FakeLoggingVolumeDriver',
    };
  }
  if (ceph) {
    return {
      volume_backend_name: b.name,
      volume_driver: 'cinder.volume.drivers.rbd.RBDDriver',
      rbd_pool: ceph.pools.volumes,
      rbd_user: ceph.user,
      // Handed to nova-compute with each attachment: the libvirt secret holding the key.
      ...rbdSecretUuid(ctx),
      rbd_ceph_conf: cephConfPath(ctx),
      rbd_flatten_volume_from_snapshot: false,
      report_discard_supported: true,
    };
  }
  return {
    volume_backend_name: b.name,
    volume_driver: 'cinder.volume.drivers.lvm.LVMVolumeDriver',
    volume_group: storage?.lvm?.volumeGroup ?? 'cinder-volumes',
    target_helper: 'tgtadm',
    target_protocol: 'iscsi',
  };
}

/** What the Cinder components share: config arguments, readiness and the schema they wait for. */
function cinderParts(ctx: CatalogContext) {
  return {
    ctx,
    user: ctx.spec.services?.cinder,
    ceph: cephSettings(ctx),
    m: ctx.machine,
    data: ctx.dataDir('cinder'),
    args: ['--config-file', '/etc/cinder/cinder.conf', '--config-dir', '/etc/cinder/cinder.conf.d'],
    hostArgs: hostConfigArgs(ctx, 'cinder', '/etc/cinder', 'cinder.conf'),
    schema: { target: 'cinder-db-sync', why: 'cinder-db-sync brings the schema to head' },
    base: {
      service: 'cinder',
      image: 'cinder' as const,
      configs: ['cinder'],
      runAsUser: 42424,
      nodeRole: 'controlPlane' as const,
    },
  };
}
type CinderParts = ReturnType<typeof cinderParts>;

function cinderJobs({ ctx, args, hostArgs }: CinderParts): ComponentDef[] {
  const internal = `http://${ctx.topology.host('cinder-api')}:8776/v3/%(project_id)s`;
  return [
    dbInitJob(ctx, 'cinder', ['cinder']),
    dbSyncJob(ctx, 'cinder', 'cinder', ['cinder-manage', ...args, 'db', 'sync'], 'cinder', [], {
      command: ['cinder-manage', ...hostArgs, 'db', 'sync'],
      packages: ['cinder-api'],
    }),
    ksUserJob(ctx, 'cinder'),
    ksRegisterJob(ctx, 'cinder', 'volumev3', 'cinderv3', internal, 'volume'),
  ];
}

function cinderApi({ ctx, user, data, hostArgs, schema, base }: CinderParts): ComponentDef {
  return {
    ...base,
    id: 'cinder-api',
    part: 'api',
    workload: 'Deployment',
    command: ['uwsgi', '--ini', '/etc/cinder/cinder-api-uwsgi.ini'],
    ports: [{ name: 'http', port: 8776 }],
    service_: { ports: [{ name: 'http', port: 8776 }] },
    publicHost: 'volume',
    publicPort: 8776,
    ...apiProbes('/', 8776),
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/cinder/tmp' }],
    after: [schema],
    settings: ctx.settings(user?.api, 'controlPlane', SIZES.api),
    // uwsgi rather than the eventlet cinder-api, which always forks a worker next to its parent
    // (one process instead of two on a host). cinder-wsgi reads its config from sys.argv.
    host: {
      kind: 'process',
      ...hostUwsgi(ctx, 8776, '/usr/bin/cinder-wsgi', {}, ['cinder-api'], hostArgs),
      dirs: [`${data}/tmp`],
      ports: [8776],
      ready: { http: { port: 8776, path: '/' } },
    },
  };
}

/** A service row that cinder-<binary> refreshed within the last minute. */
function serviceUp(binary: string) {
  return {
    sql: {
      query: `SELECT COUNT(*) FROM cinder.services WHERE \`binary\` = '${binary}' AND deleted = 0 AND updated_at > UTC_TIMESTAMP() - INTERVAL 60 SECOND`,
      what: `${binary} reports as up in cinder.services`,
    },
  };
}

function daemon(
  { ctx, user, data, args, hostArgs, schema, base }: CinderParts,
  part: 'scheduler' | 'volume' | 'backup',
  extra: Partial<ComponentDef>,
): ComponentDef {
  return {
    ...base,
    id: `cinder-${part}`,
    part,
    workload: 'Deployment',
    command: [`cinder-${part}`, ...args],
    readiness: {
      exec: { command: ['sh', '-c', `pgrep -f cinder-${part} >/dev/null`] },
      periodSeconds: 30,
      timeoutSeconds: 10,
    },
    liveness: {
      exec: { command: ['sh', '-c', `pgrep -f cinder-${part} >/dev/null`] },
      initialDelaySeconds: 60,
      periodSeconds: 60,
      timeoutSeconds: 10,
    },
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/cinder/tmp' }],
    after: [schema, ...(part === 'scheduler' ? [] : cephAfter(ctx))],
    settings: ctx.settings(user?.[part], 'controlPlane', SIZES.worker),
    host: {
      kind: 'process',
      command:
        part !== 'scheduler' && hostCephEnabled(ctx)
          ? withHostCephEtc(ctx, cephSettings(ctx)!.user, [`cinder-${part}`, ...hostArgs])
          : [`cinder-${part}`, ...hostArgs],
      // RBD's Python bindings are Recommends of Debian's Cinder packages, which osk does not install.
      packages: [`cinder-${part}`, ...(part !== 'scheduler' && hostCephEnabled(ctx) ? RBD_PACKAGES : [])],
      dirs: [`${data}/tmp`],
      ready: serviceUp(`cinder-${part}`),
    },
    ...extra,
  };
}

/** Scheduler, volume (LVM needs the host's devices) and backup (Ceph or a local directory). */
function daemons(p: CinderParts): ComponentDef[] {
  const { ctx, user, ceph, m, base } = p;
  const lvmHost = !ceph
    ? {
        privileged: true,
        hostPaths: [
          { name: 'dev', path: '/dev', mountPath: '/dev', type: 'Directory' as const },
          { name: 'run-lvm', path: '/run/lvm', mountPath: '/run/lvm', type: 'DirectoryOrCreate' as const },
        ],
      }
    : {};
  return [
    daemon(p, 'scheduler', {}),
    // Active/active volume service needs a cluster name (set in ha); one replica otherwise.
    daemon(p, 'volume', {
      ...lvmHost,
      ...cephMounts(ctx, base.configs),
      settings: ctx.settings(user?.volume, 'controlPlane', { ...SIZES.worker, haReplicas: ceph ? 3 : 1 }),
    }),
    daemon(p, 'backup', {
      ...cephMounts(ctx, base.configs),
      ...(ceph
        ? {}
        : {
            emptyDirs: [
              { name: 'tmp', mountPath: '/var/lib/cinder/tmp' },
              { name: 'backup', mountPath: '/var/lib/cinder/backup' },
            ],
            settings: ctx.settings(user?.backup, 'controlPlane', { ...SIZES.worker, haReplicas: 1 }),
          }),
      ...(m && !ceph
        ? { host: { kind: 'skip' as const, why: 'volumes of the fake driver hold no data to back up' } }
        : {}),
    }),
  ];
}

/** The Job that creates one volume type per backend, with its QoS. */
function volumeTypesJob(ctx: CatalogContext, backends: CinderBackend[]): ComponentDef {
  const m = ctx.machine;
  // The Job runs `osk bootstrap volume-types`; the names travel in its environment as data.
  const qosProperties = (b: CinderBackend): [string, number][] =>
    Object.entries({
      read_iops_sec: b.qos?.readIopsSec,
      write_iops_sec: b.qos?.writeIopsSec,
      total_bytes_sec: b.qos?.totalBytesSec,
    }).filter((e): e is [string, number] => e[1] !== undefined);
  const field = (i: number, key: string) => `spec.storage.cinderBackends[${i}].${key}`;
  const volumeTypes = rowsEnv(
    backends.map((b, i) => [
      { where: field(i, 'volumeType'), value: b.volumeType },
      { where: field(i, 'name'), value: b.name },
    ]),
  );
  const volumeQos = rowsEnv(
    backends.flatMap((b, i) =>
      qosProperties(b).map(([k, v]) => [
        { where: field(i, 'volumeType'), value: b.volumeType },
        { where: field(i, `qos.${k}`), value: `${k}=${wholeNumber(field(i, 'qos'), v)}` },
      ]),
    ),
  );
  return {
    id: 'cinder-volume-types',
    service: 'cinder',
    part: 'volume-types',
    workload: 'Job',
    image: 'osk',
    command: bootstrapCommand('volume-types'),
    env: [
      ...adminEnv(ctx),
      { name: 'VOLUME_TYPES', value: volumeTypes },
      ...(volumeQos ? [{ name: 'VOLUME_QOS', value: volumeQos }] : []),
    ],
    refs: ctx.catalogRefs('volumev3', 'cinder-api', 'cinder-ks-register', 'needs', 8776),
    // One StorageClass per backend, for clusters that consume these volume types through Cinder CSI.
    storageClasses: backends.map((b) => ({ name: b.storageClass, volumeType: b.volumeType })),
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', SIZES.job),
    backoffLimit: 6,
    host: {
      kind: 'builtin',
      action: {
        volumeTypes: backends.map((b) => ({
          name: b.volumeType,
          backend: m && !hostCephEnabled(ctx) ? FAKE_BACKEND : b.name,
          ...(b.qos ? { qos: Object.fromEntries(qosProperties(b)) } : {}),
        })),
      },
    },
  };
}

export function cinder(ctx: CatalogContext): ServiceDef {
  const backends = cinderBackends(ctx);
  const conf = cinderConf(ctx, backends);
  const p = cinderParts(ctx);
  const components: ComponentDef[] = [...cinderJobs(p), cinderApi(p), ...daemons(p), volumeTypesJob(ctx, backends)];
  return {
    name: 'cinder',
    catalog: { type: 'volumev3', component: 'cinder-api', register: 'cinder-ks-register' },
    secrets: serviceSecrets('cinder', { rabbit: true }),
    configs: [
      {
        name: 'cinder',
        dir: ctx.configDir('cinder', '/etc/cinder'),
        files: [
          { name: 'cinder.conf', ini: conf, validate: 'cinder.conf' },
          uwsgiIni('cinder-api-uwsgi.ini', 8776, { script: '/var/lib/openstack/bin/cinder-wsgi' }, apiProcesses(ctx)),
        ],
      },
    ],
    components,
  };
}

/** A QoS limit is a whole number; anything else (a value that slipped past validation) is refused. */
function wholeNumber(where: string, v: unknown): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v > 0) return v;
  throw new OskError(`${where}: expected a positive whole number, found ${JSON.stringify(v)}`, {
    exitCode: ExitCode.invalidInput,
  });
}
