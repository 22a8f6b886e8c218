/**
 * Neutron with ML2/OVN: the API (uwsgi from 2025.1, when Neutron became WSGI-only; the eventlet
 * neutron-server before), its periodic and OVN maintenance workers, and the OVN metadata agent
 * on compute nodes.
 */
import { type IniDoc, releaseAtLeast } from '../config/ini.js';
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
import { catalogSection } from './nova-conf.js';
import { ovnNbConnection, ovnSbConnection } from './ovn.js';
import { hostHasDatapath, hostOvsLayout } from './ovs-host.js';
import type { ComponentDef, HostDef, ServiceDef } from './types.js';

/** References of the OVN database connections: none when kube-ovn runs the databases. */
function ovnRefs(ctx: CatalogContext) {
  const ownOvn = (ctx.spec.network?.backend ?? 'ovn') !== 'kube-ovn';
  return ownOvn
    ? {
        nb: [ctx.needs('ovn-nb', 6641, `host ${ctx.topology.podHost('ovn-nb', 0)}`)],
        sb: [ctx.needs('ovn-sb', 6642, `host ${ctx.topology.podHost('ovn-sb', 0)}`)],
      }
    : { nb: [], sb: [] };
}

function neutronConf(ctx: CatalogContext): IniDoc {
  const mtu = ctx.spec.network?.mtu ?? 1500;
  const conf = ctx.ini('neutron.conf');
  conf.section('DEFAULT', {
    use_stderr: true,
    core_plugin: 'ml2',
    service_plugins: 'ovn-router,qos,segments',
    transport_url: ctx.transportUrl('neutron', 'rabbitmq-neutron-password', 'neutron'),
    auth_strategy: 'keystone',
    // At least 1 even on one host: with 0 the API runs in the parent process, which never opens
    // its OVN database connections (ML2/OVN sets them up after the fork), and writes hang.
    api_workers: apiProcesses(ctx),
    // One host: as few as there can be. Zed's neutron-server still starts one RPC worker process
    // at 0 (neutron/service.py raises rpc_workers below 1 to 1), beside the API worker, OVN's
    // MaintenanceWorker and the process of the periodic workers: five processes with the parent.
    rpc_workers: ctx.machine ? 0 : 1,
    ...(ctx.machine
      ? {
          bind_host: ctx.topology.bindAddress,
          bind_port: 9696,
          api_paste_config: '/etc/neutron/api-paste.ini',
          rpc_state_report_workers: 0,
        }
      : {}),
    global_physnet_mtu: mtu,
    dhcp_agents_per_network: 1,
    notify_nova_on_port_status_changes: ctx.enabled('nova'),
    notify_nova_on_port_data_changes: ctx.enabled('nova'),
  });
  conf.section('database', {
    connection: ctx.dbConnection('neutron', 'neutron', 'neutron-db-password', 'neutron-db-init'),
    ...ctx.dbSettings(),
  });
  conf.section('keystone_authtoken', ctx.authtoken('neutron'));
  if (ctx.enabled('nova'))
    conf.section('nova', {
      ...ctx.serviceAuth('neutron'),
      endpoint_type: 'internal',
      ...catalogSection(ctx, 'compute', 'calls', 8774),
    });
  if (ctx.enabled('placement'))
    conf.section('placement', {
      ...ctx.serviceAuth('neutron'),
      endpoint_type: 'internal',
      ...catalogSection(ctx, 'placement', 'calls', 8778),
    });
  conf.section('oslo_concurrency', { lock_path: `${ctx.dataDir('neutron')}/tmp` });
  conf.section('oslo_messaging_rabbit', ctx.oslo_messaging_rabbit());
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  return conf;
}

/** ml2_conf.ini: the OVN mechanism driver, its network types and databases. */
function ml2Conf(ctx: CatalogContext): IniDoc {
  const mtu = ctx.spec.network?.mtu ?? 1500;
  const physnets = (ctx.spec.network?.providerNetworks ?? []).map((p) => p.name);
  const refs = ovnRefs(ctx);
  const ml2 = ctx.ini('ml2_conf.ini');
  ml2.section('ml2', {
    type_drivers: 'geneve,flat,vlan',
    tenant_network_types: 'geneve',
    mechanism_drivers: 'ovn',
    extension_drivers: 'port_security,qos',
    overlay_ip_version: 4,
    path_mtu: mtu,
  });
  ml2.section('ml2_type_geneve', { vni_ranges: '1:65536', max_header_size: 38 });
  ml2.section('ml2_type_flat', { flat_networks: physnets.length ? physnets.join(',') : '*' });
  ml2.section('ml2_type_vlan', { network_vlan_ranges: physnets.join(',') });
  ml2.section('securitygroup', { enable_security_group: true });
  ml2.section('ovn', {
    ovn_nb_connection: { value: ovnNbConnection(ctx), refs: refs.nb },
    ovn_sb_connection: { value: ovnSbConnection(ctx), refs: refs.sb },
    ovn_l3_scheduler: 'leastloaded',
    // Metadata is Nova's: without it no guest asks, and there is no shared secret to proxy with.
    ovn_metadata_enabled: ctx.enabled('nova'),
    enable_distributed_floating_ip: true,
  });
  return ml2;
}

/** The OVN metadata agent's own file: Nova's metadata API and the southbound database only. */
function metadataAgentConf(ctx: CatalogContext): IniDoc {
  const meta = ctx.ini('neutron_ovn_metadata_agent.ini');
  meta.section('DEFAULT', {
    nova_metadata_host: {
      value: ctx.topology.host('nova-metadata'),
      refs: ctx.enabled('nova')
        ? [{ target: 'nova-metadata', kind: 'calls', port: 8775, via: `host ${ctx.topology.host('nova-metadata')}` }]
        : [],
    },
    nova_metadata_port: 8775,
    metadata_proxy_shared_secret: { value: ctx.secret('nova-metadata-secret'), secret: true },
    metadata_workers: 2,
  });
  meta.section('ovs', { ovsdb_connection: 'unix:/run/openvswitch/db.sock' });
  meta.section('ovn', { ovn_sb_connection: { value: ovnSbConnection(ctx), refs: ovnRefs(ctx).sb } });
  meta.section('agent', { root_helper: 'sudo /var/lib/openstack/bin/neutron-rootwrap /etc/neutron/rootwrap.conf' });
  if (hostHasDatapath(ctx)) {
    // One host: the cloud's own Open vSwitch, haproxy's files in the state directory, Debian's
    // rootwrap (the agent runs as root; rootwrap's filters come with neutron-common).
    meta.section('DEFAULT', { state_path: ctx.dataDir('neutron'), metadata_workers: 1 });
    meta.section('ovs', { ovsdb_connection: `unix:${hostOvsLayout(ctx).dbSocket}` });
    meta.section('agent', { root_helper: 'sudo neutron-rootwrap /etc/neutron/rootwrap.conf' });
  }
  return meta;
}

/** What the Neutron components share: config arguments and the schema they wait for. */
function neutronParts(ctx: CatalogContext) {
  return {
    ctx,
    user: ctx.spec.services?.neutron,
    wsgi: releaseAtLeast(ctx.release, '2025.1'),
    args: [
      '--config-file',
      '/etc/neutron/neutron.conf',
      '--config-dir',
      '/etc/neutron/neutron.conf.d',
      '--config-file',
      '/etc/neutron/ml2_conf.ini',
    ],
    hostArgs: hostConfigArgs(ctx, 'neutron', '/etc/neutron', 'neutron.conf', 'ml2_conf.ini'),
    schema: { target: 'neutron-db-sync', why: 'neutron-db-sync brings the schema to head' },
    base: {
      service: 'neutron',
      image: 'neutron' as const,
      configs: ['neutron'],
      runAsUser: 42424,
      nodeRole: 'controlPlane' as const,
    },
  };
}
type NeutronParts = ReturnType<typeof neutronParts>;

function neutronJobs({ ctx, args, hostArgs }: NeutronParts): ComponentDef[] {
  const internal = `http://${ctx.topology.host('neutron-server')}:9696`;
  return [
    dbInitJob(ctx, 'neutron', ['neutron']),
    dbSyncJob(ctx, 'neutron', 'neutron', ['neutron-db-manage', ...args, 'upgrade', 'heads'], 'neutron', [], {
      command: ['neutron-db-manage', ...hostArgs, 'upgrade', 'heads'],
      packages: ['neutron-server'],
    }),
    ksUserJob(ctx, 'neutron'),
    ksRegisterJob(ctx, 'neutron', 'network', 'neutron', internal, 'network'),
  ];
}

function neutronServer({ ctx, user, wsgi, args, hostArgs, schema, base }: NeutronParts): ComponentDef {
  return {
    ...base,
    id: 'neutron-server',
    part: 'server',
    workload: 'Deployment',
    command: wsgi ? ['uwsgi', '--ini', '/etc/neutron/neutron-api-uwsgi.ini'] : ['neutron-server', ...args],
    ports: [{ name: 'http', port: 9696 }],
    service_: { ports: [{ name: 'http', port: 9696 }] },
    publicHost: 'network',
    publicPort: 9696,
    ...apiProbes('/', 9696),
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/neutron/tmp' }],
    after: [schema],
    settings: ctx.settings(user?.server, 'controlPlane', SIZES.api),
    host: {
      kind: 'process',
      command: ['neutron-server', ...hostArgs],
      // ML2/OVN runs ovsdb-client (it reads the OVN schemas before it forks its workers), which
      // neutron-server's package does not depend on (its image lacked it: "No such file or
      // directory: 'ovsdb-client'"); OVS's Python library resolves the databases' DNS names (a
      // pod's tcp:ovn-nb-0.…:6641) only with python3-unbound ("DNS support requires the python
      // unbound library"), which it only suggests.
      packages: ['neutron-server', 'openvswitch-common', 'python3-unbound'],
      dirs: [`${ctx.dataDir('neutron')}/tmp`],
      ports: [9696],
      ready: { http: { port: 9696, path: '/' } },
    },
  };
}

/** With the API under uwsgi, periodic tasks and the OVN DB maintenance run in their own processes. */
function neutronWorkers({ ctx, wsgi, args, schema, base }: NeutronParts): ComponentDef[] {
  if (!wsgi) return [];
  return (['periodic-workers', 'ovn-maintenance-worker'] as const).map((part) => ({
    ...base,
    id: `neutron-${part}`,
    part,
    workload: 'Deployment',
    command: [`neutron-${part}`, ...args],
    readiness: {
      exec: { command: ['sh', '-c', `pgrep -f neutron-${part} >/dev/null`] },
      periodSeconds: 30,
      timeoutSeconds: 10,
    },
    liveness: {
      exec: { command: ['sh', '-c', `pgrep -f neutron-${part} >/dev/null`] },
      initialDelaySeconds: 60,
      periodSeconds: 60,
      timeoutSeconds: 10,
    },
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/neutron/tmp' }],
    after: [schema],
    settings: ctx.settings(undefined, 'controlPlane', { ...SIZES.worker, haReplicas: 1 }),
  }));
}

function metadataAgent({ ctx, user }: NeutronParts, role: 'compute' | 'gpu'): ComponentDef {
  const suffix = role === 'gpu' ? '-gpu' : '';
  const avoid = role === 'compute' ? ctx.spec.nodes?.gpu?.selector : undefined;
  return {
    id: `neutron-ovn-metadata-agent${suffix}`,
    service: 'neutron',
    part: 'ovn-metadata-agent',
    workload: 'DaemonSet',
    image: 'neutron',
    // Only its own file: the agent needs no database or broker credentials on a compute node.
    command: [
      'neutron-ovn-metadata-agent',
      '--config-file',
      '/etc/neutron/neutron_ovn_metadata_agent.ini',
      '--config-dir',
      '/etc/neutron/neutron_ovn_metadata_agent.ini.d',
    ],
    readiness: {
      exec: { command: ['sh', '-c', 'pgrep -f neutron-ovn-metadata-agent >/dev/null'] },
      periodSeconds: 30,
      timeoutSeconds: 10,
    },
    liveness: {
      exec: { command: ['sh', '-c', 'pgrep -f neutron-ovn-metadata-agent >/dev/null'] },
      initialDelaySeconds: 60,
      periodSeconds: 60,
      timeoutSeconds: 10,
    },
    configs: ['neutron-ovn-metadata'],
    hostNetwork: true,
    privileged: true,
    hostPaths: [
      { name: 'run-openvswitch', path: '/run/openvswitch', mountPath: '/run/openvswitch', type: 'DirectoryOrCreate' },
      { name: 'run-netns', path: '/run/netns', mountPath: '/run/netns', type: 'DirectoryOrCreate' },
    ],
    after: [
      {
        target: `ovn-controller${suffix}`,
        why: 'the agent serves metadata for the ports the local ovn-controller binds',
      },
    ],
    nodeRole: role,
    ...(avoid ? { avoidNodeLabels: avoid } : {}),
    settings: ctx.settings(user?.metadataAgent, role, SIZES.agent),
    ...(ctx.machine ? { host: hostMetadataAgent(ctx) } : {}),
  };
}

/**
 * On one host with a real hypervisor: the agent on the cloud's datapath. It makes a namespace
 * `ovnmeta-<network>` per network with a port here, plugs it into br-int and runs haproxy there
 * (pid files under its state_path, which `osk down` reads to stop them and remove the
 * namespaces). Ready once it registered itself on the host's chassis in the SB database.
 */
function hostMetadataAgent(ctx: CatalogContext): HostDef {
  if (!hostHasDatapath(ctx)) return { kind: 'skip', why: 'the fake hypervisor runs no guest that would read metadata' };
  return {
    kind: 'process',
    command: [
      'neutron-ovn-metadata-agent',
      ...hostConfigArgs(ctx, 'neutron-ovn-metadata', '/etc/neutron', 'neutron_ovn_metadata_agent.ini'),
    ],
    packages: ['neutron-ovn-metadata-agent', 'haproxy'],
    dirs: [ctx.dataDir('neutron')],
    ready: {
      exec: [
        'sh',
        '-c',
        'ovn-sbctl --db="unix:$1" --timeout=5 --bare --columns=external_ids find Chassis_Private "name=$2" | grep -q "neutron:ovn-metadata-id"',
        'osk-metadata-ready',
        `${ctx.machine!.runDir}/ovnsb_db.sock`,
        ctx.machine!.hostname,
      ],
    },
  };
}

export function neutron(ctx: CatalogContext): ServiceDef {
  const conf = neutronConf(ctx);
  const ml2 = ml2Conf(ctx);
  // The metadata agents proxy guests' requests to Nova's metadata API with Nova's secret: a
  // cloud without Nova has neither, so it runs no agent and renders no agent file.
  const metadata = ctx.enabled('nova');
  const meta = metadata ? metadataAgentConf(ctx) : undefined;
  const p = neutronParts(ctx);
  const { wsgi } = p;
  const roles = ['compute', ...(ctx.spec.nodes?.gpu ? ['gpu' as const] : [])] as const;
  const components: ComponentDef[] = [
    ...neutronJobs(p),
    neutronServer(p),
    ...neutronWorkers(p),
    ...(metadata ? roles.map((role) => metadataAgent(p, role)) : []),
  ];

  return {
    name: 'neutron',
    catalog: { type: 'network', component: 'neutron-server', register: 'neutron-ks-register' },
    secrets: serviceSecrets('neutron', { rabbit: true }),
    configs: [
      {
        name: 'neutron',
        dir: ctx.configDir('neutron', '/etc/neutron'),
        files: [
          { name: 'neutron.conf', ini: conf, validate: 'neutron.conf' },
          { name: 'ml2_conf.ini', ini: ml2, validate: 'ml2_conf.ini' },
          // neutron.wsgi.api parses sys.argv for its files: without them it reads only
          // /etc/neutron/neutron.conf and plugins/ml2/ml2_conf.ini, so neither the ML2/OVN file
          // osk mounts nor the secrets (seen on a real node: "None of the supported mechanism
          // drivers found: ('ovn', 'ovn-sync')").
          ...(wsgi
            ? [
                uwsgiIni(
                  'neutron-api-uwsgi.ini',
                  9696,
                  { module: 'neutron.wsgi.api:application' },
                  apiProcesses(ctx),
                  {},
                  p.args,
                ),
              ]
            : []),
        ],
      },
      // Only the metadata agents read this file, so its references make edges for them alone.
      ...(meta
        ? [
            {
              name: 'neutron-ovn-metadata',
              dir: ctx.configDir('neutron-ovn-metadata', '/etc/neutron'),
              files: [
                {
                  name: 'neutron_ovn_metadata_agent.ini',
                  ini: meta,
                  validate: 'neutron_ovn_metadata_agent.ini' as const,
                },
              ],
            },
          ]
        : []),
    ],
    components,
  };
}
