/**
 * The services `osk cluster` calls, kept in memory on a FakeCloud: Keystone application
 * credentials, Nova (flavors, servers that go ACTIVE at once like the fake driver's, server
 * groups, compute services), Glance images, Cinder volume types, Neutron (networks, subnets,
 * ports, routers and their interfaces, security groups and rules, floating IPs, tags) and
 * Octavia (providers, load balancers, listeners, pools, members). Neutron refuses what the real
 * one refuses when the order is wrong (a network with ports, a router with interfaces, a
 * security group in use, a subnet a router is plugged into), so a test of `delete` sees a
 * wrong order fail as it would in a cloud.
 */
import { type FakeCloud, json, type Recorded, USER_ID } from './fake-cloud.js';

type Obj = Record<string, unknown> & { id: string };

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
}

let n = 0;
const uuid = () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
const NET = '/network/v2.0';
const LB = '/load-balancer/v2/lbaas';
const notFound = () => json(404, { NeutronError: { type: 'NotFound', message: 'not found' } });
const conflict = (message: string) => json(409, { NeutronError: { type: 'Conflict', message } });
const lastSeg = (r: Recorded, back = 1) => decodeURIComponent(r.path.split('/').at(-back)!);
const bodyOf = (r: Recorded, key: string) => ({ ...((r.json as Record<string, object>)[key] ?? {}) }) as Obj;

/** Neutron's and Octavia's list filters: every query parameter equals the field; `tags` must all be there. */
function filtered(items: Obj[], r: Recorded, ignore: string[] = []): Obj[] {
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

function newPort(s: ClusterCloudState, b: Obj): Obj {
  const fixed = (b.fixed_ips as { subnet_id: string }[] | undefined) ?? [
    { subnet_id: s.subnets.find((x) => x.network_id === b.network_id)!.id },
  ];
  const port: Obj = {
    name: '',
    device_id: '',
    device_owner: '',
    security_groups: [],
    tags: [],
    ...b,
    id: uuid(),
    status: 'ACTIVE',
    fixed_ips: fixed.map((f) => ({
      subnet_id: f.subnet_id,
      ip_address: addressIn(s, s.subnets.find((x) => x.id === f.subnet_id)!),
    })),
  };
  s.ports.push(port);
  return port;
}

/** A deleted port's floating IPs stay allocated, unbound: Neutron's behaviour, and how they leak. */
function unbind(s: ClusterCloudState, portId: string): void {
  for (const f of s.floatingips) if (f.port_id === portId) f.port_id = null;
}

function serveNeutron(cloud: FakeCloud, s: ClusterCloudState): void {
  const collection = (plural: keyof ClusterCloudState, singular: string, defaults: () => Record<string, unknown>) => {
    // Read on each request: deletes replace the array.
    const items = {
      find: (f: (o: Obj) => boolean) => (s[plural] as Obj[]).find(f),
      push: (o: Obj) => (s[plural] as Obj[]).push(o),
    };
    cloud.on('GET', `${NET}/${plural.replace(/_/g, '-')}`, (r) =>
      json(200, { [plural]: filtered(s[plural] as Obj[], r) }),
    );
    cloud.on('GET', new RegExp(`^${NET}/${plural.replace(/_/g, '-')}/[^/]+$`), (r) => {
      const o = items.find((i) => i.id === lastSeg(r));
      return o ? json(200, { [singular]: o }) : notFound();
    });
    cloud.on('PUT', new RegExp(`^${NET}/${plural.replace(/_/g, '-')}/[^/]+$`), (r) => {
      const o = items.find((i) => i.id === lastSeg(r));
      if (!o) return notFound();
      Object.assign(o, bodyOf(r, singular));
      return json(200, { [singular]: o });
    });
    cloud.on('PUT', new RegExp(`^${NET}/${plural.replace(/_/g, '-')}/[^/]+/tags$`), (r) => {
      const o = items.find((i) => i.id === lastSeg(r, 2));
      if (!o) return notFound();
      o.tags = (r.json as { tags: string[] }).tags;
      return json(200, { tags: o.tags });
    });
    if (plural !== 'ports')
      cloud.on('POST', `${NET}/${plural.replace(/_/g, '-')}`, (r) => {
        const o = { tags: [], ...defaults(), ...bodyOf(r, singular), id: uuid() } as Obj;
        items.push(o);
        return json(201, { [singular]: o });
      });
  };
  collection('networks', 'network', () => ({ mtu: 1442, subnets: [], 'router:external': false }));
  collection('subnets', 'subnet', () => ({ dns_nameservers: [] }));
  collection('ports', 'port', () => ({}));
  collection('routers', 'router', () => ({ external_gateway_info: null }));
  collection('security_groups', 'security_group', () => ({ security_group_rules: [] }));
  collection('floatingips', 'floatingip', () => ({ floating_ip_address: `203.0.113.${++n % 250}`, port_id: null }));
  cloud.on('POST', `${NET}/ports`, (r) => json(201, { port: newPort(s, bodyOf(r, 'port')) }));
  cloud.on('POST', `${NET}/security-group-rules`, (r) => {
    const b = bodyOf(r, 'security_group_rule');
    const rule = {
      port_range_min: null,
      port_range_max: null,
      remote_ip_prefix: null,
      remote_group_id: null,
      ...b,
      id: uuid(),
    };
    s.security_group_rules.push(rule);
    const g = s.security_groups.find((x) => x.id === b.security_group_id)!;
    (g.security_group_rules as Obj[]).push(rule);
    return json(201, { security_group_rule: rule });
  });
  cloud.on('PUT', new RegExp(`^${NET}/routers/[^/]+/add_router_interface$`), (r) => {
    const subnetId = (r.json as { subnet_id: string }).subnet_id;
    const subnet = s.subnets.find((x) => x.id === subnetId)!;
    const port = newPort(s, {
      id: '',
      network_id: subnet.network_id,
      device_id: lastSeg(r, 2),
      device_owner: 'network:router_interface',
      fixed_ips: [{ subnet_id: subnetId }],
    });
    return json(200, { id: lastSeg(r, 2), subnet_id: subnetId, port_id: port.id });
  });
  cloud.on('PUT', new RegExp(`^${NET}/routers/[^/]+/remove_router_interface$`), (r) => {
    const portId = (r.json as { port_id: string }).port_id;
    s.ports = s.ports.filter((p) => p.id !== portId);
    return json(200, { id: lastSeg(r, 2), port_id: portId });
  });
  serveNeutronDeletes(cloud, s);
}

/** Deletes, refused the way Neutron refuses them while something still uses the object. */
function serveNeutronDeletes(cloud: FakeCloud, s: ClusterCloudState): void {
  const del = (plural: keyof ClusterCloudState, inUse: (id: string) => string | undefined) =>
    cloud.on('DELETE', new RegExp(`^${NET}/${plural.replace(/_/g, '-')}/[^/]+$`), (r) => {
      const id = lastSeg(r);
      const items = s[plural] as Obj[];
      if (!items.some((i) => i.id === id)) return notFound();
      const why = inUse(id);
      if (why) return conflict(why);
      (s[plural] as Obj[]) = items.filter((i) => i.id !== id);
      unbind(s, id);
      return { status: 204 };
    });
  del('networks', (id) =>
    s.ports.some((p) => p.network_id === id)
      ? `Unable to complete operation on network ${id}: there are ports on it`
      : undefined,
  );
  del('subnets', (id) =>
    s.ports.some((p) => (p.fixed_ips as { subnet_id: string }[]).some((f) => f.subnet_id === id))
      ? `Unable to complete operation on subnet ${id}: one or more ports have an IP allocation from this subnet`
      : undefined,
  );
  del('routers', (id) => (s.ports.some((p) => p.device_id === id) ? `Router ${id} still has ports` : undefined));
  del('security_groups', (id) =>
    s.ports.some((p) => (p.security_groups as string[]).includes(id)) ? `Security Group ${id} in use` : undefined,
  );
  del('ports', (id) => {
    const p = s.ports.find((x) => x.id === id)!;
    return String(p.device_owner).startsWith('compute:') && s.servers.some((v) => v.id === p.device_id)
      ? `port ${id} is in use by a server`
      : undefined;
  });
  del('floatingips', () => undefined);
}

function serveNova(cloud: FakeCloud, s: ClusterCloudState): void {
  const C = '/compute/v2.1';
  cloud.on('GET', `${C}/flavors/detail`, () => json(200, { flavors: s.flavors }));
  cloud.on('GET', new RegExp(`^${C}/os-keypairs/[^/]+$`), () =>
    json(404, { itemNotFound: { code: 404, message: 'no keypair' } }),
  );
  cloud.on('GET', `${C}/os-services`, () =>
    json(200, {
      services: Array.from({ length: s.computeHosts }, (_, i) => ({
        id: `svc-${i}`,
        binary: 'nova-compute',
        host: `h${i}`,
        status: 'enabled',
        state: 'up',
      })),
    }),
  );
  // Later routes win: the list goes after /servers/{id}, which would match /servers/detail.
  cloud.on('GET', new RegExp(`^${C}/servers/[^/]+$`), (r) => {
    const v = s.servers.find((x) => x.id === lastSeg(r));
    return v ? json(200, { server: v }) : json(404, { itemNotFound: { code: 404, message: 'no server' } });
  });
  cloud.on('GET', `${C}/servers/detail`, (r) => {
    const name = r.query.get('name');
    const tags = r.query.get('tags');
    const hits = s.servers.filter(
      (v) =>
        (!name || new RegExp(name).test(String(v.name))) &&
        (!tags || tags.split(',').every((t) => (v.tags as string[]).includes(t))),
    );
    return json(200, { servers: hits });
  });
  cloud.on('POST', `${C}/servers`, (r) => {
    const b = r.json as { server: Obj; 'os:scheduler_hints'?: { group?: string } };
    const v: Obj = {
      ...b.server,
      id: uuid(),
      status: 'ACTIVE',
      tags: b.server.tags ?? [],
      hints: b['os:scheduler_hints'],
    };
    for (const net of b.server.networks as { port: string }[]) {
      const p = s.ports.find((x) => x.id === net.port)!;
      Object.assign(p, { device_id: v.id, device_owner: 'compute:nova' });
    }
    const g = s.serverGroups.find((x) => x.id === b['os:scheduler_hints']?.group);
    if (g) (g.members as string[]).push(v.id);
    s.servers.push(v);
    return json(202, { server: { id: v.id } });
  });
  cloud.on('DELETE', new RegExp(`^${C}/servers/[^/]+$`), (r) => {
    const id = lastSeg(r);
    s.servers = s.servers.filter((v) => v.id !== id);
    // Nova unbinds the ports it did not make; they stay.
    for (const p of s.ports.filter((x) => x.device_id === id)) Object.assign(p, { device_id: '', device_owner: '' });
    for (const g of s.serverGroups) g.members = (g.members as string[]).filter((m) => m !== id);
    return { status: 204 };
  });
  cloud.on('GET', `${C}/os-server-groups`, () => json(200, { server_groups: s.serverGroups }));
  cloud.on('POST', `${C}/os-server-groups`, (r) => {
    const g = { ...bodyOf(r, 'server_group'), id: uuid(), members: [] };
    s.serverGroups.push(g);
    return json(200, { server_group: g });
  });
  cloud.on('DELETE', new RegExp(`^${C}/os-server-groups/[^/]+$`), (r) => {
    const before = s.serverGroups.length;
    s.serverGroups = s.serverGroups.filter((g) => g.id !== lastSeg(r));
    return before === s.serverGroups.length ? json(404, { itemNotFound: {} }) : { status: 204 };
  });
}

function serveOthers(cloud: FakeCloud, s: ClusterCloudState): void {
  cloud.on('GET', '/image/v2/images', (r) =>
    json(200, { images: s.images.filter((i) => !r.query.get('name') || i.name === r.query.get('name')) }),
  );
  cloud.on('GET', /^\/volume\/v3\/[^/]+\/types$/, () => json(200, { volume_types: s.volumeTypes }));
  const AC = `/identity/v3/users/${USER_ID}/application_credentials`;
  cloud.on('GET', AC, (r) => json(200, { application_credentials: filtered(s.appCreds, r) }));
  cloud.on('POST', AC, (r) => {
    const c = { ...bodyOf(r, 'application_credential'), id: uuid() };
    s.appCreds.push(c);
    return json(201, { application_credential: { ...c, secret: `secret-of-${c.id}` } });
  });
  cloud.on('DELETE', new RegExp(`^${AC}/[^/]+$`), (r) => {
    s.appCreds = s.appCreds.filter((c) => c.id !== lastSeg(r));
    return { status: 204 };
  });
}

function serveOctavia(cloud: FakeCloud, s: ClusterCloudState): void {
  cloud.on('GET', `${LB}/providers`, () => json(200, { providers: [{ name: 'ovn', description: 'OVN provider' }] }));
  cloud.on('GET', `${LB}/loadbalancers`, (r) => json(200, { loadbalancers: filtered(s.loadbalancers, r) }));
  cloud.on('GET', new RegExp(`^${LB}/loadbalancers/[^/]+$`), (r) => {
    const lb = s.loadbalancers.find((x) => x.id === lastSeg(r));
    return lb ? json(200, { loadbalancer: lb }) : json(404, { faultstring: 'not found' });
  });
  cloud.on('POST', `${LB}/loadbalancers`, (r) => {
    const b = bodyOf(r, 'loadbalancer');
    const subnet = s.subnets.find((x) => x.id === b.vip_subnet_id)!;
    const vip = newPort(s, { id: '', network_id: subnet.network_id, device_owner: 'Octavia', name: `ovn-lb-vip-${n}` });
    const lb = {
      tags: [],
      ...b,
      id: uuid(),
      provider: b.provider ?? 'ovn',
      provisioning_status: 'ACTIVE',
      operating_status: 'ONLINE',
      vip_port_id: vip.id,
      vip_address: (vip.fixed_ips as { ip_address: string }[])[0]!.ip_address,
    };
    s.loadbalancers.push(lb);
    return json(201, { loadbalancer: lb });
  });
  cloud.on('DELETE', new RegExp(`^${LB}/loadbalancers/[^/]+$`), (r) => {
    const id = lastSeg(r);
    const lb = s.loadbalancers.find((x) => x.id === id);
    if (!lb) return json(404, { faultstring: 'not found' });
    if (
      (s.listeners.some((l) => l.loadbalancer_id === id) || s.pools.some((p) => p.loadbalancer_id === id)) &&
      r.query.get('cascade') !== 'true'
    )
      return json(400, { faultstring: 'Cannot delete Load Balancer - it has children' });
    s.loadbalancers = s.loadbalancers.filter((x) => x.id !== id);
    s.listeners = s.listeners.filter((x) => x.loadbalancer_id !== id);
    s.pools = s.pools.filter((x) => x.loadbalancer_id !== id);
    s.ports = s.ports.filter((p) => p.id !== lb.vip_port_id);
    unbind(s, String(lb.vip_port_id));
    return { status: 204 };
  });
  const child = (plural: 'listeners' | 'pools', singular: string) => {
    cloud.on('GET', `${LB}/${plural}`, (r) => json(200, { [plural]: filtered(s[plural], r) }));
    cloud.on('POST', `${LB}/${plural}`, (r) => {
      const b = bodyOf(r, singular);
      const lbId = b.loadbalancer_id ?? s.listeners.find((l) => l.id === b.listener_id)?.loadbalancer_id;
      const o = { ...b, loadbalancer_id: lbId, id: uuid(), provisioning_status: 'ACTIVE' };
      s[plural].push(o);
      return json(201, { [singular]: o });
    });
  };
  child('listeners', 'listener');
  child('pools', 'pool');
  cloud.on('GET', new RegExp(`^${LB}/pools/[^/]+/members$`), (r) =>
    json(200, { members: s.members.filter((m) => m.pool_id === lastSeg(r, 2)) }),
  );
  cloud.on('POST', new RegExp(`^${LB}/pools/[^/]+/members$`), (r) => {
    const m = { ...bodyOf(r, 'member'), id: uuid(), pool_id: lastSeg(r, 2), provisioning_status: 'ACTIVE' };
    s.members.push(m);
    return json(201, { member: m });
  });
}

/** Serve the cluster's APIs on `cloud`, with one flavor `m1.small`, one image `node-image` and one volume type. */
export function serveClusterApis(cloud: FakeCloud): ClusterCloudState {
  const s: ClusterCloudState = {
    networks: [],
    subnets: [],
    ports: [],
    routers: [],
    security_groups: [],
    security_group_rules: [],
    floatingips: [],
    servers: [],
    serverGroups: [],
    flavors: [{ id: 'flavor-small', name: 'm1.small', ram: 2048, vcpus: 2, disk: 20 }],
    images: [{ id: 'image-1', name: 'node-image', status: 'active' }],
    volumeTypes: [{ id: 'type-1', name: 'standard', extra_specs: {} }],
    appCreds: [],
    loadbalancers: [],
    listeners: [],
    pools: [],
    members: [],
    computeHosts: 1,
  };
  const base = cloud.catalog.bind(cloud);
  cloud.catalog = () => [
    ...base(),
    {
      id: 'svc-octavia',
      type: 'load-balancer',
      name: 'octavia',
      endpoints: [
        {
          id: 'lb-pub',
          interface: 'public',
          region: 'RegionOne',
          region_id: 'RegionOne',
          url: `${cloud.base}/load-balancer`,
        },
      ],
    },
  ];
  serveNeutron(cloud, s);
  serveNova(cloud, s);
  serveOthers(cloud, s);
  serveOctavia(cloud, s);
  return s;
}
