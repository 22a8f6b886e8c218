/** nova.conf of the control plane and of the compute nodes, and Keystone catalog lookups. */
import type { IniDoc } from '../config/ini.js';
import { cephConfPath, cephSettings, rbdSecretUuid } from './ceph.js';
import { apiProcesses } from './common.js';
import type { CatalogContext } from './context.js';
import { computeHypervisor } from './hypervisor.js';
import { hostLibvirtLayout } from './libvirt-host.js';
import { hostHasDatapath, hostOvsLayout } from './ovs-host.js';

/**
 * nova.conf. Compute nodes get their own copy without database credentials or token validation:
 * nova-compute reaches the database only through nova-conductor, and a compromised hypervisor
 * must not hold the keys to every cell.
 */
export function novaConf(ctx: CatalogContext, compute: boolean): IniDoc {
  const conf = ctx.ini('nova.conf');
  processSections(ctx, conf);
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
  clientSections(ctx, conf);
  workerSections(ctx, conf);
  conf.section('oslo_concurrency', { lock_path: `${ctx.dataDir('nova')}/tmp` });
  conf.section('oslo_messaging_rabbit', ctx.oslo_messaging_rabbit());
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  conf.section('wsgi', { api_paste_config: '/etc/nova/api-paste.ini' });
  return conf;
}

/** [DEFAULT]: messaging, drivers and allocation ratios; on one host, its listeners and name. */
function processSections(ctx: CatalogContext, conf: IniDoc): void {
  const user = ctx.spec.services?.nova;
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
    });
  }
  if (computeHypervisor(ctx) === 'fake') conf.section('DEFAULT', { compute_driver: 'fake.FakeDriver' });
  if (hostHasDatapath(ctx)) {
    // os-vif creates br-int and the guests' ports in the cloud's own Open vSwitch (ovs-host.ts),
    // not in the host's default database.
    conf.section('os_vif_ovs', { ovsdb_connection: `unix:${hostOvsLayout(ctx).dbSocket}` });
    // `osk down` destroys the guests (QEMU would outlive libvirtd); `osk up` starts again those
    // that were running, as a rebooted hypervisor host does.
    conf.section('DEFAULT', { resume_guests_state_on_host_boot: true });
  }
}

/** The services Nova calls: its own service user, Placement, Glance, Neutron, Cinder, memcached. */
function clientSections(ctx: CatalogContext, conf: IniDoc): void {
  conf.section('service_user', { send_service_user_token: true, ...ctx.serviceAuth('nova') });
  conf.section('placement', {
    ...ctx.serviceAuth('nova'),
    ...ctx.ksaAdapter(),
    ...catalogSection(ctx, 'placement', 'needs', 8778),
  });
  conf.section('glance', { ...ctx.ksaAdapter(), ...catalogSection(ctx, 'image', 'needs', 9292) });
  if (ctx.enabled('neutron')) {
    conf.section('neutron', {
      ...ctx.serviceAuth('nova'),
      ...ctx.ksaAdapter(),
      service_metadata_proxy: true,
      metadata_proxy_shared_secret: { value: ctx.secret('nova-metadata-secret'), secret: true },
      ...catalogSection(ctx, 'network', 'calls', 9696),
    });
  }
  if (ctx.enabled('cinder'))
    conf.section('cinder', {
      catalog_info: 'volumev3:cinderv3:internalURL',
      ...catalogSection(ctx, 'volumev3', 'calls', 8776, 'os_region_name'),
    });
  conf.section('cache', {
    enabled: true,
    backend: 'oslo_cache.memcache_pool',
    memcache_servers: ctx.memcachedServers(),
  });
}

/** Conductor and scheduler workers, consoles and the hypervisor. */
function workerSections(ctx: CatalogContext, conf: IniDoc): void {
  const ceph = cephSettings(ctx);
  const m = ctx.machine;
  const workers = m ? 1 : ctx.ha ? 4 : 2;
  conf.section('conductor', { workers });
  conf.section('scheduler', { workers, discover_hosts_in_cells_interval: 300 });
  conf.section('vnc', {
    // One host runs no noVNC proxy, so its guests get no VNC server either.
    enabled: !m && computeHypervisor(ctx) !== 'fake',
    server_listen: ctx.topology.bindAddress,
    server_proxyclient_address: { value: '$my_ip', raw: true },
    novncproxy_host: ctx.topology.bindAddress,
    novncproxy_port: 6080,
    novncproxy_base_url: `${ctx.publicUrl('novnc', `http://${ctx.topology.host('nova-novncproxy')}:6080`)}/vnc_lite.html`,
  });
  const hv = computeHypervisor(ctx);
  conf.section('libvirt', {
    virt_type: hv === 'qemu' ? 'qemu' : 'kvm',
    // TCG emulates its CPU: the guest gets QEMU's default model (as libvirt.test.ts's domain
    // does), not Nova's default host-model, which asks TCG for host features it may not emulate.
    ...(hv === 'qemu' ? { cpu_mode: 'none' } : {}),
    // On one host the cloud's private libvirtd (libvirt-host.ts), by its socket's real path.
    connection_uri:
      m && hv !== 'fake' ? hostLibvirtLayout(ctx).uri : 'qemu+unix:///system?socket=/run/libvirt/libvirt-sock',
    ...(ceph
      ? {
          images_type: 'rbd',
          images_rbd_pool: ceph.pools.vms,
          images_rbd_ceph_conf: cephConfPath(ctx),
          rbd_user: ceph.user,
          ...rbdSecretUuid(ctx),
        }
      : {}),
  });
}

/** A Keystone catalog lookup of another service, as a reference on an option of the section. */
export function catalogSection(
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
