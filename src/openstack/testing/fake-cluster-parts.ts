/**
 * The state of the fake cluster cloud (fake-cluster-cloud.ts) and what its services share: ids,
 * list filters, the error bodies, and how Neutron makes, refuses and unbinds ports.
 */
import { json, type Recorded } from './fake-cloud.js';

export type Obj = Record<string, unknown> & { id: string };

export interface ClusterCloudState {
  networks: Obj[];
  subnets: Obj[];
  ports: Obj[];
  routers: Obj[];
  security_groups: Obj[];
  security_group_rules: Obj[];
  floatingips: Obj[];
  servers: Obj[];
  serverGroups: Obj[];
  flavors: Obj[];
  images: Obj[];
  volumeTypes: Obj[];
  appCreds: Obj[];
  loadbalancers: Obj[];
  listeners: Obj[];
  pools: Obj[];
  members: Obj[];
  computeHosts: number;
  /** Whether the compute hosts have SR-IOV NICs: without them Nova cannot bind a direct port. */
  sriov: boolean;
}

let n = 0;
/** A fresh number for ids, addresses and names: unique in the process. */
export const nextNumber = (): number => ++n;
export const uuid = () => `00000000-0000-4000-8000-${String(nextNumber()).padStart(12, '0')}`;
export const NET = '/network/v2.0';
export const LB = '/load-balancer/v2/lbaas';
export const notFound = () => json(404, { NeutronError: { type: 'NotFound', message: 'not found' } });
export const conflict = (message: string) => json(409, { NeutronError: { type: 'Conflict', message } });
export const lastSeg = (r: Recorded, back = 1) => decodeURIComponent(r.path.split('/').at(-back)!);
export const bodyOf = (r: Recorded, key: string) => ({ ...((r.json as Record<string, object>)[key] ?? {}) }) as Obj;

/** Neutron's and Octavia's list filters: every query parameter equals the field; `tags` must all be there. */
export function filtered(items: Obj[], r: Recorded, ignore: string[] = []): Obj[] {
  return items.filter((i) =>
    [...r.query].every(([k, v]) => {
      if (ignore.includes(k) || k === 'limit' || k === 'marker') return true;
      if (k === 'tags') return v.split(',').every((t) => ((i.tags as string[]) ?? []).includes(t));
      return String(i[k]) === v;
    }),
  );
}

function addressIn(s: ClusterCloudState, subnet: Obj): string {
  const base = String(subnet.cidr).split('/')[0]!.split('.').slice(0, 3).join('.');
  const used = new Set(s.ports.flatMap((p) => (p.fixed_ips as { ip_address: string }[]).map((f) => f.ip_address)));
  for (let i = 2; i < 255; i++) if (!used.has(`${base}.${i}`)) return `${base}.${i}`;
  throw new Error('fake subnet full');
}

const macOf = (i: number) =>
  `fa:16:3e:00:${(Math.floor(i / 256) % 256).toString(16).padStart(2, '0')}:${(i % 256).toString(16).padStart(2, '0')}`;

export function newPort(s: ClusterCloudState, b: Obj): Obj {
  const first = s.subnets.find((x) => x.network_id === b.network_id);
  const fixed = (b.fixed_ips as { subnet_id: string }[] | undefined) ?? (first ? [{ subnet_id: first.id }] : []);
  const net = s.networks.find((x) => x.id === b.network_id);
  const port: Obj = {
    name: '',
    device_id: '',
    device_owner: '',
    security_groups: [],
    tags: [],
    'binding:vnic_type': 'normal',
    port_security_enabled: net?.port_security_enabled ?? true,
    ...b,
    id: uuid(),
    status: 'ACTIVE',
    mac_address: macOf(nextNumber()),
    fixed_ips: fixed.map((f) => ({
      subnet_id: f.subnet_id,
      ip_address: addressIn(s, s.subnets.find((x) => x.id === f.subnet_id)!),
    })),
  };
  s.ports.push(port);
  return port;
}

/** Why Neutron refuses these security groups on the port (Neutron's 400s and 404), if it does. */
export function groupsRefused(s: ClusterCloudState, port: Obj): string | undefined {
  const groups = port.security_groups as string[];
  if (!groups.length) return undefined;
  if (port.port_security_enabled === false || !(port.fixed_ips as unknown[]).length)
    return 'Port security must be enabled and port must have an IP address in order to use security groups.';
  const missing = groups.find((g) => !s.security_groups.some((x) => x.id === g));
  return missing ? `Security group ${missing} does not exist` : undefined;
}

/** A deleted port's floating IPs stay allocated, unbound: Neutron's behaviour, and how they leak. */
export function unbind(s: ClusterCloudState, portId: string): void {
  for (const f of s.floatingips) if (f.port_id === portId) f.port_id = null;
}
