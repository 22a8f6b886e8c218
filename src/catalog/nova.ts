/**
 * Nova: API, metadata, conductor, scheduler, noVNC proxy; nova-compute and libvirt as
 * DaemonSets on compute nodes (a second pair on GPU nodes when they are declared); jobs for the
 * schema and cells (cell0 and cell1) and for host discovery.
 */
import type { IniDoc } from '../config/ini.js';
import { CEPH_CONF, cephMounts } from './ceph.js';
import type { CatalogContext } from './context.js';
import {
  apiProcesses,
  dbInitJob,
  dbSyncJob,
  hostConfigArgs,
  ksRegisterJob,
  ksUserJob,
  password,
  serviceSecrets,
  SIZES,
  uwsgiIni,
} from './common.js';
import type { ComponentDef, ServiceDef } from './types.js';

/**
 * nova.conf. Compute nodes get their own copy without database credentials or token validation:
 * nova-compute reaches the database only through nova-conductor, and a compromised hypervisor
 * must not hold the keys to every cell.
 */
function novaConf(ctx: CatalogContext, compute: boolean): IniDoc {
  const user = ctx.spec.services?.nova;
  const ceph = ctx.spec.storage?.backend === 'ceph' ? ctx.spec.storage.ceph : undefined;
  const conf = ctx.ini('nova.conf');
  const m = ctx.machine;
  const data = ctx.dataDir('nova');
  conf.section('DEFAULT', {
    use_stderr: true,
    transport_url: ctx.transportUrl('nova', 'rabbitmq-nova-password', 'nova'),
    state_path: data,
    osapi_compute_workers: apiProcesses(ctx),
    metadata_workers: apiProcesses(ctx),
    compute_driver: 'libvirt.LibvirtDriver',
    cpu_allocation_ratio: user?.cpuAllocationRatio ?? 4.0,
    ram_allocation_ratio: user?.ramAllocationRatio ?? 1.0,
    allow_resize_to_same_host: true,
  });
  if (m) {
    // One host: loopback listeners, a fixed host name (the one Neutron binds ports to), the
    // compute API only (instances get metadata through the OVN agent, which needs a datapath).
    conf.section('DEFAULT', {
      host: m.hostname,
      my_ip: '127.0.0.1',
      osapi_compute_listen: ctx.topology.bindAddress,
      metadata_listen: ctx.topology.bindAddress,
      enabled_apis: 'osapi_compute',
      instances_path: `${data}/instances`,
      ...(m.hypervisor === 'fake' ? { compute_driver: 'fake.FakeDriver' } : {}),
    });
  }
  if (!compute) {
    conf.section('api', { auth_strategy: 'keystone' });
    conf.section('api_database', {
      connection: ctx.dbConnection('nova_api', 'nova', 'nova-db-password', 'nova-db-init'),
      ...ctx.dbSettings(),
    });
    conf.section('database', {
      connection: ctx.dbConnection('nova', 'nova', 'nova-db-password', 'nova-db-init'),
      ...ctx.dbSettings(),
    });
    conf.section('keystone_authtoken', ctx.authtoken('nova'));
  }
  conf.section('service_user', { send_service_user_token: true, ...ctx.serviceAuth('nova') });
  conf.section('placement', {
    ...ctx.serviceAuth('nova'),
    ...ctx.ksaAdapter(),
    ...catalog(ctx, 'placement', 'needs', 8778),
  });
  conf.section('glance', { ...ctx.ksaAdapter(), ...catalog(ctx, 'image', 'needs', 9292) });
  if (ctx.enabled('neutron')) {
    conf.section('neutron', {
      ...ctx.serviceAuth('nova'),
      ...ctx.ksaAdapter(),
      service_metadata_proxy: true,
      metadata_proxy_shared_secret: { value: ctx.secret('nova-metadata-secret'), secret: true },
      ...catalog(ctx, 'network', 'calls', 9696),
    });
  }
  if (ctx.enabled('cinder'))
    conf.section('cinder', {
      catalog_info: 'volumev3:cinderv3:internalURL',
      ...catalog(ctx, 'volumev3', 'calls', 8776, 'os_region_name'),
    });
  conf.section('cache', {
    enabled: true,
    backend: 'oslo_cache.memcache_pool',
    memcache_servers: ctx.memcachedServers(),
  });
  const workers = m ? 1 : ctx.ha ? 4 : 2;
  conf.section('conductor', { workers });
  conf.section('scheduler', { workers, discover_hosts_in_cells_interval: 300 });
  conf.section('vnc', {
    enabled: m?.hypervisor !== 'fake',
    server_listen: ctx.topology.bindAddress,
    server_proxyclient_address: { value: '$my_ip', raw: true },
    novncproxy_host: ctx.topology.bindAddress,
    novncproxy_port: 6080,
    novncproxy_base_url: `${ctx.publicUrl('novnc', `http://${ctx.topology.host('nova-novncproxy')}:6080`)}/vnc_lite.html`,
  });
  conf.section('libvirt', {
    virt_type: 'kvm',
    connection_uri: 'qemu+unix:///system?socket=/run/libvirt/libvirt-sock',
    ...(ceph
      ? { images_type: 'rbd', images_rbd_pool: ceph.pools.vms, images_rbd_ceph_conf: CEPH_CONF, rbd_user: ceph.user }
      : {}),
  });
  conf.section('oslo_concurrency', { lock_path: `${data}/tmp` });
  conf.section('oslo_messaging_rabbit', ctx.oslo_messaging_rabbit());
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  conf.section('wsgi', { api_paste_config: '/etc/nova/api-paste.ini' });
  return conf;
}

/** API and cell schemas, cell0 and cell1 mapped; "$@" are nova-manage's config arguments. */
const NOVA_DB_SYNC = [
  'set -e',
  'nova-manage "$@" api_db sync',
  'nova-manage "$@" cell_v2 map_cell0',
  `nova-manage "$@" cell_v2 list_cells | grep -q ' cell1 ' || nova-manage "$@" cell_v2 create_cell --name cell1 --verbose`,
  'nova-manage "$@" db sync',
  'nova-manage "$@" db online_data_migrations',
].join('\n');

export function nova(ctx: CatalogContext): ServiceDef {
  const user = ctx.spec.services?.nova;
  const internal = `http://${ctx.topology.host('nova-api')}:8774/v2.1`;
  const conf = novaConf(ctx, false);
  const computeConf = novaConf(ctx, true);

  const args = ['--config-file', '/etc/nova/nova.conf', '--config-dir', '/etc/nova/nova.conf.d'];
  const m = ctx.machine;
  const hostArgs = hostConfigArgs(ctx, 'nova', '/etc/nova', 'nova.conf');
  const hostComputeArgs = hostConfigArgs(ctx, 'nova-compute', '/etc/nova', 'nova.conf');
  const novaPackages = ['nova-api', 'nova-conductor', 'nova-scheduler'];
  // A service row that nova-<binary> refreshed within the last minute: what `openstack compute
  // service list` shows as "up" (report_interval is 10 s).
  const serviceUp = (binary: string) => ({
    sql: {
      query: `SELECT COUNT(*) FROM nova.services WHERE \`binary\` = '${binary}' AND host = '${m?.hostname ?? ''}' AND deleted = 0 AND updated_at > UTC_TIMESTAMP() - INTERVAL 60 SECOND`,
      what: `${binary} reports as up in nova.services`,
    },
  });
  const skipOnHost = (why: string) => (m ? { host: { kind: 'skip' as const, why } } : {});
  const settings = (
    part: keyof NonNullable<typeof user>,
    size: typeof SIZES.api | typeof SIZES.worker | typeof SIZES.agent,
  ) => ctx.settings(user?.[part] as never, 'controlPlane', size);
  const schema = {
    target: 'nova-db-sync',
    why: 'nova-db-sync brings the API and cell schemas to head and maps cell0/cell1',
  };
  const worker = (part: 'conductor' | 'scheduler', extra: Partial<ComponentDef> = {}): ComponentDef => ({
    id: `nova-${part}`,
    service: 'nova',
    part,
    workload: 'Deployment',
    image: 'nova',
    command: [`nova-${part}`, ...args],
    readiness: {
      exec: { command: ['sh', '-c', `test -d /proc/1 && pgrep -f nova-${part} >/dev/null`] },
      periodSeconds: 30,
      timeoutSeconds: 10,
    },
    liveness: {
      exec: { command: ['sh', '-c', `pgrep -f nova-${part} >/dev/null`] },
      initialDelaySeconds: 60,
      periodSeconds: 60,
      timeoutSeconds: 10,
    },
    configs: ['nova'],
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/nova/tmp' }],
    after: [schema],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    settings: settings(part, SIZES.worker),
    host: {
      kind: 'process',
      command: [`nova-${part}`, ...hostArgs],
      packages: [`nova-${part}`],
      dirs: [`${ctx.dataDir('nova')}/tmp`],
      ready: serviceUp(`nova-${part}`),
    },
    ...extra,
  });

  const components: ComponentDef[] = [
    dbInitJob(ctx, 'nova', ['nova_api', 'nova', 'nova_cell0']),
    // The config arguments are the script's positional parameters: on a host they hold the
    // state directory's path, which is data, not script text.
    dbSyncJob(ctx, 'nova', 'nova', ['sh', '-c', NOVA_DB_SYNC, 'nova-db-sync', ...args], 'nova', [], {
      command: ['sh', '-c', NOVA_DB_SYNC, 'nova-db-sync', ...hostArgs],
      packages: novaPackages,
    }),
    ksUserJob(ctx, 'nova'),
    ksRegisterJob(ctx, 'nova', 'compute', 'nova', internal, 'compute'),
    {
      id: 'nova-api',
      service: 'nova',
      part: 'api',
      workload: 'Deployment',
      image: 'nova',
      command: ['uwsgi', '--ini', '/etc/nova/nova-api-uwsgi.ini'],
      ports: [{ name: 'http', port: 8774 }],
      service_: { ports: [{ name: 'http', port: 8774 }] },
      publicHost: 'compute',
      publicPort: 8774,
      readiness: { http: { path: '/', port: 8774 }, periodSeconds: 10, timeoutSeconds: 5 },
      liveness: {
        http: { path: '/', port: 8774 },
        initialDelaySeconds: 30,
        periodSeconds: 20,
        timeoutSeconds: 10,
        failureThreshold: 5,
      },
      configs: ['nova'],
      emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/nova/tmp' }],
      after: [schema],
      runAsUser: 42424,
      nodeRole: 'controlPlane',
      settings: settings('api', SIZES.api),
      // The eventlet nova-api, not uwsgi: under uwsgi's threads, calls that wait for an RPC reply
      // from nova-compute were seen to time out on this kind of host.
      host: {
        kind: 'process',
        command: ['nova-api', ...hostArgs],
        packages: ['nova-api'],
        dirs: [`${ctx.dataDir('nova')}/tmp`],
        ports: [8774],
        ready: { http: { port: 8774, path: '/' } },
      },
    },
    {
      id: 'nova-metadata',
      service: 'nova',
      part: 'metadata',
      workload: 'Deployment',
      image: 'nova',
      command: ['uwsgi', '--ini', '/etc/nova/nova-metadata-uwsgi.ini'],
      ports: [{ name: 'http', port: 8775 }],
      service_: { ports: [{ name: 'http', port: 8775 }] },
      readiness: { tcp: { port: 8775 }, periodSeconds: 10, timeoutSeconds: 5 },
      liveness: { tcp: { port: 8775 }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 10 },
      configs: ['nova'],
      emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/nova/tmp' }],
      after: [schema],
      // The OVN metadata agents run on the host network of compute nodes.
      externalPorts: [8775],
      runAsUser: 42424,
      nodeRole: 'controlPlane',
      settings: settings('metadata', SIZES.api),
      ...skipOnHost('instances reach metadata through the OVN metadata agent, which needs an Open vSwitch datapath'),
    },
    worker('conductor'),
    worker('scheduler'),
    {
      id: 'nova-novncproxy',
      service: 'nova',
      part: 'novncproxy',
      workload: 'Deployment',
      image: 'nova',
      command: ['nova-novncproxy', ...args, '--web', '/usr/share/novnc'],
      ports: [{ name: 'vnc', port: 6080 }],
      service_: { ports: [{ name: 'vnc', port: 6080 }] },
      publicHost: 'novnc',
      publicPort: 6080,
      readiness: { tcp: { port: 6080 }, periodSeconds: 10, timeoutSeconds: 5 },
      liveness: { tcp: { port: 6080 }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 10 },
      configs: ['nova'],
      after: [schema],
      runAsUser: 42424,
      nodeRole: 'controlPlane',
      settings: settings('novncproxy', SIZES.worker),
      ...skipOnHost('consoles need a real hypervisor; the fake driver has none'),
    },
  ];

  for (const role of ['compute', ...(ctx.spec.nodes?.gpu ? ['gpu' as const] : [])] as const) {
    const suffix = role === 'gpu' ? '-gpu' : '';
    const avoid = role === 'compute' ? ctx.spec.nodes?.gpu?.selector : undefined;
    const node = { nodeRole: role, ...(avoid ? { avoidNodeLabels: avoid } : {}) };
    const hostRun = {
      name: 'run-libvirt',
      path: '/run/libvirt',
      mountPath: '/run/libvirt',
      type: 'DirectoryOrCreate' as const,
    };
    const instances = {
      name: 'instances',
      path: '/var/lib/nova/instances',
      mountPath: '/var/lib/nova/instances',
      type: 'DirectoryOrCreate' as const,
    };
    components.push(
      {
        id: `libvirt${suffix}`,
        service: 'nova',
        part: 'libvirt',
        workload: 'DaemonSet',
        image: 'libvirt',
        command: ['sh', '-c', 'rm -f /run/libvirt/libvirtd.pid; exec libvirtd --listen'],
        readiness: {
          exec: { command: ['virsh', '-c', 'qemu:///system', 'version'] },
          periodSeconds: 15,
          timeoutSeconds: 10,
        },
        liveness: {
          exec: { command: ['virsh', '-c', 'qemu:///system', 'version'] },
          initialDelaySeconds: 30,
          periodSeconds: 30,
          timeoutSeconds: 10,
        },
        hostNetwork: true,
        privileged: true,
        hostPaths: [
          hostRun,
          instances,
          { name: 'dev', path: '/dev', mountPath: '/dev', type: 'Directory' },
          { name: 'lib-modules', path: '/lib/modules', mountPath: '/lib/modules', type: 'Directory' },
          { name: 'cgroup', path: '/sys/fs/cgroup', mountPath: '/sys/fs/cgroup', type: 'Directory' },
        ],
        ...node,
        settings: ctx.settings(user?.libvirt, role, { cpu: '100m', memory: '256Mi', memoryLimit: '2Gi' }),
        ...skipOnHost(
          m?.hypervisor === 'fake'
            ? 'the fake hypervisor needs no libvirtd'
            : 'libvirtd on the host is not run by osk yet',
        ),
      },
      {
        id: `nova-compute${suffix}`,
        service: 'nova',
        part: 'compute',
        workload: 'DaemonSet',
        image: 'nova',
        command: ['nova-compute', ...args],
        readiness: {
          exec: { command: ['sh', '-c', 'pgrep -f nova-compute >/dev/null'] },
          periodSeconds: 30,
          timeoutSeconds: 10,
        },
        liveness: {
          exec: { command: ['sh', '-c', 'pgrep -f nova-compute >/dev/null'] },
          initialDelaySeconds: 120,
          periodSeconds: 60,
          timeoutSeconds: 10,
        },
        configs: ['nova-compute'],
        // [libvirt] images_type = rbd: instance disks are RBD images in the vms pool.
        ...cephMounts(ctx, ['nova-compute']),
        hostNetwork: true,
        privileged: true,
        hostPaths: [hostRun, instances],
        after: [
          {
            target: `libvirt${suffix}`,
            why: 'nova-compute drives the local libvirtd through /run/libvirt/libvirt-sock',
          },
          {
            target: 'nova-conductor',
            why: 'nova-compute reaches the database only through nova-conductor (RPC) and waits for it at start',
          },
          ...(ctx.enabled('neutron')
            ? [{ target: `ovn-controller${suffix}`, why: 'instance ports are bound by the local ovn-controller' }]
            : []),
        ],
        ...node,
        settings: ctx.settings(user?.compute, role, { cpu: '250m', memory: '512Mi', memoryLimit: '4Gi' }),
        ...(m
          ? {
              host: {
                kind: 'process' as const,
                command: ['nova-compute', ...hostComputeArgs],
                dirs: [`${ctx.dataDir('nova')}/tmp`, `${ctx.dataDir('nova')}/instances`],
                // nova-compute-ironic is the lightest provider of nova-compute's hypervisor dependency.
                packages: [
                  'nova-compute',
                  ...(m.hypervisor === 'fake' ? ['nova-compute-ironic'] : ['nova-compute-kvm']),
                ],
                ready: {
                  sql: {
                    query: `SELECT COUNT(*) FROM nova.compute_nodes WHERE host = '${m.hostname}' AND deleted = 0`,
                    what: `nova-compute registered compute node ${m.hostname}`,
                  },
                },
              },
            }
          : {}),
      },
    );
  }
  components.push({
    id: 'nova-cell-setup',
    service: 'nova',
    part: 'cell-setup',
    workload: 'Job',
    image: 'nova',
    command: ['nova-manage', ...args, 'cell_v2', 'discover_hosts', '--verbose'],
    configs: ['nova'],
    readsSections: ['DEFAULT', 'database', 'api_database'],
    after: [{ target: 'nova-compute', why: 'host discovery maps the compute services that nova-compute registered' }],
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', {
      cpu: '100m',
      memory: '128Mi',
      memoryLimit: '512Mi',
      haReplicas: 1,
    }),
    backoffLimit: 6,
    host: {
      kind: 'step',
      command: ['nova-manage', ...hostArgs, 'cell_v2', 'discover_hosts', '--verbose'],
      packages: novaPackages,
    },
  });

  return {
    name: 'nova',
    catalog: { type: 'compute', component: 'nova-api', register: 'nova-ks-register' },
    secrets: [
      ...serviceSecrets('nova', { rabbit: true }),
      password(
        'nova-metadata-secret',
        'nova-metadata',
        undefined,
        'Shared secret between the Neutron metadata agents and the Nova metadata API',
        'secret',
      ),
    ],
    configs: [
      {
        name: 'nova',
        dir: ctx.configDir('nova', '/etc/nova'),
        files: [
          { name: 'nova.conf', ini: conf, validate: 'nova.conf' },
          uwsgiIni('nova-api-uwsgi.ini', 8774, { module: 'nova.wsgi.osapi_compute:application' }, apiProcesses(ctx)),
          uwsgiIni('nova-metadata-uwsgi.ini', 8775, { module: 'nova.wsgi.metadata:application' }, apiProcesses(ctx)),
        ],
      },
      {
        name: 'nova-compute',
        dir: ctx.configDir('nova-compute', '/etc/nova'),
        files: [{ name: 'nova.conf', ini: computeConf, validate: 'nova.conf' }],
      },
    ],
    components,
  };
}

/** A Keystone catalog lookup of another service, as a reference on an option of the section. */
function catalog(
  ctx: CatalogContext,
  type: string,
  kind: 'needs' | 'calls',
  port: number,
  key = 'region_name',
): Record<string, { value: string; refs: ReturnType<CatalogContext['catalogRefs']> }> {
  const owner =
    { placement: 'placement', image: 'glance', network: 'neutron', volumev3: 'cinder', compute: 'nova' }[type] ?? type;
  const api = owner === 'neutron' ? 'neutron-server' : `${owner}-api`;
  return { [key]: { value: ctx.region, refs: ctx.catalogRefs(type, api, `${owner}-ks-register`, kind, port) } };
}

export { catalog as catalogSection };
