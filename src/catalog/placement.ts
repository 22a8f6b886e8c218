/** Placement: the resource-provider API Nova schedules against. */
import type { CatalogContext } from './context.js';
import {
  apiProbes,
  apiProcesses,
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
import type { IniDoc } from '../config/ini.js';
import type { ComponentDef, ServiceDef } from './types.js';

function placementConf(ctx: CatalogContext): IniDoc {
  const conf = ctx.ini('placement.conf');
  conf.section('DEFAULT', { use_stderr: true });
  conf.section('placement_database', {
    connection: ctx.dbConnection('placement', 'placement', 'placement-db-password', 'placement-db-init'),
    ...ctx.dbSettings(),
  });
  conf.section('api', { auth_strategy: 'keystone' });
  conf.section('keystone_authtoken', ctx.authtoken('placement'));
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  return conf;
}

export function placement(ctx: CatalogContext): ServiceDef {
  const internal = `http://${ctx.topology.host('placement-api')}:8778`;
  const etc = ctx.configDir('placement', '/etc/placement');
  const conf = placementConf(ctx);
  return {
    name: 'placement',
    catalog: { type: 'placement', component: 'placement-api', register: 'placement-ks-register' },
    secrets: serviceSecrets('placement'),
    configs: [
      {
        name: 'placement',
        dir: etc,
        files: [
          { name: 'placement.conf', ini: conf, validate: 'placement.conf' },
          uwsgiIni(
            'placement-api-uwsgi.ini',
            8778,
            { script: '/var/lib/openstack/bin/placement-api' },
            apiProcesses(ctx),
          ),
        ],
      },
    ],
    components: [...placementJobs(ctx, internal), placementApi(ctx, etc)],
  };
}

/** The database and Keystone Jobs. */
function placementJobs(ctx: CatalogContext, internal: string): ComponentDef[] {
  return [
    dbInitJob(ctx, 'placement', ['placement']),
    dbSyncJob(
      ctx,
      'placement',
      'placement',
      [
        'placement-manage',
        '--config-file',
        '/etc/placement/placement.conf',
        '--config-dir',
        '/etc/placement/placement.conf.d',
        'db',
        'sync',
      ],
      'placement',
      [],
      {
        command: [
          'placement-manage',
          ...hostConfigArgs(ctx, 'placement', '/etc/placement', 'placement.conf'),
          'db',
          'sync',
        ],
        packages: ['placement-api'],
      },
    ),
    ksUserJob(ctx, 'placement'),
    ksRegisterJob(ctx, 'placement', 'placement', 'placement', internal, 'placement'),
  ];
}

function placementApi(ctx: CatalogContext, etc: string): ComponentDef {
  const user = ctx.spec.services?.placement;
  return {
    id: 'placement-api',
    service: 'placement',
    part: 'api',
    workload: 'Deployment',
    image: 'placement',
    command: ['uwsgi', '--ini', '/etc/placement/placement-api-uwsgi.ini'],
    ports: [{ name: 'http', port: 8778 }],
    service_: { ports: [{ name: 'http', port: 8778 }] },
    publicHost: 'placement',
    publicPort: 8778,
    ...apiProbes('/', 8778),
    configs: ['placement'],
    after: [{ target: 'placement-db-sync', why: 'the API serves from the schema placement-db-sync brings to head' }],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    settings: ctx.settings(user?.api, 'controlPlane', SIZES.api),
    // placement's WSGI script reads placement.conf from OS_PLACEMENT_CONFIG_DIR.
    host: {
      kind: 'process',
      ...hostUwsgi(ctx, 8778, '/usr/bin/placement-api', { OS_PLACEMENT_CONFIG_DIR: etc }, ['placement-api']),
      ports: [8778],
      ready: { http: { port: 8778, path: '/' } },
    },
  };
}
