/**
 * The service catalog of a token, and choosing the endpoint a request goes to.
 */
import { OskError } from '../errors.js';

export type Interface = 'public' | 'internal' | 'admin';

interface CatalogEndpoint {
  id: string;
  interface: string;
  region?: string | null;
  region_id?: string | null;
  url: string;
}

export interface CatalogService {
  id?: string;
  type: string;
  name?: string;
  endpoints: CatalogEndpoint[];
}

/**
 * The service types osk talks to, by their official names (service-types-authority). Catalogs
 * often register older aliases, e.g. cinder as `volumev3` (osk's own catalog does), so lookups
 * try these in order.
 */
export const SERVICE_TYPE_ALIASES: Record<string, string[]> = {
  identity: ['identity'],
  compute: ['compute'],
  network: ['network'],
  'block-storage': ['block-storage', 'volumev3', 'volume'],
  image: ['image'],
  placement: ['placement'],
  'load-balancer': ['load-balancer'],
};

interface EndpointQuery {
  serviceType: string;
  interface?: Interface;
  region?: string;
}

function regionOf(e: CatalogEndpoint): string | undefined {
  return e.region_id ?? e.region ?? undefined;
}

/**
 * The URL of the endpoint for a service type, interface (default public) and region (any when not
 * given: the first listed, as keystoneauth does). Not found is an error that lists what the
 * catalog does have, since the usual cause is a wrong region or interface name.
 */
export function selectEndpoint(catalog: CatalogService[], q: EndpointQuery): string {
  const iface = q.interface ?? 'public';
  const types = SERVICE_TYPE_ALIASES[q.serviceType] ?? [q.serviceType];
  for (const type of types) {
    for (const svc of catalog.filter((s) => s.type === type)) {
      const hit = svc.endpoints.find(
        (e) =>
          (e.interface === iface || e.interface === `${iface}URL`) &&
          (q.region === undefined || regionOf(e) === q.region),
      );
      if (hit) return hit.url;
    }
  }
  const have = catalog
    .filter((s) => types.includes(s.type))
    .flatMap((s) => s.endpoints.map((e) => `${s.type} ${e.interface}${regionOf(e) ? ` in ${regionOf(e)}` : ''}`));
  const wanted = `${iface} endpoint for service type ${q.serviceType}${q.region ? ` in region ${q.region}` : ''}`;
  throw new OskError(
    `the service catalog has no ${wanted}${have.length ? ` (it has: ${have.join(', ')})` : types.length > 1 ? ` (looked for types ${types.join(', ')})` : ''}`,
    {
      hint: have.length
        ? 'set region_name / interface in clouds.yaml to one the catalog has, or an endpoint override for this service'
        : `the service is not registered in Keystone (or the token is unscoped and has no catalog); register it or set an endpoint override (clouds.yaml ${q.serviceType.replace(/-/g, '_')}_endpoint_override)`,
    },
  );
}

/**
 * The base URL requests for a service are built on. Catalog URLs differ in whether they carry the
 * API version (Keystone `http://h:5000` vs `…/v3`, Neutron `http://h:9696` vs `…/v2.0`), so the
 * version is added where it is missing and paths in the resource modules never include it.
 */
export function apiBase(serviceType: string, endpointUrl: string): string {
  const u = endpointUrl.replace(/\/+$/, '');
  const ensure = (suffix: RegExp, add: string): string => (suffix.test(new URL(u).pathname) ? u : `${u}${add}`);
  switch (serviceType) {
    case 'identity':
      return ensure(/\/v3$/, '/v3');
    case 'network':
      return ensure(/\/v2\.0$/, '/v2.0');
    case 'image':
      return ensure(/\/v2$/, '/v2');
    case 'compute':
      // `…/v2.1` or `…/v2.1/<project_id>`; a bare host gets the current API.
      return ensure(/\/v2(\.1)?(\/|$)/, '/v2.1');
    case 'block-storage':
      // `…/v3` or `…/v3/<project_id>` (the project id is optional since microversion 3.67).
      return ensure(/\/v3(\/|$)/, '/v3');
    default:
      return u;
  }
}
