/** Octavia of the fake cluster cloud: providers, load balancers (a VIP port each), listeners, pools, members. */
import { type FakeCloud, json } from './fake-cloud.js';
import {
  bodyOf,
  type ClusterCloudState,
  filtered,
  lastSeg,
  LB,
  newPort,
  nextNumber,
  unbind,
  uuid,
} from './fake-cluster-parts.js';

export function serveOctavia(cloud: FakeCloud, s: ClusterCloudState): void {
  cloud.on('GET', `${LB}/providers`, () => json(200, { providers: [{ name: 'ovn', description: 'OVN provider' }] }));
  cloud.on('GET', `${LB}/loadbalancers`, (r) => json(200, { loadbalancers: filtered(s.loadbalancers, r) }));
  cloud.on('GET', new RegExp(`^${LB}/loadbalancers/[^/]+$`), (r) => {
    const lb = s.loadbalancers.find((x) => x.id === lastSeg(r));
    return lb ? json(200, { loadbalancer: lb }) : json(404, { faultstring: 'not found' });
  });
  cloud.on('POST', `${LB}/loadbalancers`, (r) => {
    const b = bodyOf(r, 'loadbalancer');
    const subnet = s.subnets.find((x) => x.id === b.vip_subnet_id)!;
    const vip = newPort(s, {
      id: '',
      network_id: subnet.network_id,
      device_owner: 'Octavia',
      name: `ovn-lb-vip-${nextNumber()}`,
    });
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
