/**
 * Load balancers (Octavia v2): load balancers, listeners, pools and members. Paths are relative
 * to the catalog's URL (Octavia registers it without a version). Every change puts the load
 * balancer into PENDING_UPDATE until its provider reports back, and Octavia refuses the next
 * change meanwhile (409), so each create here waits for the load balancer to be ACTIVE again.
 */
import { exactlyOne, ignoreMissing, orUndefined, seg, waitUntil, type WaitOptions } from './resource.js';
import type { Session } from './session.js';

type ProvisioningStatus = 'ACTIVE' | 'PENDING_CREATE' | 'PENDING_UPDATE' | 'PENDING_DELETE' | 'DELETED' | 'ERROR';

interface LoadBalancer {
  id: string;
  name: string;
  project_id: string;
  provider: string;
  provisioning_status: ProvisioningStatus;
  operating_status: string;
  vip_address: string;
  vip_port_id: string;
  vip_subnet_id: string;
  vip_network_id: string;
  listeners: { id: string }[];
  pools: { id: string }[];
  tags?: string[];
}

interface Listener {
  id: string;
  name: string;
  protocol: string;
  protocol_port: number;
  default_pool_id: string | null;
  provisioning_status: ProvisioningStatus;
}

interface Pool {
  id: string;
  name: string;
  protocol: string;
  lb_algorithm: string;
  provisioning_status: ProvisioningStatus;
  members: { id: string }[];
}

interface Member {
  id: string;
  name: string;
  address: string;
  protocol_port: number;
  subnet_id?: string;
  provisioning_status: ProvisioningStatus;
}

const BASE = '/v2/lbaas';

export class LoadBalancerApi {
  readonly loadBalancers: LoadBalancers;
  readonly listeners: Children<Listener, ListenerCreate>;
  readonly pools: Children<Pool, PoolCreate>;
  constructor(private readonly s: Session) {
    this.loadBalancers = new LoadBalancers(s);
    this.listeners = new Children(s, this.loadBalancers, 'listeners', 'listener');
    this.pools = new Children(s, this.loadBalancers, 'pools', 'pool');
  }

  /** The members of a pool. */
  members(poolId: string): Members {
    return new Members(this.s, this.loadBalancers, poolId);
  }

  /** The providers this Octavia enables (name and description). */
  providers(): Promise<{ name: string; description: string }[]> {
    return this.s.list('load-balancer', `${BASE}/providers`, 'providers');
  }
}

interface LoadBalancerCreate {
  name?: string;
  description?: string;
  vip_subnet_id?: string;
  vip_network_id?: string;
  vip_address?: string;
  provider?: string;
  project_id?: string;
  tags?: string[];
}

class LoadBalancers {
  constructor(private readonly s: Session) {}
  /** `tags`: comma-separated, all must match. */
  list(
    query: { name?: string; project_id?: string; provider?: string; vip_subnet_id?: string; tags?: string } = {},
  ): Promise<LoadBalancer[]> {
    return this.s.list<LoadBalancer>('load-balancer', `${BASE}/loadbalancers`, 'loadbalancers', { query });
  }
  async get(id: string): Promise<LoadBalancer> {
    return (await this.s.get<{ loadbalancer: LoadBalancer }>('load-balancer', `${BASE}/loadbalancers/${seg(id)}`))
      .loadbalancer;
  }
  tryGet(id: string): Promise<LoadBalancer | undefined> {
    return orUndefined(this.get(id));
  }
  async find(name: string): Promise<LoadBalancer | undefined> {
    return exactlyOne(await this.list({ name }), name, 'load balancer');
  }
  /** Starts creating (201, PENDING_CREATE): wait with `waitForActive`. Never retried. */
  async create(lb: LoadBalancerCreate): Promise<LoadBalancer> {
    return (
      await this.s.post<{ loadbalancer: LoadBalancer }>('load-balancer', `${BASE}/loadbalancers`, { loadbalancer: lb })
    ).loadbalancer;
  }
  /** `cascade` deletes its listeners, pools and members too. Wait with `waitForDeleted`. */
  delete(id: string, opts: { cascade?: boolean } = {}): Promise<boolean> {
    return ignoreMissing(
      this.s.delete('load-balancer', `${BASE}/loadbalancers/${seg(id)}`, {
        ...(opts.cascade ? { query: { cascade: true } } : {}),
      }),
    );
  }
  /** Until ACTIVE; ERROR fails at once. */
  waitForActive(id: string, opts?: WaitOptions): Promise<LoadBalancer> {
    return waitUntil({
      what: `load balancer ${id}`,
      target: 'ACTIVE',
      poll: () => this.get(id),
      status: (lb) => lb.provisioning_status,
      done: (lb) => lb.provisioning_status === 'ACTIVE',
      failed: (lb) =>
        lb.provisioning_status === 'ERROR' ? `went to ERROR (provider ${lb.provider}; see its logs)` : undefined,
      ...(opts ? { opts } : {}),
    });
  }
  async waitForDeleted(id: string, opts?: WaitOptions): Promise<void> {
    await waitUntil({
      what: `load balancer ${id}`,
      target: 'its deletion',
      poll: () => this.tryGet(id),
      status: (lb) => lb?.provisioning_status ?? 'deleted',
      done: (lb) => lb === undefined || lb.provisioning_status === 'DELETED',
      failed: (lb) => (lb?.provisioning_status === 'ERROR' ? 'went to ERROR while being deleted' : undefined),
      ...(opts ? { opts } : {}),
    });
  }
}

interface ListenerCreate {
  loadbalancer_id: string;
  protocol: 'TCP' | 'UDP' | 'SCTP' | 'HTTP' | 'HTTPS' | 'TERMINATED_HTTPS';
  protocol_port: number;
  name?: string;
  default_pool_id?: string;
}

interface PoolCreate {
  protocol: 'TCP' | 'UDP' | 'SCTP' | 'HTTP' | 'HTTPS' | 'PROXY';
  lb_algorithm: 'ROUND_ROBIN' | 'LEAST_CONNECTIONS' | 'SOURCE_IP' | 'SOURCE_IP_PORT';
  /** The pool belongs to a listener (its default pool) or straight to a load balancer. */
  listener_id?: string;
  loadbalancer_id?: string;
  name?: string;
}

/** Listeners and pools: created under a load balancer, which is ACTIVE again when create returns. */
class Children<T extends { id: string }, C extends { loadbalancer_id?: string; listener_id?: string }> {
  constructor(
    private readonly s: Session,
    private readonly lbs: LoadBalancers,
    private readonly plural: 'listeners' | 'pools',
    private readonly singular: 'listener' | 'pool',
  ) {}
  list(query: { loadbalancer_id?: string } = {}): Promise<T[]> {
    return this.s.list<T>('load-balancer', `${BASE}/${this.plural}`, this.plural, { query });
  }
  async get(id: string): Promise<T> {
    const r = await this.s.get<Record<string, T>>('load-balancer', `${BASE}/${this.plural}/${seg(id)}`);
    return r[this.singular]!;
  }
  /** Creates it and waits until its load balancer (`lbId`) is ACTIVE again. Never retried. */
  async create(lbId: string, body: C, opts?: WaitOptions): Promise<T> {
    const r = await this.s.post<Record<string, T>>('load-balancer', `${BASE}/${this.plural}`, {
      [this.singular]: body,
    });
    await this.lbs.waitForActive(lbId, opts);
    return r[this.singular]!;
  }
}

interface MemberCreate {
  address: string;
  protocol_port: number;
  subnet_id?: string;
  name?: string;
}

class Members {
  constructor(
    private readonly s: Session,
    private readonly lbs: LoadBalancers,
    private readonly poolId: string,
  ) {}
  list(): Promise<Member[]> {
    return this.s.list<Member>('load-balancer', `${BASE}/pools/${seg(this.poolId)}/members`, 'members');
  }
  /** Adds it and waits until the load balancer (`lbId`) is ACTIVE again. Never retried. */
  async create(lbId: string, m: MemberCreate, opts?: WaitOptions): Promise<Member> {
    const r = await this.s.post<{ member: Member }>('load-balancer', `${BASE}/pools/${seg(this.poolId)}/members`, {
      member: m,
    });
    await this.lbs.waitForActive(lbId, opts);
    return r.member;
  }
}
