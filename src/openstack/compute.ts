/**
 * Compute (Nova, API v2.1 at microversion 2.93 unless the session says otherwise): flavors,
 * servers, server groups, keypairs, hypervisors, compute services, volume attachments.
 * Shapes follow the Compute API reference for that microversion.
 */
import { exactlyOne, ignoreMissing, orUndefined, seg, waitUntil, type WaitOptions } from './resource.js';
import { invalid, type Session } from './session.js';

interface Flavor {
  id: string;
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  'OS-FLV-EXT-DATA:ephemeral'?: number;
  swap?: number | '';
  rxtx_factor?: number;
  'os-flavor-access:is_public'?: boolean;
  description?: string | null;
  /** 2.61+ */
  extra_specs?: Record<string, string>;
}
interface FlavorCreate {
  name: string;
  ram: number;
  vcpus: number;
  disk: number;
  /** Chosen by nova (a UUID) when not given. */
  id?: string;
  'OS-FLV-EXT-DATA:ephemeral'?: number;
  swap?: number;
  rxtx_factor?: number;
  'os-flavor-access:is_public'?: boolean;
  description?: string;
}

type ServerStatus =
  | 'ACTIVE'
  | 'BUILD'
  | 'DELETED'
  | 'ERROR'
  | 'HARD_REBOOT'
  | 'MIGRATING'
  | 'PASSWORD'
  | 'PAUSED'
  | 'REBOOT'
  | 'REBUILD'
  | 'RESCUE'
  | 'RESIZE'
  | 'REVERT_RESIZE'
  | 'SHELVED'
  | 'SHELVED_OFFLOADED'
  | 'SHUTOFF'
  | 'SOFT_DELETED'
  | 'SUSPENDED'
  | 'UNKNOWN'
  | 'VERIFY_RESIZE';

interface ServerAddress {
  addr: string;
  version: 4 | 6;
  'OS-EXT-IPS:type'?: 'fixed' | 'floating';
  'OS-EXT-IPS-MAC:mac_addr'?: string;
}

interface Server {
  id: string;
  name: string;
  status: ServerStatus;
  tenant_id: string;
  user_id: string;
  created: string;
  updated: string;
  addresses: Record<string, ServerAddress[]>;
  /** 2.47+: the flavor's details, not a link. */
  flavor: {
    original_name: string;
    vcpus: number;
    ram: number;
    disk: number;
    ephemeral: number;
    swap: number;
    extra_specs?: Record<string, string>;
  };
  /** Empty string for a server booted from a volume. */
  image: { id: string } | '';
  key_name: string | null;
  metadata: Record<string, string>;
  /** Present when status is ERROR (and sometimes after a failed action). */
  fault?: { code: number; message: string; details?: string; created: string };
  hostId?: string;
  'OS-EXT-STS:task_state'?: string | null;
  'OS-EXT-STS:vm_state'?: string;
  'OS-EXT-STS:power_state'?: number;
  'OS-EXT-SRV-ATTR:host'?: string | null;
  'OS-EXT-SRV-ATTR:hypervisor_hostname'?: string | null;
  'OS-EXT-SRV-ATTR:hostname'?: string;
  'OS-EXT-AZ:availability_zone'?: string;
  'os-extended-volumes:volumes_attached'?: { id: string; delete_on_termination: boolean }[];
  security_groups?: { name: string }[];
  locked?: boolean;
  tags?: string[];
  description?: string | null;
}

interface BlockDeviceMapping {
  boot_index?: number | null;
  uuid?: string;
  source_type: 'blank' | 'image' | 'snapshot' | 'volume';
  destination_type?: 'local' | 'volume';
  volume_size?: number;
  volume_type?: string;
  delete_on_termination?: boolean;
  device_name?: string;
  disk_bus?: string;
  guest_format?: string;
  tag?: string;
}

interface ServerCreate {
  name: string;
  flavorRef: string;
  /** Not needed when booting from a volume (block_device_mapping_v2 with boot_index 0). */
  imageRef?: string;
  /** Required since 2.37: a list, or `auto` / `none`. */
  networks: 'auto' | 'none' | { uuid?: string; port?: string; fixed_ip?: string; tag?: string }[];
  key_name?: string;
  security_groups?: { name: string }[];
  availability_zone?: string;
  /** Base64-encoded, as the API wants it. */
  user_data?: string;
  metadata?: Record<string, string>;
  config_drive?: boolean;
  block_device_mapping_v2?: BlockDeviceMapping[];
  description?: string;
  tags?: string[];
  /** 2.90+ */
  hostname?: string;
  /** Sent as the top-level `os:scheduler_hints` (e.g. `{ group: serverGroupId }`). */
  scheduler_hints?: { group?: string; different_host?: string[]; same_host?: string[]; [k: string]: unknown };
}

interface ServerCreated {
  id: string;
  adminPass?: string;
  security_groups?: { name: string }[];
}

interface ServerQuery {
  /** A regular expression in nova. */
  name?: string;
  status?: ServerStatus;
  host?: string;
  all_tenants?: boolean;
  project_id?: string;
  image?: string;
  flavor?: string;
  tags?: string;
  changes_since?: string;
}

interface ServerGroup {
  id: string;
  name: string;
  /** 2.64+ */
  policy: 'affinity' | 'anti-affinity' | 'soft-affinity' | 'soft-anti-affinity';
  rules?: { max_server_per_host?: number };
  members: string[];
  project_id?: string;
  user_id?: string;
}

interface Keypair {
  name: string;
  public_key: string;
  fingerprint: string;
  type?: 'ssh' | 'x509';
  user_id?: string;
  created_at?: string;
  id?: number;
}

interface Hypervisor {
  /** A UUID since 2.53. */
  id: string;
  hypervisor_hostname: string;
  hypervisor_type?: string;
  hypervisor_version?: number;
  host_ip?: string;
  state: 'up' | 'down';
  status: 'enabled' | 'disabled';
  service: { host: string; id: string; disabled_reason: string | null };
  /** 2.88+ */
  uptime?: string | null;
}

interface ComputeService {
  /** A UUID since 2.53. */
  id: string;
  binary: string;
  host: string;
  zone: string;
  status: 'enabled' | 'disabled';
  state: 'up' | 'down';
  updated_at: string | null;
  disabled_reason: string | null;
  forced_down?: boolean;
}

interface VolumeAttachment {
  /** The volume id, as nova reports it. */
  id: string;
  serverId: string;
  volumeId: string;
  device: string | null;
  tag?: string | null;
  delete_on_termination?: boolean;
  /** 2.89+ */
  attachment_id?: string;
  bdm_uuid?: string;
}

export class ComputeApi {
  readonly flavors: Flavors;
  readonly servers: Servers;
  readonly serverGroups: ServerGroups;
  readonly keypairs: Keypairs;
  readonly hypervisors: Hypervisors;
  readonly services: ComputeServices;
  readonly volumeAttachments: VolumeAttachments;
  constructor(s: Session) {
    this.flavors = new Flavors(s);
    this.servers = new Servers(s);
    this.serverGroups = new ServerGroups(s);
    this.keypairs = new Keypairs(s);
    this.hypervisors = new Hypervisors(s);
    this.services = new ComputeServices(s);
    this.volumeAttachments = new VolumeAttachments(s);
  }
}

class Flavors {
  constructor(private readonly s: Session) {}
  /** With details. `is_public: 'None'` lists private flavors too (admin). */
  list(query: { is_public?: boolean | 'None'; minRam?: number; minDisk?: number } = {}): Promise<Flavor[]> {
    return this.s.list<Flavor>('compute', '/flavors/detail', 'flavors', { query });
  }
  async get(id: string): Promise<Flavor> {
    return (await this.s.get<{ flavor: Flavor }>('compute', `/flavors/${seg(id)}`)).flavor;
  }
  /** Nova cannot filter flavors by name: all are listed (public and private) and matched here. */
  async find(name: string): Promise<Flavor | undefined> {
    return exactlyOne(await this.list({ is_public: 'None' }), name, 'flavor');
  }
  async create(f: FlavorCreate): Promise<Flavor> {
    return (await this.s.post<{ flavor: Flavor }>('compute', '/flavors', { flavor: f })).flavor;
  }
  /** Adds or replaces the given extra specs (`hw:cpu_policy`, `resources:…`). */
  async setExtraSpecs(id: string, specs: Record<string, string>): Promise<Record<string, string>> {
    return (
      await this.s.post<{ extra_specs: Record<string, string> }>(
        'compute',
        `/flavors/${seg(id)}/os-extra_specs`,
        { extra_specs: specs },
        { idempotent: true },
      )
    ).extra_specs;
  }
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('compute', `/flavors/${seg(id)}`));
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

class Servers {
  constructor(private readonly s: Session) {}
  /** With details. */
  list(query: ServerQuery = {}, opts: { pageSize?: number } = {}): Promise<Server[]> {
    const { changes_since, ...rest } = query;
    return this.s.list<Server>('compute', '/servers/detail', 'servers', {
      query: { ...rest, ...(changes_since ? { 'changes-since': changes_since } : {}) },
      ...opts,
    });
  }
  async get(id: string): Promise<Server> {
    return (await this.s.get<{ server: Server }>('compute', `/servers/${seg(id)}`)).server;
  }
  /** Undefined when the server does not exist (any more). */
  async tryGet(id: string): Promise<Server | undefined> {
    return orUndefined(this.get(id));
  }
  /** In the session's project (nova's name filter is a regex, so the name is anchored and escaped). */
  async find(name: string, query: Omit<ServerQuery, 'name'> = {}): Promise<Server | undefined> {
    return exactlyOne(await this.list({ ...query, name: `^${escapeRegex(name)}$` }), name, 'server');
  }
  /** Starts the build (202); wait for it with `waitForStatus(id, 'ACTIVE')`. Never retried. */
  async create(req: ServerCreate): Promise<ServerCreated> {
    const { scheduler_hints, ...server } = req;
    const body = { server, ...(scheduler_hints ? { 'os:scheduler_hints': scheduler_hints } : {}) };
    return (await this.s.post<{ server: ServerCreated }>('compute', '/servers', body)).server;
  }
  /** False when it did not exist. Deletion goes on in the background: `waitForDeleted`. */
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('compute', `/servers/${seg(id)}`));
  }
  /** The guest's serial console log (the last `lines` lines, or all). A POST that only reads: retried. */
  async consoleLog(id: string, lines?: number): Promise<string> {
    const body = { 'os-getConsoleOutput': lines === undefined ? {} : { length: lines } };
    return (await this.s.post<{ output: string }>('compute', `/servers/${seg(id)}/action`, body, { idempotent: true }))
      .output;
  }
  /**
   * Wait until the server has one of the statuses. ERROR (when not waited for) fails at once with
   * the fault nova recorded, e.g. "No valid host was found".
   */
  async waitForStatus(
    id: string,
    status: ServerStatus | readonly ServerStatus[],
    opts: WaitOptions = {},
  ): Promise<Server> {
    const want = typeof status === 'string' ? [status] : status;
    return waitUntil({
      what: `server ${id}`,
      target: want.join(' or '),
      poll: () => this.get(id),
      status: (sv) => `${sv.status}${sv['OS-EXT-STS:task_state'] ? ` (task ${sv['OS-EXT-STS:task_state']})` : ''}`,
      done: (sv) => want.includes(sv.status),
      failed: (sv) =>
        sv.status === 'ERROR'
          ? `(${sv.name}) went to ERROR${sv.fault ? `: ${sv.fault.message}${sv.fault.code ? ` (code ${sv.fault.code})` : ''}` : ' and nova recorded no fault'}`
          : undefined,
      opts,
    });
  }
  /** Wait until GET answers 404. */
  async waitForDeleted(id: string, opts: WaitOptions = {}): Promise<void> {
    await waitUntil({
      what: `server ${id}`,
      target: 'it to be deleted',
      poll: () => this.tryGet(id),
      status: (sv) => (sv ? sv.status : 'gone'),
      done: (sv) => sv === undefined,
      failed: (sv) =>
        sv?.status === 'ERROR'
          ? `went to ERROR while being deleted${sv.fault ? `: ${sv.fault.message}` : ''}`
          : undefined,
      opts,
    });
  }
}

class ServerGroups {
  constructor(private readonly s: Session) {}
  list(query: { all_projects?: boolean } = {}): Promise<ServerGroup[]> {
    return this.s.list<ServerGroup>('compute', '/os-server-groups', 'server_groups', { query });
  }
  async get(id: string): Promise<ServerGroup> {
    return (await this.s.get<{ server_group: ServerGroup }>('compute', `/os-server-groups/${seg(id)}`)).server_group;
  }
  /** Nova has no name filter for server groups: matched here, in the session's project. */
  async find(name: string): Promise<ServerGroup | undefined> {
    return exactlyOne(await this.list(), name, 'server group');
  }
  async create(g: { name: string; policy: ServerGroup['policy']; rules?: ServerGroup['rules'] }): Promise<ServerGroup> {
    return (await this.s.post<{ server_group: ServerGroup }>('compute', '/os-server-groups', { server_group: g }))
      .server_group;
  }
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('compute', `/os-server-groups/${seg(id)}`));
  }
}

class Keypairs {
  constructor(private readonly s: Session) {}
  /** Of the session's user (or another user's, as admin). */
  async list(query: { user_id?: string } = {}): Promise<Keypair[]> {
    // Listed wrapped, one object per key: {"keypairs": [{"keypair": {...}}]}; the marker is the name.
    const wrapped = await this.s.list<{ keypair: Keypair }>('compute', '/os-keypairs', 'keypairs', {
      query,
      markerOf: (k) => (k as { keypair?: Keypair }).keypair?.name,
    });
    return wrapped.map((w) => w.keypair);
  }
  /** Undefined when there is no keypair of that name. */
  async get(name: string, query: { user_id?: string } = {}): Promise<Keypair | undefined> {
    return (await orUndefined(this.s.get<{ keypair: Keypair }>('compute', `/os-keypairs/${seg(name)}`, { query })))
      ?.keypair;
  }
  /** Import a public key (since 2.92 nova no longer generates keys). */
  async create(k: { name: string; public_key: string; type?: 'ssh' | 'x509'; user_id?: string }): Promise<Keypair> {
    if (!k.public_key) throw invalid(`keypair ${k.name}: a public key is required (nova no longer generates keypairs)`);
    return (await this.s.post<{ keypair: Keypair }>('compute', '/os-keypairs', { keypair: k })).keypair;
  }
  delete(name: string, query: { user_id?: string } = {}): Promise<boolean> {
    return ignoreMissing(this.s.delete('compute', `/os-keypairs/${seg(name)}`, { query }));
  }
}

class Hypervisors {
  constructor(private readonly s: Session) {}
  /** With details; `hypervisor_hostname_pattern` filters by a substring of the host name. */
  list(query: { hypervisor_hostname_pattern?: string; with_servers?: boolean } = {}): Promise<Hypervisor[]> {
    return this.s.list<Hypervisor>('compute', '/os-hypervisors/detail', 'hypervisors', { query });
  }
  async get(id: string): Promise<Hypervisor> {
    return (await this.s.get<{ hypervisor: Hypervisor }>('compute', `/os-hypervisors/${seg(id)}`)).hypervisor;
  }
}

class ComputeServices {
  constructor(private readonly s: Session) {}
  /** nova-compute, nova-scheduler, nova-conductor…, with their state as nova sees it. */
  list(query: { binary?: string; host?: string } = {}): Promise<ComputeService[]> {
    return this.s.list<ComputeService>('compute', '/os-services', 'services', { query });
  }
  /** Enable/disable a service or force it down (2.53+: by id). */
  async update(
    id: string,
    u: { status?: 'enabled' | 'disabled'; disabled_reason?: string; forced_down?: boolean },
  ): Promise<ComputeService> {
    return (await this.s.put<{ service: ComputeService }>('compute', `/os-services/${seg(id)}`, u)).service;
  }
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('compute', `/os-services/${seg(id)}`));
  }
}

class VolumeAttachments {
  constructor(private readonly s: Session) {}
  list(serverId: string): Promise<VolumeAttachment[]> {
    return this.s.list<VolumeAttachment>(
      'compute',
      `/servers/${seg(serverId)}/os-volume_attachments`,
      'volumeAttachments',
      { markerOf: () => undefined },
    );
  }
  /** Attach a volume (never retried: a second attach is a 409). The volume goes to `in-use` in cinder. */
  async attach(
    serverId: string,
    a: { volumeId: string; device?: string; tag?: string; delete_on_termination?: boolean },
  ): Promise<VolumeAttachment> {
    return (
      await this.s.post<{ volumeAttachment: VolumeAttachment }>(
        'compute',
        `/servers/${seg(serverId)}/os-volume_attachments`,
        { volumeAttachment: a },
      )
    ).volumeAttachment;
  }
  /** Detach (202; the volume goes back to `available` in cinder). False when it was not attached. */
  detach(serverId: string, volumeId: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('compute', `/servers/${seg(serverId)}/os-volume_attachments/${seg(volumeId)}`));
  }
}
