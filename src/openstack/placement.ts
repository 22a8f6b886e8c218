/**
 * Placement (microversion 1.39 unless the session says otherwise): resource providers, their
 * inventories and usages. Placement does not page its lists.
 */
import { exactlyOne, orUndefined, seg } from './resource.js';
import type { Session } from './session.js';

interface ResourceProvider {
  uuid: string;
  name: string;
  generation: number;
  parent_provider_uuid: string | null;
  root_provider_uuid: string;
}

interface Inventory {
  total: number;
  reserved: number;
  min_unit: number;
  max_unit: number;
  step_size: number;
  allocation_ratio: number;
}

interface Inventories {
  resource_provider_generation: number;
  /** By resource class: `VCPU`, `MEMORY_MB`, `DISK_GB`, … */
  inventories: Record<string, Inventory>;
}

interface Usages {
  resource_provider_generation: number;
  usages: Record<string, number>;
}

export class PlacementApi {
  readonly resourceProviders: ResourceProviders;
  readonly inventories: InventoriesApi;
  readonly usages: UsagesApi;
  constructor(s: Session) {
    this.resourceProviders = new ResourceProviders(s);
    this.inventories = new InventoriesApi(s);
    this.usages = new UsagesApi(s);
  }
}

class ResourceProviders {
  constructor(private readonly s: Session) {}
  /**
   * Filters under their API names: `resources=VCPU:2,MEMORY_MB:512` lists providers with that
   * much free capacity; `in_tree`, `member_of`, `required` (traits).
   */
  list(
    query: {
      name?: string;
      uuid?: string;
      in_tree?: string;
      member_of?: string;
      resources?: string;
      required?: string;
    } = {},
  ): Promise<ResourceProvider[]> {
    return this.s.list<ResourceProvider>('placement', '/resource_providers', 'resource_providers', { query });
  }
  /** Undefined when there is no such provider. */
  async get(uuid: string): Promise<ResourceProvider | undefined> {
    return orUndefined(this.s.get<ResourceProvider>('placement', `/resource_providers/${seg(uuid)}`));
  }
  /** A compute node's provider is named after its hypervisor host name. */
  async find(name: string): Promise<ResourceProvider | undefined> {
    return exactlyOne(await this.list({ name }), name, 'resource provider');
  }
}

class InventoriesApi {
  constructor(private readonly s: Session) {}
  get(providerUuid: string): Promise<Inventories> {
    return this.s.get<Inventories>('placement', `/resource_providers/${seg(providerUuid)}/inventories`);
  }
  /** Replace all inventories; `generation` must be the provider's current one (else 409). */
  set(
    providerUuid: string,
    generation: number,
    inventories: Record<string, Partial<Inventory> & { total: number }>,
  ): Promise<Inventories> {
    // Not retried: after a lost answer the generation has moved on and a repeat is a 409.
    return this.s.put<Inventories>(
      'placement',
      `/resource_providers/${seg(providerUuid)}/inventories`,
      { resource_provider_generation: generation, inventories },
      { idempotent: false },
    );
  }
}

class UsagesApi {
  constructor(private readonly s: Session) {}
  /** What is allocated from a provider, by resource class. */
  ofProvider(providerUuid: string): Promise<Usages> {
    return this.s.get<Usages>('placement', `/resource_providers/${seg(providerUuid)}/usages`);
  }
  /** What a project uses across all providers. */
  async ofProject(projectId: string, opts: { userId?: string } = {}): Promise<Record<string, number>> {
    const q = { project_id: projectId, ...(opts.userId ? { user_id: opts.userId } : {}) };
    return (await this.s.get<{ usages: Record<string, number> }>('placement', '/usages', { query: q })).usages;
  }
}
