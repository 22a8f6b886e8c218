/**
 * Image (Glance v2): create a record, upload its data, get, list, delete. Unlike the other
 * services, Glance sends images unwrapped (no `{ "image": … }`) and pages with a top-level `next`.
 */
import type { Readable } from 'node:stream';
import { exactlyOne, ignoreMissing, orUndefined, seg, waitUntil, type WaitOptions } from './resource.js';
import type { Session } from './session.js';

type ImageStatus =
  | 'queued'
  | 'saving'
  | 'uploading'
  | 'importing'
  | 'active'
  | 'deactivated'
  | 'killed'
  | 'deleted'
  | 'pending_delete';
type DiskFormat = 'ami' | 'ari' | 'aki' | 'vhd' | 'vhdx' | 'vmdk' | 'raw' | 'qcow2' | 'vdi' | 'ploop' | 'iso';
type ContainerFormat = 'ami' | 'ari' | 'aki' | 'bare' | 'ovf' | 'ova' | 'docker' | 'compressed';
type Visibility = 'public' | 'private' | 'shared' | 'community';

interface Image {
  id: string;
  name: string | null;
  status: ImageStatus;
  visibility: Visibility;
  disk_format: DiskFormat | null;
  container_format: ContainerFormat | null;
  size: number | null;
  virtual_size: number | null;
  checksum: string | null;
  os_hash_algo: string | null;
  os_hash_value: string | null;
  min_disk: number;
  min_ram: number;
  protected: boolean;
  tags: string[];
  owner: string | null;
  created_at: string;
  updated_at: string;
  /** Additional properties (`hw_disk_bus`, `os_distro`, …) sit at the top level as strings. */
  [property: string]: unknown;
}

interface ImageCreate {
  name: string;
  /** Chosen by glance when not given. */
  id?: string;
  disk_format?: DiskFormat;
  container_format?: ContainerFormat;
  visibility?: Visibility;
  min_disk?: number;
  min_ram?: number;
  protected?: boolean;
  tags?: string[];
  /** Additional properties, sent as top-level string fields. */
  properties?: Record<string, string>;
}

/** Image data: all in memory, or streamed (a Node stream or any async iterable of bytes). */
type ImageData = Buffer | Uint8Array | Readable | AsyncIterable<Uint8Array>;

export class ImageApi {
  readonly images: Images;
  constructor(s: Session) {
    this.images = new Images(s);
  }
}

class Images {
  constructor(private readonly s: Session) {}
  list(
    query: { name?: string; status?: ImageStatus; visibility?: Visibility; owner?: string; tag?: string } = {},
  ): Promise<Image[]> {
    // Glance pages by 25 by default; ask for bigger pages.
    return this.s.list<Image>('image', '/images', 'images', { query, pageSize: 200 });
  }
  async get(id: string): Promise<Image> {
    return this.s.get<Image>('image', `/images/${seg(id)}`);
  }
  async tryGet(id: string): Promise<Image | undefined> {
    return orUndefined(this.get(id));
  }
  async find(name: string): Promise<Image | undefined> {
    return exactlyOne(await this.list({ name }), name, 'image');
  }
  /** The record only (status `queued`); then `upload` the data. */
  async create(i: ImageCreate): Promise<Image> {
    const { properties, ...fields } = i;
    return this.s.post<Image>('image', '/images', { ...properties, ...fields });
  }
  /**
   * `PUT /v2/images/{id}/file`: the data, as application/octet-stream. Glance answers 204 when
   * the data is stored and the image is `active`. Never retried (a stream cannot be replayed, and
   * a second upload to the same image is refused). Default timeout one hour, as images are big.
   */
  async upload(id: string, data: ImageData, opts: { timeoutMs?: number } = {}): Promise<void> {
    await this.s.request('image', 'PUT', `/images/${seg(id)}/file`, {
      rawBody: data as Uint8Array | AsyncIterable<Uint8Array>,
      contentType: 'application/octet-stream',
      idempotent: false,
      timeoutMs: opts.timeoutMs ?? 3_600_000,
    });
  }
  /** False when it did not exist. A protected image is refused (403). */
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('image', `/images/${seg(id)}`));
  }
  /** For the asynchronous paths (import, a store that is slow to settle). `killed` fails at once. */
  async waitForStatus(
    id: string,
    status: ImageStatus | readonly ImageStatus[],
    opts: WaitOptions = {},
  ): Promise<Image> {
    const want: readonly string[] = typeof status === 'string' ? [status] : status;
    return waitUntil({
      what: `image ${id}`,
      target: want.join(' or '),
      poll: () => this.get(id),
      status: (i) => i.status,
      done: (i) => want.includes(i.status),
      failed: (i) =>
        i.status === 'killed'
          ? `(${i.name ?? 'unnamed'}) was killed: its upload failed (see the glance-api log)`
          : undefined,
      opts,
    });
  }
}
