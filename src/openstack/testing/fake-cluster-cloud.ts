/**
 * The services `osk cluster` calls, kept in memory on a FakeCloud: Keystone application
 * credentials, Nova (flavors, servers that go ACTIVE at once like the fake driver's, server
 * groups, compute services), Glance images, Cinder volume types, Neutron (networks, subnets,
 * ports, routers and their interfaces, security groups and rules (made and deleted), floating IPs, tags) and
 * Octavia (providers, load balancers, listeners, pools, members). Ports carry
 * binding:vnic_type and port_security_enabled (from their network when not given); provider
 * networks an admin made are put into the state by a test. Neutron refuses what the real one
 * refuses: security groups on a port without port security or without an address, a group that
 * does not exist, and, when the order is wrong (a network with ports, a router with interfaces, a
 * security group in use, a subnet a router is plugged into), so a test of `delete` sees a
 * wrong order fail as it would in a cloud.
 */
import { type FakeCloud, json, USER_ID } from './fake-cloud.js';
import {
  bodyOf,
  type ClusterCloudState,
  conflict,
  filtered,
  groupsRefused,
  lastSeg,
  NET,
  newPort,
  nextNumber,
  notFound,
  type Obj,
  unbind,
  uuid,
} from './fake-cluster-parts.js';
import { serveOctavia } from './fake-cluster-octavia.js';

export type { ClusterCloudState } from './fake-cluster-parts.js';
/** Creating ports (refused as Neutron refuses them) and security-group rules. */
function servePortsAndRules(cloud: FakeCloud, s: ClusterCloudState): void {
  cloud.on('POST', `${NET}/ports`, (r) => {
    const port = newPort(s, bodyOf(r, 'port'));
    const why = groupsRefused(s, port);
    if (!why) return json(201, { port });
    s.ports = s.ports.filter((p) => p.id !== port.id);
    return json(why.endsWith('does not exist') ? 404 : 400, { NeutronError: { type: 'BadRequest', message: why } });
  });
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
      const changed = { ...o, ...bodyOf(r, singular) };
      const why = plural === 'ports' ? groupsRefused(s, changed) : undefined;
      if (why) return json(400, { NeutronError: { type: 'BadRequest', message: why } });
      Object.assign(o, changed);
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
  collection('floatingips', 'floatingip', () => ({
    floating_ip_address: `203.0.113.${nextNumber() % 250}`,
    port_id: null,
  }));
  servePortsAndRules(cloud, s);
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
  cloud.on('DELETE', new RegExp(`^${NET}/security-group-rules/[^/]+$`), (r) => {
    const id = lastSeg(r);
    if (!s.security_group_rules.some((x) => x.id === id)) return notFound();
    s.security_group_rules = s.security_group_rules.filter((x) => x.id !== id);
    for (const g of s.security_groups)
      g.security_group_rules = (g.security_group_rules as Obj[]).filter((x) => x.id !== id);
    return { status: 204 };
  });
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
      // Nova's build fails when no host can bind the port: the server goes to ERROR with this fault.
      if (p['binding:vnic_type'] === 'direct' && !s.sriov)
        Object.assign(v, {
          status: 'ERROR',
          fault: {
            code: 500,
            message: `Binding failed for port ${p.id}, please check neutron logs for more information.`,
          },
        });
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
    sriov: false,
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
