/**
 * The Keystone and Cinder objects src/bootstrap makes (projects, users, roles and their grants,
 * regions, services, endpoints; volume types and QoS specs), kept in memory on a FakeCloud so a
 * test can run a bootstrap twice and read what it left. The token's catalog lists Keystone and
 * Cinder in one region, internal and public, so a client of any region name finds them.
 */
import { type FakeCloud, json, PROJECT_ID, type Recorded } from './fake-cloud.js';

export interface BootstrapState {
  projects: { id: string; name: string; domain_id: string; description?: string }[];
  users: { id: string; name: string; domain_id: string; password?: string; default_project_id?: string }[];
  roles: { id: string; name: string }[];
  /** "<project id>/<user id>/<role id>" */
  grants: Set<string>;
  regions: { id: string }[];
  services: { id: string; type: string; name: string }[];
  endpoints: { id: string; service_id: string; interface: string; url: string; region_id: string }[];
  types: { id: string; name: string; extra_specs: Record<string, string>; qos_specs_id: string | null }[];
  qos: { id: string; name: string; consumer: string; specs: Record<string, string> }[];
}

const IDENTITY = '/internal/identity/v3';
const VOLUME = `/internal/volume/v3/${PROJECT_ID}`;
const notFound = () => json(404, { error: { code: 404, message: 'Could not find it.' } });

let n = 0;
const id = (kind: string) => `${kind}-${++n}`;
/** The object under `key` of a request's JSON body (what the client sent, trusted as is). */
const body = <T = Record<string, string>>(r: Recorded, key: string) => (r.json as Record<string, T>)[key]!;
/** Keystone's list filters: every query parameter must equal the field. */
const filtered = <T extends object>(items: T[], r: Recorded) =>
  items.filter((i) => [...r.query].every(([k, v]) => String((i as Record<string, unknown>)[k]) === v));

export function serveBootstrapApis(cloud: FakeCloud, region: string): BootstrapState {
  const s: BootstrapState = {
    projects: [],
    users: [],
    roles: [],
    grants: new Set(),
    regions: [],
    services: [],
    endpoints: [],
    types: [],
    qos: [],
  };
  const ep = (url: string) => [
    { id: `${url}-int`, interface: 'internal', region, region_id: region, url: `${cloud.base}${url}` },
    { id: `${url}-pub`, interface: 'public', region, region_id: region, url: `${cloud.base}${url}` },
  ];
  cloud.catalog = () => [
    { id: 'svc-keystone', type: 'identity', name: 'keystone', endpoints: ep(IDENTITY) },
    { id: 'svc-cinder', type: 'volumev3', name: 'cinderv3', endpoints: ep(VOLUME) },
  ];

  serveIdentity(cloud, s);
  serveVolume(cloud, s);
  return s;
}

function serveIdentity(cloud: FakeCloud, s: BootstrapState): void {
  const collection = <T extends { id: string }>(path: string, key: string, items: T[]) => {
    cloud.on('GET', `${IDENTITY}/${path}`, (r) => json(200, { [`${key}s`]: filtered(items, r) }));
    cloud.on('POST', `${IDENTITY}/${path}`, (r) => {
      const item = { ...(body<unknown>(r, key) as object), id: id(key) } as T;
      items.push(item);
      return json(201, { [key]: item });
    });
    cloud.on('PATCH', new RegExp(`^${IDENTITY}/${path}/([^/]+)$`), (r) => {
      const item = items.find((i) => i.id === decodeURIComponent(r.path.split('/').at(-1)!));
      if (!item) return notFound();
      Object.assign(item, body<unknown>(r, key));
      return json(200, { [key]: item });
    });
  };
  collection('projects', 'project', s.projects);
  collection('users', 'user', s.users);
  collection('roles', 'role', s.roles);
  collection('services', 'service', s.services);
  collection('endpoints', 'endpoint', s.endpoints);
  cloud.on('PUT', new RegExp(`^${IDENTITY}/projects/([^/]+)/users/([^/]+)/roles/([^/]+)$`), (r) => {
    const [, p, u, role] = /projects\/([^/]+)\/users\/([^/]+)\/roles\/([^/]+)$/.exec(r.path)!;
    s.grants.add(`${p}/${u}/${role}`);
    return { status: 204 };
  });
  cloud.on('GET', new RegExp(`^${IDENTITY}/regions/([^/]+)$`), (r) => {
    const region = s.regions.find((x) => x.id === decodeURIComponent(r.path.split('/').at(-1)!));
    return region ? json(200, { region }) : notFound();
  });
  cloud.on('POST', `${IDENTITY}/regions`, (r) => {
    const region = { id: body(r, 'region').id! };
    s.regions.push(region);
    return json(201, { region });
  });
}

function serveVolume(cloud: FakeCloud, s: BootstrapState): void {
  cloud.on('GET', `${VOLUME}/types`, () => json(200, { volume_types: s.types }));
  cloud.on('POST', `${VOLUME}/types`, (r) => {
    const b = body<{ name: string; extra_specs?: Record<string, string> }>(r, 'volume_type');
    const t = { id: id('type'), name: b.name, extra_specs: { ...b.extra_specs }, qos_specs_id: null };
    s.types.push(t);
    return json(200, { volume_type: t });
  });
  cloud.on('GET', `${VOLUME}/qos-specs`, () => json(200, { qos_specs: s.qos }));
  cloud.on('POST', `${VOLUME}/qos-specs`, (r) => {
    const { name, consumer, ...specs } = body(r, 'qos_specs') as { name: string; consumer: string };
    const q = { id: id('qos'), name, consumer, specs };
    s.qos.push(q);
    return json(200, { qos_specs: q });
  });
  cloud.on('PUT', new RegExp(`^${VOLUME}/qos-specs/([^/]+)$`), (r) => {
    const q = s.qos.find((x) => x.id === r.path.split('/').at(-1));
    if (!q) return notFound();
    Object.assign(q.specs, body(r, 'qos_specs'));
    return json(200, { qos_specs: q.specs });
  });
  cloud.on('GET', new RegExp(`^${VOLUME}/qos-specs/([^/]+)/associate$`), (r) => {
    const q = r.path.split('/').at(-2);
    const t = s.types.find((x) => x.id === r.query.get('vol_type_id'));
    if (!t || !s.qos.some((x) => x.id === q)) return notFound();
    t.qos_specs_id = q!;
    return { status: 202 };
  });
}
