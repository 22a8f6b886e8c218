/**
 * What a catalog module gets to build its service: the cloud's resolved settings, where other
 * components are reachable (the target's topology), the credentials, and builders for the oslo
 * sections every service repeats (database, messaging, authtoken, service auth, cache). The
 * builders attach references to the values they write; those references become the plan's edges.
 */
import type { IniEntry, OsRelease, Ref } from '../config/ini.js';
import { IniDoc } from '../config/ini.js';
import { quantityValue } from '../spec/rules.js';
import type { CloudFile, CloudSpec, ComponentSettings } from '../spec/schema.js';
import { imageFor } from './images.js';
import type { ImageKey } from '../spec/image-keys.js';
import type { NodeRole, ResolvedSettings } from './types.js';

/**
 * Where components are reached and where their files live; the Kubernetes and the all-in-one
 * target each provide one. Only hosts, addresses and paths differ between targets: the oslo
 * files are otherwise the same.
 */

/**
 * The NodePort of each public API with endpoints.nodePorts: fixed, so that the catalog, the
 * Services and a user's firewall agree across renders (the schema's description lists them).
 */
const PUBLIC_NODE_PORTS: Record<string, number> = {
  identity: 30500,
  compute: 30774,
  placement: 30778,
  image: 30292,
  network: 30696,
  volume: 30776,
  'load-balancer': 30876,
  novnc: 30680,
};

export interface Topology {
  /** Host name of a component's Service. */
  host(component: string): string;
  /** Host name of one pod of a StatefulSet (stable identity for Galera, RabbitMQ, OVN RAFT). */
  podHost(component: string, ordinal: number): string;
  /** Address servers listen on: every interface in a pod, loopback on one host. */
  bindAddress: string;
  /** Directory of a config bundle; `containerDir` is where the images expect it (/etc/nova). */
  configDir(bundle: string, containerDir: string): string;
  /** Data directory of a service (/var/lib/<service> in the images). */
  dataDir(service: string): string;
  /** Set on the all-in-one target: what the host runs instead of a hypervisor or a storage array. */
  machine?: HostMachine;
}

export type HostHypervisor = 'fake' | 'qemu' | 'kvm';

export interface HostMachine {
  /** Name nova-compute registers and ports bind to. */
  hostname: string;
  /**
   * fake: Nova's FakeDriver, no libvirtd. qemu or kvm: Nova's libvirt driver with that virt_type,
   * and osk runs a private libvirtd and virtlogd (catalog/libvirt-host.ts) and the cloud's own
   * Open vSwitch (userspace datapath), ovn-controller, OVN metadata agent and external network
   * (catalog/ovs-host.ts). With fake, ports bind to a registered chassis and are not wired.
   */
  hypervisor: HostHypervisor;
  /** Root of the cloud's state (configs, data, logs, sockets). */
  stateDir: string;
  /** Directory of sockets and PID files. */
  runDir: string;
  /** Directory of the programs' logs (libvirt's guests' QEMU logs go below it). */
  logDir: string;
  /** osk runs as root (some daemons must then be told which user to be). */
  root: boolean;
}

export function kubernetesTopology(namespace: string): Topology {
  return {
    host: (c) => `${c}.${namespace}.svc.cluster.local`,
    podHost: (c, i) => `${c}-${i}.${c}-headless.${namespace}.svc.cluster.local`,
    bindAddress: '0.0.0.0',
    configDir: (_bundle, containerDir) => containerDir,
    dataDir: (service) => `/var/lib/${service}`,
  };
}

/** Secret values by store name; plan and validate use placeholders, render uses the store. */
export type SecretLookup = (name: string) => string;
export const placeholderSecrets: SecretLookup = (name) => `<${name}>`;

/** Resource defaults a component declares; the profile scales them. */
interface Sizing {
  cpu: string;
  memory: string;
  memoryLimit: string;
  cpuLimit?: string;
  /** Replicas in the ha profile (default 3); minimal is always 1. */
  haReplicas?: number;
}

export class CatalogContext {
  readonly spec: CloudSpec;
  readonly name: string;
  readonly namespace: string;
  readonly ha: boolean;

  constructor(
    readonly file: CloudFile,
    readonly topology: Topology,
    readonly secret: SecretLookup,
    /** The release configs are written for: the spec's, or Zed for Debian 12's packages. */
    readonly release: OsRelease = file.spec.release,
  ) {
    this.spec = file.spec;
    this.name = file.metadata.name;
    this.namespace = file.metadata.namespace ?? 'openstack';
    this.ha = file.spec.profile === 'ha';
  }

  /** The all-in-one host, when that is the target. */
  get machine(): HostMachine | undefined {
    return this.topology.machine;
  }

  configDir(bundle: string, containerDir: string): string {
    return this.topology.configDir(bundle, containerDir);
  }

  dataDir(service: string): string {
    return this.topology.dataDir(service);
  }

  get region(): string {
    return this.spec.region;
  }

  ini(fileName: string): IniDoc {
    return new IniDoc(fileName, this.release);
  }

  imageRef(key: ImageKey): string {
    return imageFor(key, this.spec);
  }

  enabled(
    service: 'keystone' | 'glance' | 'placement' | 'nova' | 'neutron' | 'cinder' | 'horizon' | 'octavia',
  ): boolean {
    const s = this.spec.services?.[service] as { enabled?: boolean } | undefined;
    // Octavia is the one opt-in service: it serves clouds that host Kubernetes clusters.
    if (service === 'octavia') return s?.enabled === true && this.enabled('neutron');
    // Horizon is opt-out like the rest, but minimal clouds without a public domain still get it
    // (reachable by port-forward or NodePort).
    return s?.enabled !== false;
  }

  /** Settings of one component: profile defaults, then the user's overrides. */
  settings(user: ComponentSettings | undefined, role: NodeRole, sizing: Sizing): ResolvedSettings {
    const replicas = user?.replicas ?? (this.ha ? (sizing.haReplicas ?? 3) : 1);
    // A value the user wrote wins over a default it would contradict (the loader checks the
    // user's own pairs): a limit below the default request lowers the request, as Kubernetes does
    // for a limit without a request; a request above the default limit raises the limit.
    const own = user?.resources;
    const below = (a: string, b: string) => (quantityValue(a) ?? NaN) < (quantityValue(b) ?? NaN);
    const request = (mine: string | undefined, dflt: string, userLimit: string | undefined) =>
      mine ?? (userLimit !== undefined && below(userLimit, dflt) ? userLimit : dflt);
    const limit = (mine: string | undefined, dflt: string, userRequest: string | undefined) =>
      mine ?? (userRequest !== undefined && below(dflt, userRequest) ? userRequest : dflt);
    const requests = {
      cpu: request(own?.requests?.cpu, sizing.cpu, own?.limits?.cpu),
      memory: request(own?.requests?.memory, sizing.memory, own?.limits?.memory),
    };
    const limits: ResolvedSettings['resources']['limits'] = {
      memory: limit(own?.limits?.memory, sizing.memoryLimit, own?.requests?.memory),
    };
    const cpuLimit =
      own?.limits?.cpu ?? (sizing.cpuLimit ? limit(undefined, sizing.cpuLimit, own?.requests?.cpu) : undefined);
    if (cpuLimit) limits.cpu = cpuLimit;
    return {
      replicas,
      resources: { requests, limits },
      nodeSelector: { ...this.roleSelector(role), ...(user?.nodeSelector ?? {}) },
      tolerations: [...this.roleTolerations(role), ...(user?.tolerations ?? [])],
    };
  }

  /** StorageClass of a claim: its own, else the cloud's default, else the cluster's (unset). */
  storageClass(own: string | undefined): { storageClass?: string } {
    const sc = own ?? this.spec.storage?.storageClass;
    return sc ? { storageClass: sc } : {};
  }

  roleSelector(role: NodeRole): Record<string, string> {
    const n = this.spec.nodes;
    if (role === 'gpu') return n?.gpu?.selector ?? {};
    if (role === 'compute') return n?.compute?.selector ?? { 'openstack-compute-node': 'enabled' };
    return n?.controlPlane?.selector ?? { 'openstack-control-plane': 'enabled' };
  }

  private roleTolerations(role: NodeRole): ResolvedSettings['tolerations'] {
    const n = this.spec.nodes;
    return (
      (role === 'gpu'
        ? n?.gpu?.tolerations
        : role === 'compute'
          ? n?.compute?.tolerations
          : n?.controlPlane?.tolerations) ?? []
    );
  }

  // ---- references -------------------------------------------------------------------------

  needs(target: string, port: number | undefined, via: string): Ref {
    return port === undefined ? { target, kind: 'needs', via } : { target, kind: 'needs', port, via };
  }

  /** A Keystone catalog lookup: needs the API answering the type and its registration. */
  catalogRefs(type: string, api: string, register: string, kind: 'needs' | 'calls', port: number): Ref[] {
    return [
      { target: api, kind, port, via: `keystone catalog type=${type}` },
      ...(kind === 'needs'
        ? [{ target: register, kind: 'needs' as const, via: `endpoint of type ${type} registered in keystone` }]
        : []),
    ];
  }

  // ---- shared oslo sections -------------------------------------------------------------------

  mariadbHost(): string {
    return this.topology.host('mariadb');
  }

  dbConnection(database: string, user: string, secret: string, creator: string): IniEntry {
    const host = this.mariadbHost();
    return {
      value: `mysql+pymysql://${user}:${this.secret(secret)}@${host}:3306/${database}?charset=utf8mb4`,
      secret: true,
      refs: [
        this.needs('mariadb', 3306, `host ${host}`),
        { target: creator, kind: 'needs', via: `database user ${user} and database ${database} created by ${creator}` },
      ],
    };
  }

  rabbitReplicas(): number {
    return this.spec.infra?.rabbitmq?.replicas ?? (this.ha ? 3 : 1);
  }

  /** transport_url listing every broker pod, so clients fail over without a load balancer. */
  transportUrl(user: string, secret: string, vhost: string): IniEntry {
    const pw = this.secret(secret);
    const hosts = Array.from(
      { length: this.rabbitReplicas() },
      (_, i) => `${user}:${pw}@${this.topology.podHost('rabbitmq', i)}:5672`,
    );
    return {
      value: `rabbit://${hosts.join(',')}/${vhost}`,
      secret: true,
      refs: [this.needs('rabbitmq', 5672, `host ${this.topology.podHost('rabbitmq', 0)}`)],
    };
  }

  memcachedServers(): IniEntry {
    const n = this.spec.infra?.memcached?.replicas ?? (this.ha ? 3 : 1);
    const hosts = Array.from({ length: n }, (_, i) => `${this.topology.podHost('memcached', i)}:11211`);
    return { value: hosts, refs: [this.needs('memcached', 11211, `host ${this.topology.podHost('memcached', 0)}`)] };
  }

  keystoneInternalUrl(): string {
    return `http://${this.topology.host('keystone-api')}:5000`;
  }

  keystoneRef(via: string): Ref {
    return this.needs('keystone-api', 5000, via);
  }

  /** [keystone_authtoken] for a service whose API validates tokens. */
  authtoken(service: string): Record<string, IniEntry> {
    const url = this.keystoneInternalUrl();
    const ref = [this.keystoneRef(`host ${this.topology.host('keystone-api')}`)];
    const publicUri = this.publicUrl('identity', url);
    return {
      // Clients are sent to this URL; it is only a connection of ours when it is the internal one.
      www_authenticate_uri: { value: publicUri, refs: publicUri === url ? ref : [] },
      auth_url: { value: url, refs: ref },
      auth_type: { value: 'password' },
      project_domain_name: { value: 'Default' },
      user_domain_name: { value: 'Default' },
      project_name: { value: 'service' },
      username: { value: service },
      password: this.servicePassword(service),
      region_name: { value: this.region },
      service_token_roles_required: { value: true },
      memcached_servers: this.memcachedServers(),
      memcache_security_strategy: { value: 'ENCRYPT' },
      memcache_secret_key: { value: this.secret(`${service}-memcache-secret-key`), secret: true },
    };
  }

  /** The Keystone password of a service user, created by `<service>-ks-user`. */
  servicePassword(service: string): IniEntry {
    return {
      value: this.secret(`keystone-${service}-password`),
      secret: true,
      refs: [
        { target: `${service}-ks-user`, kind: 'needs', via: `keystone user ${service} created by ${service}-ks-user` },
      ],
    };
  }

  /**
   * Credentials of a service calling another service's API ([placement], [neutron], [service_user], …).
   * How the endpoint is found differs per section; see ksaAdapter().
   */
  serviceAuth(asService: string, extra: Record<string, IniEntry> = {}): Record<string, IniEntry> {
    const url = this.keystoneInternalUrl();
    return {
      auth_type: { value: 'password' },
      auth_url: { value: url, refs: [this.keystoneRef(`host ${this.topology.host('keystone-api')}`)] },
      project_domain_name: { value: 'Default' },
      user_domain_name: { value: 'Default' },
      project_name: { value: 'service' },
      username: { value: asService },
      password: this.servicePassword(asService),
      ...extra,
    };
  }

  /**
   * Endpoint lookup of a section registered with keystoneauth's adapter options (nova [placement],
   * [neutron], [glance]). Sections with their own options (neutron/cinder [nova]: endpoint_type /
   * interface) or none ([service_user]) must not get these: the service would ignore them.
   */
  ksaAdapter(): Record<string, IniEntry> {
    return { region_name: { value: this.region }, valid_interfaces: { value: 'internal' } };
  }

  /**
   * Public URL of a service (no path): the Ingress host when a public domain is set, the NodePort
   * on endpoints.nodePorts.address when that is set, else the internal URL (path included).
   */
  publicUrl(host: string, internal: string): string {
    const e = this.spec.endpoints;
    const nodePort = this.publicNodePort(host);
    if (e?.nodePorts && nodePort) return `http://${e.nodePorts.address}:${nodePort}`;
    if (!e?.publicDomain) return internal;
    const scheme = e.tls?.enabled ? 'https' : 'http';
    return `${scheme}://${host}.${e.publicDomain}`;
  }

  /** Whether publicUrl() gives a URL of its own (then without the internal URL's path). */
  get hasPublicEndpoints(): boolean {
    return Boolean(this.spec.endpoints?.publicDomain || this.spec.endpoints?.nodePorts);
  }

  /** The fixed NodePort of a public API with endpoints.nodePorts, by its public host name. */
  publicNodePort(host: string): number | undefined {
    return this.spec.endpoints?.nodePorts ? PUBLIC_NODE_PORTS[host] : undefined;
  }

  oslo_messaging_rabbit(): Record<string, IniEntry> {
    const quorum = (this.spec.infra?.rabbitmq?.queueType ?? (this.ha ? 'quorum' : 'classic')) === 'quorum';
    return {
      rabbit_quorum_queue: { value: quorum, since: '2024.2' },
      rabbit_transient_quorum_queue: { value: quorum, since: '2024.2' },
      rabbit_stream_fanout: { value: false, since: '2024.2' },
      heartbeat_in_pthread: { value: false },
      rabbit_qos_prefetch_count: { value: 64 },
    };
  }

  dbSettings(): Record<string, IniEntry> {
    return {
      max_retries: { value: -1 },
      connection_recycle_time: { value: 600 },
      max_pool_size: { value: this.ha ? 10 : 5 },
      max_overflow: { value: this.ha ? 20 : 10 },
    };
  }
}
