/**
 * Block storage (Cinder v3 at microversion 3.70 unless the session says otherwise): volumes,
 * volume types, QoS specs, attachments, and the volume services. Paths are relative to the
 * catalog's `…/v3[/<project_id>]`.
 */
import { exactlyOne, ignoreMissing, orUndefined, seg, waitUntil, type WaitOptions } from './resource.js';
import type { Session } from './session.js';

type VolumeStatus =
  | 'creating'
  | 'available'
  | 'reserved'
  | 'attaching'
  | 'detaching'
  | 'in-use'
  | 'maintenance'
  | 'deleting'
  | 'awaiting-transfer'
  | 'error'
  | 'error_deleting'
  | 'backing-up'
  | 'restoring-backup'
  | 'error_backing-up'
  | 'error_restoring'
  | 'error_extending'
  | 'downloading'
  | 'uploading'
  | 'retyping'
  | 'extending';

const VOLUME_ERROR_STATUSES: ReadonlySet<string> = new Set([
  'error',
  'error_deleting',
  'error_backing-up',
  'error_restoring',
  'error_extending',
]);

interface Volume {
  id: string;
  name: string | null;
  status: VolumeStatus;
  size: number;
  volume_type: string | null;
  availability_zone: string;
  /** A string in the API: "true" / "false". */
  bootable: 'true' | 'false';
  multiattach: boolean;
  encrypted: boolean;
  attachments: {
    id: string;
    attachment_id: string;
    server_id: string;
    volume_id: string;
    device?: string;
    host_name?: string | null;
    attached_at?: string;
  }[];
  created_at: string;
  updated_at: string | null;
  description: string | null;
  metadata: Record<string, string>;
  snapshot_id: string | null;
  source_volid: string | null;
  user_id: string;
  migration_status?: string | null;
  replication_status?: string | null;
  'os-vol-host-attr:host'?: string | null;
  'os-vol-tenant-attr:tenant_id'?: string;
  volume_image_metadata?: Record<string, string>;
}
interface VolumeCreate {
  /** GiB */
  size: number;
  name?: string;
  description?: string;
  /** Name or id. */
  volume_type?: string;
  availability_zone?: string;
  /** Create from an image (the volume becomes bootable). */
  imageRef?: string;
  snapshot_id?: string;
  source_volid?: string;
  backup_id?: string;
  metadata?: Record<string, string>;
}

interface VolumeType {
  id: string;
  name: string;
  description: string | null;
  is_public: boolean;
  'os-volume-type-access:is_public'?: boolean;
  extra_specs?: Record<string, string>;
  qos_specs_id?: string | null;
}
interface VolumeTypeCreate {
  name: string;
  description?: string;
  'os-volume-type-access:is_public'?: boolean;
  /** e.g. `{ volume_backend_name: 'lvm' }`. */
  extra_specs?: Record<string, string>;
}

type QosConsumer = 'front-end' | 'back-end' | 'both';
interface QosSpec {
  id: string;
  name: string;
  consumer: QosConsumer;
  specs: Record<string, string>;
}
interface QosAssociation {
  association_type: string;
  name: string;
  id: string;
}

interface Attachment {
  id: string;
  status: string;
  /** The server's id. */
  instance: string | null;
  volume_id: string;
  attached_at?: string | null;
  detached_at?: string | null;
  attach_mode?: 'rw' | 'ro' | null;
}

interface VolumeService {
  binary: string;
  host: string;
  zone: string;
  status: 'enabled' | 'disabled';
  state: 'up' | 'down';
  updated_at: string | null;
  disabled_reason?: string | null;
  cluster?: string | null;
  /** cinder-volume only, 3.49+ */
  backend_state?: 'up' | 'down';
}

/** A user message: cinder's own explanation of why an asynchronous action failed (3.3+). */
interface UserMessage {
  id: string;
  user_message: string;
  event_id: string;
  resource_uuid: string;
  resource_type: string;
  message_level: string;
  created_at: string;
}

export class BlockStorageApi {
  readonly volumes: Volumes;
  readonly types: VolumeTypes;
  readonly qos: QosSpecs;
  readonly attachments: Attachments;
  readonly services: VolumeServices;
  readonly messages: Messages;
  constructor(s: Session) {
    this.messages = new Messages(s);
    this.volumes = new Volumes(s, this.messages);
    this.types = new VolumeTypes(s);
    this.qos = new QosSpecs(s);
    this.attachments = new Attachments(s);
    this.services = new VolumeServices(s);
  }
}

class Messages {
  constructor(private readonly s: Session) {}
  list(query: { resource_uuid?: string } = {}): Promise<UserMessage[]> {
    return this.s.list<UserMessage>('block-storage', '/messages', 'messages', { query });
  }
}

class Volumes {
  constructor(
    private readonly s: Session,
    private readonly messages: Messages,
  ) {}
  /** With details. */
  list(
    query: { name?: string; status?: VolumeStatus; all_tenants?: boolean; project_id?: string; metadata?: string } = {},
    opts: { pageSize?: number } = {},
  ): Promise<Volume[]> {
    return this.s.list<Volume>('block-storage', '/volumes/detail', 'volumes', { query, ...opts });
  }
  async get(id: string): Promise<Volume> {
    return (await this.s.get<{ volume: Volume }>('block-storage', `/volumes/${seg(id)}`)).volume;
  }
  async tryGet(id: string): Promise<Volume | undefined> {
    return orUndefined(this.get(id));
  }
  async find(name: string): Promise<Volume | undefined> {
    return exactlyOne(await this.list({ name }), name, 'volume');
  }
  /** Starts creating (202): wait with `waitForStatus(id, 'available')`. Never retried. */
  async create(v: VolumeCreate, opts: { schedulerHints?: Record<string, unknown> } = {}): Promise<Volume> {
    const body = { volume: v, ...(opts.schedulerHints ? { 'OS-SCH-HNT:scheduler_hints': opts.schedulerHints } : {}) };
    return (await this.s.post<{ volume: Volume }>('block-storage', '/volumes', body)).volume;
  }
  /** Starts deleting (202). `cascade` also deletes its snapshots. False when it did not exist. */
  delete(id: string, opts: { cascade?: boolean; force?: boolean } = {}): Promise<boolean> {
    const query = { ...(opts.cascade ? { cascade: true } : {}), ...(opts.force ? { force: true } : {}) };
    return ignoreMissing(this.s.delete('block-storage', `/volumes/${seg(id)}`, { query }));
  }
  /**
   * Wait until the volume has one of the statuses. An error status (when not waited for) fails at
   * once with cinder's latest user message about the volume, when there is one.
   */
  async waitForStatus(
    id: string,
    status: VolumeStatus | readonly VolumeStatus[],
    opts: WaitOptions = {},
  ): Promise<Volume> {
    const want: readonly string[] = typeof status === 'string' ? [status] : status;
    return waitUntil({
      what: `volume ${id}`,
      target: want.join(' or '),
      poll: () => this.get(id),
      status: (v) => v.status,
      done: (v) => want.includes(v.status),
      failed: async (v) => {
        if (!VOLUME_ERROR_STATUSES.has(v.status)) return undefined;
        const why = await this.lastMessage(id);
        return `(${v.name ?? 'unnamed'}) went to ${v.status}${why ? `: ${why}` : ' (cinder left no user message; see the cinder-volume and cinder-scheduler logs)'}`;
      },
      opts,
    });
  }
  async waitForDeleted(id: string, opts: WaitOptions = {}): Promise<void> {
    await waitUntil({
      what: `volume ${id}`,
      target: 'it to be deleted',
      poll: () => this.tryGet(id),
      status: (v) => v?.status ?? 'gone',
      done: (v) => v === undefined,
      failed: (v) => (v?.status === 'error_deleting' ? 'went to error_deleting' : undefined),
      opts,
    });
  }
  private async lastMessage(id: string): Promise<string | undefined> {
    try {
      const msgs = await this.messages.list({ resource_uuid: id });
      const latest = [...msgs].sort((a, b) => a.created_at.localeCompare(b.created_at)).pop();
      return latest?.user_message;
    } catch {
      return undefined; // the explanation is a bonus; the failure itself is what matters
    }
  }
}

class VolumeTypes {
  constructor(private readonly s: Session) {}
  /** `is_public: 'None'` lists private types too (admin). */
  list(query: { is_public?: boolean | 'None' } = {}): Promise<VolumeType[]> {
    return this.s.list<VolumeType>('block-storage', '/types', 'volume_types', { query });
  }
  async get(id: string): Promise<VolumeType> {
    return (await this.s.get<{ volume_type: VolumeType }>('block-storage', `/types/${seg(id)}`)).volume_type;
  }
  /** Cinder has no name filter for types: all are listed and matched here. */
  async find(name: string): Promise<VolumeType | undefined> {
    return exactlyOne(await this.list({ is_public: 'None' }), name, 'volume type');
  }
  async create(t: VolumeTypeCreate): Promise<VolumeType> {
    return (await this.s.post<{ volume_type: VolumeType }>('block-storage', '/types', { volume_type: t })).volume_type;
  }
  /** Adds or replaces the given extra specs. */
  async setExtraSpecs(id: string, specs: Record<string, string>): Promise<Record<string, string>> {
    return (
      await this.s.post<{ extra_specs: Record<string, string> }>(
        'block-storage',
        `/types/${seg(id)}/extra_specs`,
        { extra_specs: specs },
        { idempotent: true },
      )
    ).extra_specs;
  }
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('block-storage', `/types/${seg(id)}`));
  }
}

class QosSpecs {
  constructor(private readonly s: Session) {}
  list(): Promise<QosSpec[]> {
    return this.s.list<QosSpec>('block-storage', '/qos-specs', 'qos_specs');
  }
  async get(id: string): Promise<QosSpec> {
    return (await this.s.get<{ qos_specs: QosSpec }>('block-storage', `/qos-specs/${seg(id)}`)).qos_specs;
  }
  async find(name: string): Promise<QosSpec | undefined> {
    return exactlyOne(await this.list(), name, 'QoS spec');
  }
  /** The specs travel as flat keys next to name and consumer (`read_iops_sec`, `total_bytes_sec`, …). */
  async create(q: { name: string; consumer?: QosConsumer; specs?: Record<string, string> }): Promise<QosSpec> {
    const body = { qos_specs: { ...q.specs, name: q.name, ...(q.consumer ? { consumer: q.consumer } : {}) } };
    return (await this.s.post<{ qos_specs: QosSpec }>('block-storage', '/qos-specs', body)).qos_specs;
  }
  /** Add or change keys. */
  async setKeys(id: string, specs: Record<string, string>): Promise<void> {
    await this.s.put('block-storage', `/qos-specs/${seg(id)}`, { qos_specs: specs });
  }
  /** The volume types using this QoS spec. */
  associations(id: string): Promise<QosAssociation[]> {
    return this.s.list<QosAssociation>('block-storage', `/qos-specs/${seg(id)}/associations`, 'qos_associations');
  }
  /** Apply the QoS spec to a volume type. Cinder does this with a GET; doing it twice is harmless. */
  async associate(id: string, volumeTypeId: string): Promise<void> {
    await this.s.request('block-storage', 'GET', `/qos-specs/${seg(id)}/associate`, {
      query: { vol_type_id: volumeTypeId },
    });
  }
  async disassociate(id: string, volumeTypeId: string): Promise<void> {
    await this.s.request('block-storage', 'GET', `/qos-specs/${seg(id)}/disassociate`, {
      query: { vol_type_id: volumeTypeId },
    });
  }
  /** `force` deletes it even when volume types use it. */
  delete(id: string, opts: { force?: boolean } = {}): Promise<boolean> {
    return ignoreMissing(
      this.s.delete('block-storage', `/qos-specs/${seg(id)}`, { query: { force: opts.force ?? false } }),
    );
  }
}

class Attachments {
  constructor(private readonly s: Session) {}
  /** Volume attachments (3.27+); `detail` adds times and mode. */
  list(
    query: { volume_id?: string; instance_id?: string; all_tenants?: boolean } = {},
    opts: { detail?: boolean } = {},
  ): Promise<Attachment[]> {
    return this.s.list<Attachment>(
      'block-storage',
      opts.detail ? '/attachments/detail' : '/attachments',
      'attachments',
      { query },
    );
  }
}

interface BackendPool {
  /** `host@backend#pool` */
  name: string;
  capabilities?: {
    volume_backend_name?: string;
    free_capacity_gb?: number | string;
    total_capacity_gb?: number | string;
  };
}

class VolumeServices {
  constructor(private readonly s: Session) {}
  /**
   * The pools the scheduler knows (admin): a backend appears once its cinder-volume has sent
   * the scheduler its capabilities, which is when volumes can be placed on it.
   */
  async pools(): Promise<BackendPool[]> {
    return (
      await this.s.get<{ pools: BackendPool[] }>('block-storage', '/scheduler-stats/get_pools', {
        query: { detail: 'true' },
      })
    ).pools;
  }
  /** cinder-scheduler, cinder-volume (one per backend, `host@backend`), cinder-backup. */
  list(query: { binary?: string; host?: string } = {}): Promise<VolumeService[]> {
    return this.s.list<VolumeService>('block-storage', '/os-services', 'services', {
      query,
      markerOf: () => undefined,
    });
  }
}
