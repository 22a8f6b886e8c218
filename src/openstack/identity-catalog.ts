/**
 * Identity (Keystone v3), the service catalog it serves: services, their endpoints and regions.
 * Part of IdentityApi (identity.ts).
 */
import type { Interface } from './catalog.js';
import { exactlyOne, ignoreMissing, orUndefined, seg } from './resource.js';
import { invalid, type Session } from './session.js';

export interface Service {
  id: string;
  type: string;
  name?: string;
  description?: string;
  enabled: boolean;
}
export interface ServiceCreate {
  type: string;
  name?: string;
  description?: string;
  enabled?: boolean;
}

export interface Endpoint {
  id: string;
  service_id: string;
  interface: Interface;
  url: string;
  region_id?: string | null;
  region?: string | null;
  enabled: boolean;
}
export interface EndpointCreate {
  service_id: string;
  interface: Interface;
  url: string;
  region_id?: string;
  enabled?: boolean;
}

export interface Region {
  id: string;
  description?: string;
  parent_region_id?: string | null;
}

export class Services {
  constructor(private readonly s: Session) {}
  list(query: { type?: string } = {}): Promise<Service[]> {
    return this.s.list<Service>('identity', '/services', 'services', { query });
  }
  async get(id: string): Promise<Service> {
    return (await this.s.get<{ service: Service }>('identity', `/services/${seg(id)}`)).service;
  }
  /** By type and name (Keystone filters services by type only; the name is matched here). */
  async find(type: string, name: string): Promise<Service | undefined> {
    return exactlyOne(await this.list({ type }), name, 'service', `of type ${type}`);
  }
  async create(sv: ServiceCreate): Promise<Service> {
    return (await this.s.post<{ service: Service }>('identity', '/services', { service: sv })).service;
  }
  async update(id: string, sv: Partial<ServiceCreate>): Promise<Service> {
    return (await this.s.patch<{ service: Service }>('identity', `/services/${seg(id)}`, { service: sv })).service;
  }
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('identity', `/services/${seg(id)}`));
  }
}

export class Endpoints {
  constructor(private readonly s: Session) {}
  list(query: { service_id?: string; interface?: Interface; region_id?: string } = {}): Promise<Endpoint[]> {
    return this.s.list<Endpoint>('identity', '/endpoints', 'endpoints', { query });
  }
  async get(id: string): Promise<Endpoint> {
    return (await this.s.get<{ endpoint: Endpoint }>('identity', `/endpoints/${seg(id)}`)).endpoint;
  }
  /** The endpoint of a service for one interface (and region); more than one is an error. */
  async find(q: { serviceId: string; interface: Interface; regionId?: string }): Promise<Endpoint | undefined> {
    const items = await this.list({
      service_id: q.serviceId,
      interface: q.interface,
      ...(q.regionId ? { region_id: q.regionId } : {}),
    });
    // Filter here too: not every Keystone honours every filter.
    const hits = items.filter(
      (e) =>
        e.service_id === q.serviceId &&
        e.interface === q.interface &&
        (q.regionId === undefined || (e.region_id ?? e.region) === q.regionId),
    );
    if (hits.length > 1) {
      throw invalid(
        `service ${q.serviceId} has ${hits.length} ${q.interface} endpoints${q.regionId ? ` in region ${q.regionId}` : ''} (${hits.map((h) => h.url).join(', ')}); remove the extra ones`,
      );
    }
    return hits[0];
  }
  async create(e: EndpointCreate): Promise<Endpoint> {
    return (await this.s.post<{ endpoint: Endpoint }>('identity', '/endpoints', { endpoint: e })).endpoint;
  }
  async update(id: string, e: Partial<EndpointCreate>): Promise<Endpoint> {
    return (await this.s.patch<{ endpoint: Endpoint }>('identity', `/endpoints/${seg(id)}`, { endpoint: e })).endpoint;
  }
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('identity', `/endpoints/${seg(id)}`));
  }
}

export class Regions {
  constructor(private readonly s: Session) {}
  list(): Promise<Region[]> {
    return this.s.list<Region>('identity', '/regions', 'regions');
  }
  /** Undefined when there is no such region. */
  async get(id: string): Promise<Region | undefined> {
    return (await orUndefined(this.s.get<{ region: Region }>('identity', `/regions/${seg(id)}`)))?.region;
  }
  /** Region ids are chosen by the caller (`RegionOne`); a second create of the same id is a 409. */
  async create(r: { id: string; description?: string; parent_region_id?: string }): Promise<Region> {
    return (await this.s.post<{ region: Region }>('identity', '/regions', { region: r })).region;
  }
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('identity', `/regions/${seg(id)}`));
  }
}
