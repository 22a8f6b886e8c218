/** Glance: image API with a file, RBD or (node-local) cache-backed store. */
import { cephAfter, cephConfPath, cephMounts, cephSettings, hostCephEnabled, RBD_PACKAGES } from './ceph.js';
import type { CatalogContext } from './context.js';
import {
  apiProbes,
  apiProcesses,
  dbInitJob,
  dbSyncJob,
  hostConfigArgs,
  ksRegisterJob,
  ksUserJob,
  serviceSecrets,
  SIZES,
  uwsgiIni,
} from './common.js';
import type { IniDoc } from '../config/ini.js';
import type { ComponentDef, ServiceDef } from './types.js';

type Ceph = NonNullable<NonNullable<CatalogContext['spec']['storage']>['ceph']>;
type Cache = NonNullable<NonNullable<NonNullable<CatalogContext['spec']['storage']>['glance']>['cache']>;

export function glance(ctx: CatalogContext): ServiceDef {
  const ceph = cephSettings(ctx);
  const cache = ctx.spec.storage?.glance?.cache;
  const internal = `http://${ctx.topology.host('glance-api')}:9292`;
  const data = ctx.dataDir('glance');
  const conf = glanceConf(ctx, ceph, cache, data);

  const etc = ctx.configDir('glance', '/etc/glance');
  const hostArgs = hostConfigArgs(ctx, 'glance', '/etc/glance', 'glance-api.conf');
  const api = glanceApi(ctx, { ceph, cache, data, hostArgs });
  return {
    name: 'glance',
    catalog: { type: 'image', component: 'glance-api', register: 'glance-ks-register' },
    secrets: serviceSecrets('glance'),
    configs: [
      {
        name: 'glance',
        dir: etc,
        files: [
          // Glance's WSGI app reads glance-api.conf and oslo's default dir for the project
          // glance (glance.conf.d), never a --config-dir: the credentials go there.
          { name: 'glance-api.conf', ini: conf, validate: 'glance-api.conf', configDir: 'glance.conf.d' },
          uwsgiIni(
            'glance-api-uwsgi.ini',
            9292,
            { script: '/var/lib/openstack/bin/glance-wsgi-api' },
            apiProcesses(ctx),
          ),
        ],
      },
    ],
    components: [
      dbInitJob(ctx, 'glance', ['glance']),
      dbSyncJob(
        ctx,
        'glance',
        'glance',
        [
          'glance-manage',
          '--config-file',
          '/etc/glance/glance-api.conf',
          '--config-dir',
          '/etc/glance/glance.conf.d',
          'db_sync',
        ],
        'glance',
        [],
        { command: ['glance-manage', ...hostArgs, 'db_sync'], packages: ['glance-api'] },
      ),
      ksUserJob(ctx, 'glance'),
      ksRegisterJob(ctx, 'glance', 'image', 'glance', internal, 'image'),
      api,
    ],
  };
}

/** "512M" → bytes, for options that take a byte count. */
function toBytes(size: string): number {
  const m = /^(\d+)([KMGT]?)$/.exec(size);
  if (!m) throw new Error(`bad size ${size}`);
  const mult = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 }[m[2] as '' | 'K' | 'M' | 'G' | 'T'];
  return Number(m[1]) * mult;
}

function glanceConf(ctx: CatalogContext, ceph: Ceph | undefined, cache: Cache | undefined, data: string): IniDoc {
  const conf = ctx.ini('glance-api.conf');
  conf.section('DEFAULT', {
    use_stderr: true,
    enabled_backends: ceph ? 'rbd:rbd' : 'file:file',
    show_image_direct_url: Boolean(ceph),
    show_multiple_locations: false,
    // 0: the eventlet server of the all-in-one serves from its own process, no forked worker.
    workers: ctx.machine ? 0 : apiProcesses(ctx),
    ...(cache
      ? {
          image_cache_dir: `${data}/image-cache`,
          ...(cache.maxSize ? { image_cache_max_size: toBytes(cache.maxSize) } : {}),
        }
      : {}),
  });
  conf.section('database', {
    connection: ctx.dbConnection('glance', 'glance', 'glance-db-password', 'glance-db-init'),
    ...ctx.dbSettings(),
  });
  conf.section('keystone_authtoken', ctx.authtoken('glance'));
  conf.section('paste_deploy', {
    flavor: cache ? 'keystone+cachemanagement' : 'keystone',
    ...(ctx.machine ? { config_file: '/etc/glance/glance-api-paste.ini' } : {}),
  });
  // Debian's Zed glance-api is the eventlet server, which binds by itself.
  if (ctx.machine) conf.section('DEFAULT', { bind_host: ctx.topology.bindAddress, bind_port: 9292 });
  conf.section('glance_store', { default_backend: ceph ? 'rbd' : 'file' });
  if (ceph)
    conf.section('rbd', {
      rbd_store_pool: ceph.pools.images,
      rbd_store_user: ceph.user,
      rbd_store_ceph_conf: cephConfPath(ctx),
      rbd_store_chunk_size: 8,
    });
  else conf.section('file', { filesystem_store_datadir: `${data}/images` });
  conf.section('oslo_concurrency', { lock_path: `${data}/tmp` });
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  return conf;
}

function glanceApi(
  ctx: CatalogContext,
  o: { ceph: Ceph | undefined; cache: Cache | undefined; data: string; hostArgs: string[] },
): ComponentDef {
  const { ceph, cache, data, hostArgs } = o;
  const user = ctx.spec.services?.glance;
  return {
    id: 'glance-api',
    service: 'glance',
    part: 'api',
    workload: 'Deployment',
    image: 'glance',
    command: ['uwsgi', '--ini', '/etc/glance/glance-api-uwsgi.ini'],
    ports: [{ name: 'http', port: 9292 }],
    service_: { ports: [{ name: 'http', port: 9292 }] },
    publicHost: 'image',
    publicPort: 9292,
    ...apiProbes('/healthcheck', 9292),
    configs: ['glance'],
    ...cephMounts(ctx, ['glance']),
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/glance/tmp' }],
    ...(ceph
      ? {}
      : {
          volumeClaim: {
            name: 'images',
            mountPath: '/var/lib/glance/images',
            size: '20Gi',
            ...ctx.storageClass(undefined),
          },
        }),
    ...(cache
      ? {
          hostPaths: [
            {
              name: 'image-cache',
              path: cache.hostPath,
              mountPath: '/var/lib/glance/image-cache',
              type: 'DirectoryOrCreate' as const,
            },
          ],
        }
      : {}),
    after: [
      { target: 'glance-db-sync', why: 'the API serves from the schema glance-db-sync brings to head' },
      ...cephAfter(ctx),
    ],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    // A file store on a ReadWriteOnce claim cannot be shared: one replica unless images are in Ceph.
    settings: ctx.settings(user?.api, 'controlPlane', { ...SIZES.api, ...(ceph ? {} : { haReplicas: 1 }) }),
    host: {
      kind: 'process',
      command: ['glance-api', ...hostArgs],
      packages: ['glance-api', ...(hostCephEnabled(ctx) ? RBD_PACKAGES : [])],
      dirs: [`${data}/images`, `${data}/tmp`],
      ports: [9292],
      ready: { http: { port: 9292, path: '/healthcheck' } },
    },
  };
}
