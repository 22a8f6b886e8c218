/**
 * The exporters of spec.monitoring (Kubernetes only): metrics of what does not publish its own.
 * RabbitMQ needs none (its rabbitmq_prometheus plugin serves :15692). Each exporter is a small
 * Deployment scraped by a PodMonitor (targets/kubernetes/monitoring/); its credentials come from the store and
 * reach it only through a Secret.
 *
 * - mysqld-exporter, multi-target (/probe?target=…): one exporter, one scrape per Galera node,
 *   because wsrep state is per node. It logs in as its own user `mysqld_exporter` (made by the
 *   Job mysqld-exporter-db-init) with only monitoring privileges (MONITORING_GRANTS), not as
 *   root: the exporter's scrape port is reachable in the cluster, its credentials should not
 *   open the cloud's databases. Credentials: the [client] section of a my.cnf.
 * - memcached-exporter, multi-target (/scrape?target=…): one scrape per memcached server.
 * - openstack-exporter: a clouds.yaml with the cloud administrator's credentials, internal
 *   endpoints; openstack_<service>_up and the *_agent_state of nova, neutron and cinder.
 * - blackbox-exporter, multi-target (/probe?module=openstack_api&target=…): an unauthenticated
 *   GET of each API's version document on its internal Service, every 15 s: probe_success and
 *   probe_duration_seconds per API. The APIs publish no latency metrics of their own, and
 *   without endpoints.publicDomain there is no Ingress whose histogram could stand in; with
 *   these, "the API answers, and how fast" has data on every cloud.
 */
import { toPlainYaml } from '../plain-yaml.js';
import type { Ref } from '../config/ini.js';
import { dbInitJob, password } from './common.js';
import type { CatalogContext } from './context.js';
import type { ImageKey } from '../spec/image-keys.js';
import type { ComponentDef, ServiceDef } from './types.js';

export const EXPORTER_PORTS = { mysqld: 9104, memcached: 9150, openstack: 9180, blackbox: 9115 } as const;
/** The blackbox exporter's module for the API probes. */
export const API_PROBE_MODULE = 'openstack_api';

/** Every API the blackbox exporter probes: the component and its internal version-document URL. */
export function probedApis(ctx: CatalogContext): { component: string; port: number; url: string }[] {
  const all = [
    ...(ctx.enabled('keystone') ? [{ component: 'keystone-api', port: 5000 }] : []),
    ...apis(ctx).map((a) => ({ component: a.component, port: a.port })),
  ];
  return all.map((a) => ({ ...a, url: `http://${ctx.topology.host(a.component)}:${a.port}/` }));
}

/**
 * Version documents answer 200 (neutron, placement, octavia) or 300 Multiple Choices (keystone, nova,
 * cinder, glance) without a token; anything else, or no answer within 5 s, is a failed probe.
 */
export const BLACKBOX_CONFIG = `modules:
  ${API_PROBE_MODULE}:
    prober: http
    timeout: 5s
    http:
      method: GET
      valid_status_codes: [200, 300]
      follow_redirects: false
      preferred_ip_protocol: ip4
      ip_protocol_fallback: true
`;
/** The cloud name inside the exporter's clouds.yaml (its positional argument). */
const EXPORTER_CLOUD = 'osk';

const SIZING = { cpu: '20m', memory: '32Mi', memoryLimit: '128Mi', haReplicas: 1 };

/** MariaDB user of mysqld_exporter. */
const EXPORTER_DB_USER = 'mysqld_exporter';
/**
 * What mysqld_exporter's collectors read, and no table data: PROCESS (processlist, InnoDB
 * status and metrics), BINLOG MONITOR and SLAVE MONITOR (MariaDB ≥ 10.5's split of REPLICATION
 * CLIENT: binlog and replica status), SELECT on performance_schema only. Global status and
 * variables (wsrep_*) need no privilege. Upstream's README grants SELECT ON *.*, which would
 * let the metrics user read every OpenStack database.
 */
const MONITORING_GRANTS = ['PROCESS, BINLOG MONITOR, SLAVE MONITOR ON *.*', 'SELECT ON performance_schema.*'];
const NOBODY = 65534;

/** The OpenStack APIs openstack-exporter calls (component, port) when their service is enabled. */
function apis(
  ctx: CatalogContext,
): { service: 'nova' | 'neutron' | 'cinder' | 'glance' | 'placement' | 'octavia'; component: string; port: number }[] {
  const all = [
    { service: 'nova' as const, component: 'nova-api', port: 8774 },
    { service: 'neutron' as const, component: 'neutron-server', port: 9696 },
    { service: 'cinder' as const, component: 'cinder-api', port: 8776 },
    { service: 'glance' as const, component: 'glance-api', port: 9292 },
    { service: 'placement' as const, component: 'placement-api', port: 8778 },
    { service: 'octavia' as const, component: 'octavia-api', port: 9876 },
  ];
  return all.filter((a) => ctx.enabled(a.service));
}

type Config = ServiceDef['configs'][number];
/** One exporter of the service: its files and its Deployment. */
type Exporter = { config: Config; component: ComponentDef };

/**
 * The shape every exporter shares: one Deployment named after its image, a metrics port probed
 * for liveness, run as nobody on the control plane. `wiring` is its config bundle or, with none,
 * the references it scrapes.
 */
function exporterDeployment(
  ctx: CatalogContext,
  e: {
    id: ImageKey;
    port: number;
    command: string[];
    readiness?: ComponentDef['readiness'];
    wiring: { configs: string[] } | { refs: Ref[] };
    sizing?: typeof SIZING;
  },
): ComponentDef {
  return {
    id: e.id,
    service: 'monitoring',
    part: e.id,
    workload: 'Deployment',
    image: e.id,
    command: e.command,
    ports: [{ name: 'metrics', port: e.port }],
    readiness: e.readiness ?? { tcp: { port: e.port }, periodSeconds: 15 },
    liveness: { tcp: { port: e.port }, initialDelaySeconds: 10, periodSeconds: 30 },
    ...e.wiring,
    runAsUser: NOBODY,
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', e.sizing ?? SIZING),
  };
}

/** mysqld-exporter: its my.cnf with the metrics user, which its own db-init Job creates. */
function mysqldExporter(ctx: CatalogContext): { config: Config; components: ComponentDef[] } {
  const mariadbReplicas = ctx.spec.infra?.mariadb?.replicas ?? (ctx.ha ? 3 : 1);
  const mariadbHosts = Array.from({ length: mariadbReplicas }, (_, i) => ctx.topology.podHost('mariadb', i));
  const myCnf = `[client]\nuser = ${EXPORTER_DB_USER}\npassword = ${ctx.secret('mysqld-exporter-db-password')}\n`;
  const mysqlRefs: Ref[] = [
    { target: 'mariadb', kind: 'calls', port: 3306, via: `host ${mariadbHosts[0]} (probe target)` },
    {
      target: 'mysqld-exporter-db-init',
      kind: 'needs',
      via: `user ${EXPORTER_DB_USER} created by mysqld-exporter-db-init`,
    },
  ];
  return {
    config: {
      name: 'mysqld-exporter',
      dir: '/etc/mysqld-exporter',
      files: [{ name: 'my.cnf', text: myCnf, secret: true, refs: mysqlRefs }],
    },
    components: [
      dbInitJob(ctx, 'monitoring', [], {
        id: 'mysqld-exporter-db-init',
        user: EXPORTER_DB_USER,
        passwordSecret: 'mysqld-exporter-db-password',
        grants: MONITORING_GRANTS,
        maxConnections: 3,
      }),
      exporterDeployment(ctx, {
        id: 'mysqld-exporter',
        port: EXPORTER_PORTS.mysqld,
        command: [
          '/bin/mysqld_exporter',
          '--config.my-cnf=/etc/mysqld-exporter/my.cnf',
          `--web.listen-address=:${EXPORTER_PORTS.mysqld}`,
          '--collect.global_status',
          '--collect.global_variables',
        ],
        wiring: { configs: ['mysqld-exporter'] },
      }),
    ],
  };
}

function memcachedExporter(ctx: CatalogContext): ComponentDef {
  return exporterDeployment(ctx, {
    id: 'memcached-exporter',
    port: EXPORTER_PORTS.memcached,
    command: ['/bin/memcached_exporter', `--web.listen-address=:${EXPORTER_PORTS.memcached}`],
    wiring: {
      refs: [
        {
          target: 'memcached',
          kind: 'calls',
          port: 11211,
          via: `host ${ctx.topology.podHost('memcached', 0)} (scrape target)`,
        },
      ],
    },
  });
}

/** blackbox-exporter, when there is an API to probe. */
function blackboxExporter(ctx: CatalogContext): Exporter | undefined {
  const probed = probedApis(ctx);
  if (!probed.length) return undefined;
  return {
    config: {
      name: 'blackbox-exporter',
      dir: '/etc/blackbox-exporter',
      files: [
        {
          name: 'blackbox.yml',
          text: BLACKBOX_CONFIG,
          refs: probed.map(
            (a): Ref => ({ target: a.component, kind: 'calls', port: a.port, via: `probe target ${a.url}` }),
          ),
        },
      ],
    },
    component: exporterDeployment(ctx, {
      id: 'blackbox-exporter',
      port: EXPORTER_PORTS.blackbox,
      command: [
        '/bin/blackbox_exporter',
        '--config.file=/etc/blackbox-exporter/blackbox.yml',
        `--web.listen-address=:${EXPORTER_PORTS.blackbox}`,
      ],
      readiness: { http: { path: '/-/healthy', port: EXPORTER_PORTS.blackbox }, periodSeconds: 15 },
      wiring: { configs: ['blackbox-exporter'] },
    }),
  };
}

/** openstack-exporter's clouds.yaml: the cloud administrator, internal endpoints. */
function exporterCloudsYaml(ctx: CatalogContext): string {
  const authUrl = `${ctx.keystoneInternalUrl()}/v3`;
  return toPlainYaml({
    clouds: {
      [EXPORTER_CLOUD]: {
        region_name: ctx.region,
        identity_api_version: 3,
        interface: 'internal',
        identity_interface: 'internal',
        auth: {
          auth_url: authUrl,
          username: 'admin',
          password: ctx.secret('keystone-admin-password'),
          project_name: 'admin',
          project_domain_name: 'Default',
          user_domain_name: 'Default',
        },
      },
    },
  });
}

/** openstack-exporter, when there is a Keystone to log in to. */
function openstackExporter(ctx: CatalogContext): Exporter | undefined {
  if (!ctx.enabled('keystone')) return undefined;
  return {
    config: {
      name: 'openstack-exporter',
      dir: '/etc/openstack',
      files: [
        {
          name: 'clouds.yaml',
          text: exporterCloudsYaml(ctx),
          secret: true,
          refs: [
            ctx.keystoneRef(`host ${ctx.topology.host('keystone-api')}`),
            { target: 'keystone-bootstrap', kind: 'needs', via: 'user admin created by keystone-bootstrap' },
            ...apis(ctx).map(
              (a): Ref => ({
                target: a.component,
                kind: 'calls',
                port: a.port,
                via: `keystone catalog, internal endpoint of ${a.service}`,
              }),
            ),
          ],
        },
      ],
    },
    component: exporterDeployment(ctx, {
      id: 'openstack-exporter',
      port: EXPORTER_PORTS.openstack,
      command: [
        '/bin/openstack-exporter',
        '--os-client-config=/etc/openstack/clouds.yaml',
        `--web.listen-address=:${EXPORTER_PORTS.openstack}`,
        '--endpoint-type=internal',
        '--disable-slow-metrics',
        EXPORTER_CLOUD,
      ],
      // /metrics makes every API call of a scrape: probe the port, not the page.
      readiness: { tcp: { port: EXPORTER_PORTS.openstack }, periodSeconds: 15 },
      wiring: { configs: ['openstack-exporter'] },
      sizing: { ...SIZING, memory: '64Mi', memoryLimit: '256Mi' },
    }),
  };
}

export function monitoring(ctx: CatalogContext): ServiceDef {
  const mysqld = mysqldExporter(ctx);
  const optional = [blackboxExporter(ctx), openstackExporter(ctx)].filter((e) => e !== undefined);
  const configs: ServiceDef['configs'] = [mysqld.config, ...optional.map((e) => e.config)];
  const components: ComponentDef[] = [
    ...mysqld.components,
    memcachedExporter(ctx),
    ...optional.map((e) => e.component),
  ];
  const secrets = [
    password(
      'mysqld-exporter-db-password',
      'mysqld-exporter-db',
      'mysqld-exporter-db-init',
      `MariaDB password of the metrics user ${EXPORTER_DB_USER}`,
    ),
  ];
  return { name: 'monitoring', secrets, configs, components };
}

/** Monitoring exporters run on Kubernetes only (osk up has no Prometheus Operator) and when enabled. */
export function monitoringEnabled(ctx: CatalogContext): boolean {
  return !ctx.machine && ctx.spec.monitoring?.enabled !== false;
}
