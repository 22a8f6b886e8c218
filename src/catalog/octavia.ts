/**
 * Octavia with the OVN provider only: load balancers are OVN Load_Balancer rows on the logical
 * routers and switches of their subnet, so no amphora VMs, no worker, health manager or
 * housekeeping. The provider's driver runs inside the API; its agent (status updates, OVN events)
 * runs under octavia-driver-agent, which the API's driver reaches through Unix sockets.
 */
import type { IniDoc } from '../config/ini.js';
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
import { catalogSection } from './nova-conf.js';
import { ovnNbConnection, ovnSbConnection } from './ovn.js';
import type { ComponentDef, ProbeDef, ServiceDef } from './types.js';

const PORT = 9876;

/**
 * Where the driver agent listens. The OVN provider's driver opens octavia-lib's default paths
 * whatever [driver_agent] says, so these are those defaults, written out: API and agent must
 * share this directory (one pod on Kubernetes, one host otherwise).
 */
const SOCKET_DIR = '/var/run/octavia';
const SOCKETS = ['status', 'stats', 'get'].map((s) => `${SOCKET_DIR}/${s}.sock`);

/**
 * The roles Octavia's policy names. A project member needs load-balancer_member to use load
 * balancers (Octavia's own rule, which CAPO and the cloud controller's docs assume); they are
 * created with the catalog entry so an administrator can grant them.
 */
const OCTAVIA_ROLES = [
  'load-balancer_observer',
  'load-balancer_global_observer',
  'load-balancer_member',
  'load-balancer_quota_admin',
  'load-balancer_admin',
];

function octaviaConf(ctx: CatalogContext): IniDoc {
  const conf = ctx.ini('octavia.conf');
  const ovnOwn = (ctx.spec.network?.backend ?? 'ovn') !== 'kube-ovn';
  const ovnRef = (id: string, port: number) =>
    ovnOwn ? [ctx.needs(id, port, `host ${ctx.topology.podHost(id, 0)}`)] : [];
  conf.section('DEFAULT', { use_stderr: true });
  conf.section('api_settings', {
    auth_strategy: 'keystone',
    enabled_provider_drivers: 'ovn:OVN provider',
    default_provider_driver: 'ovn',
  });
  conf.section('driver_agent', {
    enabled_provider_agents: 'ovn',
    status_socket_path: SOCKETS[0]!,
    stats_socket_path: SOCKETS[1]!,
    get_socket_path: SOCKETS[2]!,
  });
  conf.section('database', {
    connection: ctx.dbConnection('octavia', 'octavia', 'octavia-db-password', 'octavia-db-init'),
    ...ctx.dbSettings(),
  });
  conf.section('keystone_authtoken', ctx.authtoken('octavia'));
  // The API checks VIP networks and the OVN driver creates VIP ports in Neutron as octavia.
  conf.section('service_auth', ctx.serviceAuth('octavia'));
  conf.section('neutron', {
    ...catalogSection(ctx, 'network', 'calls', 9696),
    // Octavia and its OVN provider both read [neutron]; the option naming the interface moved
    // to keystoneauth's adapter options after Zed.
    ...(ctx.release === 'zed' ? { endpoint_type: 'internalURL' } : { valid_interfaces: 'internal' }),
  });
  conf.section('ovn', {
    ovn_nb_connection: { value: ovnNbConnection(ctx), refs: ovnRef('ovn-nb', 6641) },
    ovn_sb_connection: { value: ovnSbConnection(ctx), refs: ovnRef('ovn-sb', 6642) },
  });
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  return conf;
}

export function octavia(ctx: CatalogContext): ServiceDef {
  const internal = `http://${ctx.topology.host('octavia-api')}:${PORT}`;
  const etc = ctx.configDir('octavia', '/etc/octavia');
  return {
    name: 'octavia',
    catalog: { type: 'load-balancer', component: 'octavia-api', register: 'octavia-ks-register' },
    secrets: serviceSecrets('octavia'),
    configs: [
      {
        name: 'octavia',
        dir: etc,
        files: [
          { name: 'octavia.conf', ini: octaviaConf(ctx), validate: 'octavia.conf' },
          uwsgiIni('octavia-api-uwsgi.ini', PORT, { script: '/var/lib/openstack/bin/octavia-wsgi' }, apiProcesses(ctx)),
        ],
      },
    ],
    components: [...octaviaJobs(ctx, internal), ...(ctx.machine ? [hostDriverAgent(ctx)] : []), octaviaApi(ctx)],
  };
}

function octaviaJobs(ctx: CatalogContext, internal: string): ComponentDef[] {
  const args = ['--config-file', '/etc/octavia/octavia.conf', '--config-dir', '/etc/octavia/octavia.conf.d'];
  return [
    dbInitJob(ctx, 'octavia', ['octavia']),
    dbSyncJob(ctx, 'octavia', 'octavia', ['octavia-db-manage', ...args, 'upgrade', 'head'], 'octavia', [], {
      command: [
        'octavia-db-manage',
        ...hostConfigArgs(ctx, 'octavia', '/etc/octavia', 'octavia.conf'),
        'upgrade',
        'head',
      ],
      packages: ['octavia-api'],
    }),
    ksUserJob(ctx, 'octavia'),
    ksRegisterJob(ctx, 'octavia', 'load-balancer', 'octavia', internal, 'load-balancer', OCTAVIA_ROLES),
  ];
}

/** The driver agent is ready when all three of its sockets exist. */
const AGENT_LISTENING = SOCKETS.flatMap((s, i) => [...(i ? ['-a'] : []), '-S', s]);
const agentListening: ProbeDef = {
  exec: { command: ['test', ...AGENT_LISTENING] },
  periodSeconds: 2,
  failureThreshold: 60,
};

const AGENT_PACKAGES = ['octavia-driver-agent', 'python3-ovn-octavia-provider'];

function octaviaApi(ctx: CatalogContext): ComponentDef {
  const user = ctx.spec.services?.octavia;
  const args = ['--config-file', '/etc/octavia/octavia.conf', '--config-dir', '/etc/octavia/octavia.conf.d'];
  const hostArgs = hostConfigArgs(ctx, 'octavia', '/etc/octavia', 'octavia.conf');
  const settings = ctx.settings(user?.api, 'controlPlane', SIZES.api);
  return {
    id: 'octavia-api',
    service: 'octavia',
    part: 'api',
    workload: 'Deployment',
    image: 'octavia',
    command: ['uwsgi', '--ini', '/etc/octavia/octavia-api-uwsgi.ini'],
    ports: [{ name: 'http', port: PORT }],
    service_: { ports: [{ name: 'http', port: PORT }] },
    publicHost: 'load-balancer',
    publicPort: PORT,
    ...apiProbes('/', PORT),
    // The API's OVN driver opens the agent's sockets when it loads, so the agent starts first.
    sidecars: [
      {
        name: 'driver-agent',
        command: ['octavia-driver-agent', ...args],
        startup: agentListening,
        resources: ctx.settings(undefined, 'controlPlane', SIZES.worker).resources,
      },
    ],
    emptyDirs: [{ name: 'run', mountPath: SOCKET_DIR }],
    configs: ['octavia'],
    after: [
      { target: 'octavia-db-sync', why: 'the API serves from the schema octavia-db-sync brings to head' },
      ...(ctx.machine
        ? [
            {
              target: 'octavia-driver-agent',
              why: "the API's OVN driver opens the driver agent's sockets when it loads",
            },
          ]
        : []),
    ],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    settings,
    // octavia-wsgi reads its config files from sys.argv. python3-octaviaclient: the openstack
    // CLI's loadbalancer commands, which users expect beside the API osk installs the CLI with.
    host: {
      kind: 'process',
      ...hostUwsgi(
        ctx,
        PORT,
        '/usr/bin/octavia-wsgi',
        {},
        ['octavia-api', ...AGENT_PACKAGES, 'python3-octaviaclient'],
        hostArgs,
      ),
      ports: [PORT],
      ready: { http: { port: PORT, path: '/' } },
    },
  };
}

/** On a host the driver agent is a program of its own, in the directory the API looks in. */
function hostDriverAgent(ctx: CatalogContext): ComponentDef {
  const hostArgs = hostConfigArgs(ctx, 'octavia', '/etc/octavia', 'octavia.conf');
  return {
    id: 'octavia-driver-agent',
    service: 'octavia',
    part: 'driver-agent',
    workload: 'Deployment',
    image: 'octavia',
    command: ['octavia-driver-agent', ...hostArgs],
    configs: ['octavia'],
    after: [
      { target: 'octavia-db-sync', why: 'the agent writes load balancer statuses into the schema of octavia-db-sync' },
    ],
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', SIZES.worker),
    host: {
      kind: 'process',
      command: ['octavia-driver-agent', ...hostArgs],
      packages: AGENT_PACKAGES,
      dirs: [SOCKET_DIR],
      ready: { exec: ['test', ...AGENT_LISTENING] },
    },
  };
}
