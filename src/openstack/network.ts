/**
 * Networking (Neutron v2.0): networks, subnets, ports, routers and their interfaces, security
 * groups and rules, floating IPs, agents; tags on any of them. Neutron filters lists by any attribute (`?name=x`) exactly, and
 * pages with `limit`/`marker` and `<resource>_links`.
 */
import { isConflict } from './errors.js';
import { exactlyOne, ignoreMissing, seg } from './resource.js';
import type { Query } from './pages.js';
import type { Session } from './session.js';

interface Network {
  id: string;
  name: string;
  status: string;
  admin_state_up: boolean;
  shared: boolean;
  'router:external'?: boolean;
  'provider:network_type'?: string;
  'provider:physical_network'?: string | null;
  'provider:segmentation_id'?: number | null;
  mtu?: number;
  port_security_enabled?: boolean;
  subnets: string[];
  project_id: string;
  description?: string;
  availability_zones?: string[];
  tags?: string[];
}
interface NetworkCreate {
  name: string;
  admin_state_up?: boolean;
  shared?: boolean;
  'router:external'?: boolean;
  'provider:network_type'?: 'flat' | 'vlan' | 'geneve' | 'vxlan' | 'local' | string;
  'provider:physical_network'?: string;
  'provider:segmentation_id'?: number;
  mtu?: number;
  port_security_enabled?: boolean;
  description?: string;
  project_id?: string;
}

interface AllocationPool {
  start: string;
  end: string;
}
interface Subnet {
  id: string;
  name: string;
  network_id: string;
  cidr: string;
  ip_version: 4 | 6;
  gateway_ip: string | null;
  enable_dhcp: boolean;
  dns_nameservers: string[];
  allocation_pools: AllocationPool[];
  host_routes: { destination: string; nexthop: string }[];
  ipv6_ra_mode?: string | null;
  ipv6_address_mode?: string | null;
  subnetpool_id?: string | null;
  project_id: string;
  description?: string;
  tags?: string[];
}
interface SubnetCreate {
  network_id: string;
  cidr: string;
  ip_version: 4 | 6;
  name?: string;
  /** null = no gateway; omitted = the first address. */
  gateway_ip?: string | null;
  enable_dhcp?: boolean;
  dns_nameservers?: string[];
  allocation_pools?: AllocationPool[];
  host_routes?: { destination: string; nexthop: string }[];
  ipv6_ra_mode?: 'slaac' | 'dhcpv6-stateful' | 'dhcpv6-stateless';
  ipv6_address_mode?: 'slaac' | 'dhcpv6-stateful' | 'dhcpv6-stateless';
  description?: string;
  project_id?: string;
}

interface FixedIp {
  subnet_id: string;
  ip_address: string;
}
interface Port {
  id: string;
  name: string;
  network_id: string;
  mac_address: string;
  fixed_ips: FixedIp[];
  device_id: string;
  device_owner: string;
  status: string;
  admin_state_up: boolean;
  security_groups: string[];
  port_security_enabled?: boolean;
  allowed_address_pairs?: { ip_address: string; mac_address?: string }[];
  'binding:host_id'?: string;
  'binding:vif_type'?: string;
  'binding:vnic_type'?: string;
  'binding:profile'?: Record<string, unknown>;
  project_id: string;
  description?: string;
  tags?: string[];
}
interface PortCreate {
  network_id: string;
  name?: string;
  fixed_ips?: ({ subnet_id: string; ip_address?: string } | { ip_address: string; subnet_id?: string })[];
  security_groups?: string[];
  port_security_enabled?: boolean;
  allowed_address_pairs?: { ip_address: string; mac_address?: string }[];
  device_id?: string;
  device_owner?: string;
  admin_state_up?: boolean;
  mac_address?: string;
  'binding:host_id'?: string;
  'binding:vnic_type'?: string;
  description?: string;
  project_id?: string;
}

interface ExternalGateway {
  network_id: string;
  enable_snat?: boolean;
  external_fixed_ips?: { subnet_id?: string; ip_address?: string }[];
}
interface Router {
  id: string;
  name: string;
  status: string;
  admin_state_up: boolean;
  external_gateway_info: ExternalGateway | null;
  routes?: { destination: string; nexthop: string }[];
  distributed?: boolean;
  ha?: boolean;
  project_id: string;
  description?: string;
  tags?: string[];
}
interface RouterCreate {
  name: string;
  admin_state_up?: boolean;
  external_gateway_info?: ExternalGateway | null;
  description?: string;
  project_id?: string;
}
interface RouterInterface {
  id: string;
  subnet_id: string;
  subnet_ids: string[];
  port_id: string;
  network_id: string;
  project_id?: string;
  tenant_id?: string;
}

interface SecurityGroupRule {
  id: string;
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype: 'IPv4' | 'IPv6';
  /** `tcp`, `udp`, `icmp`, a number, or null for any. */
  protocol: string | null;
  port_range_min: number | null;
  port_range_max: number | null;
  remote_ip_prefix: string | null;
  remote_group_id: string | null;
  description?: string;
  project_id?: string;
}
interface SecurityGroupRuleCreate {
  security_group_id: string;
  direction: 'ingress' | 'egress';
  ethertype?: 'IPv4' | 'IPv6';
  protocol?: string | null;
  port_range_min?: number | null;
  port_range_max?: number | null;
  remote_ip_prefix?: string | null;
  remote_group_id?: string | null;
  description?: string;
}
interface SecurityGroup {
  id: string;
  name: string;
  description: string;
  project_id: string;
  stateful?: boolean;
  security_group_rules: SecurityGroupRule[];
  tags?: string[];
}

interface FloatingIp {
  id: string;
  floating_ip_address: string;
  floating_network_id: string;
  port_id: string | null;
  fixed_ip_address: string | null;
  router_id: string | null;
  status: string;
  project_id: string;
  description?: string;
  tags?: string[];
}
interface FloatingIpCreate {
  floating_network_id: string;
  port_id?: string;
  fixed_ip_address?: string;
  description?: string;
  project_id?: string;
}

interface Agent {
  id: string;
  /** e.g. `OVN Controller Gateway agent`, `OVN Metadata agent`, `DHCP agent`. */
  agent_type: string;
  binary: string;
  host: string;
  alive: boolean;
  admin_state_up: boolean;
  availability_zone?: string | null;
  topic?: string;
  heartbeat_timestamp?: string;
  description?: string | null;
}

/** Neutron's page size when listing: it only pages when asked to. */
const PAGE = 500;

export class NetworkApi {
  readonly networks: Networks;
  readonly subnets: Subnets;
  readonly ports: Ports;
  readonly routers: Routers;
  readonly securityGroups: SecurityGroups;
  readonly securityGroupRules: SecurityGroupRules;
  readonly floatingIps: FloatingIps;
  readonly agents: Agents;
  constructor(s: Session) {
    this.networks = new Networks(s);
    this.subnets = new Subnets(s);
    this.ports = new Ports(s);
    this.routers = new Routers(s, this.ports);
    this.securityGroups = new SecurityGroups(s);
    this.securityGroupRules = new SecurityGroupRules(s);
    this.floatingIps = new FloatingIps(s);
    this.agents = new Agents(s);
  }
}

/** The parts every Neutron resource shares: `/<plural>` with `{ <singular>: … }` bodies. */
class Collection<T extends { id: string; name?: string }, C> {
  constructor(
    protected readonly s: Session,
    private readonly plural: string,
    private readonly singular: string,
    private readonly what: string,
  ) {}
  protected path(id?: string): string {
    return `/${this.plural}${id === undefined ? '' : `/${seg(id)}`}`;
  }
  list(query: Query = {}): Promise<T[]> {
    return this.s.list<T>('network', this.path(), this.plural.replace(/-/g, '_'), { query, pageSize: PAGE });
  }
  async get(id: string): Promise<T> {
    return (await this.s.get<Record<string, T>>('network', this.path(id)))[this.singular]!;
  }
  /** By exact name (neutron filters exactly); `query` narrows further, e.g. `{ project_id }`. */
  async find(name: string, query: Query = {}): Promise<T | undefined> {
    return exactlyOne(await this.list({ ...query, name }), name, this.what);
  }
  async create(body: C): Promise<T> {
    return (await this.s.post<Record<string, T>>('network', this.path(), { [this.singular]: body }))[this.singular]!;
  }
  async update(id: string, body: Partial<C>): Promise<T> {
    return (await this.s.put<Record<string, T>>('network', this.path(id), { [this.singular]: body }))[this.singular]!;
  }
  /** False when it did not exist. */
  delete(id: string): Promise<boolean> {
    return ignoreMissing(this.s.delete('network', this.path(id)));
  }
  /**
   * Replace the object's tags (Neutron's standard-attr tags; list with `{ tags: 'a,b' }`, which
   * matches objects having all of them). A PUT of the whole set, so repeating it is harmless.
   */
  async setTags(id: string, tags: string[]): Promise<string[]> {
    return (await this.s.put<{ tags: string[] }>('network', `${this.path(id)}/tags`, { tags })).tags;
  }
}

class Networks extends Collection<Network, NetworkCreate> {
  constructor(s: Session) {
    super(s, 'networks', 'network', 'network');
  }
}

class Subnets extends Collection<Subnet, SubnetCreate> {
  constructor(s: Session) {
    super(s, 'subnets', 'subnet', 'subnet');
  }
}

class Ports extends Collection<Port, PortCreate> {
  constructor(s: Session) {
    super(s, 'ports', 'port', 'port');
  }
}

class Routers extends Collection<Router, RouterCreate> {
  constructor(
    s: Session,
    private readonly ports: Ports,
  ) {
    super(s, 'routers', 'router', 'router');
  }
  /**
   * Plug a subnet (or a port) into the router. A PUT, but not idempotent (a second add of the
   * same subnet is a 400), so it is never retried: use `hasInterfaceOnSubnet` first.
   */
  async addInterface(routerId: string, what: { subnet_id: string } | { port_id: string }): Promise<RouterInterface> {
    return this.s.put<RouterInterface>('network', `${this.path(routerId)}/add_router_interface`, what, {
      idempotent: false,
    });
  }
  async removeInterface(routerId: string, what: { subnet_id: string } | { port_id: string }): Promise<RouterInterface> {
    return this.s.put<RouterInterface>('network', `${this.path(routerId)}/remove_router_interface`, what, {
      idempotent: false,
    });
  }
  /** Whether one of the router's ports has an address on the subnet. */
  async hasInterfaceOnSubnet(routerId: string, subnetId: string): Promise<boolean> {
    const ports = await this.ports.list({ device_id: routerId });
    return ports.some((p) => p.fixed_ips.some((ip) => ip.subnet_id === subnetId));
  }
  /** Set (or with null, clear) the external gateway. */
  async setGateway(routerId: string, gw: ExternalGateway | null): Promise<Router> {
    return this.update(routerId, { external_gateway_info: gw });
  }
}

class SecurityGroups extends Collection<
  SecurityGroup,
  { name: string; description?: string; stateful?: boolean; project_id?: string }
> {
  constructor(s: Session) {
    super(s, 'security-groups', 'security_group', 'security group');
  }
}

class SecurityGroupRules extends Collection<SecurityGroupRule, SecurityGroupRuleCreate> {
  constructor(s: Session) {
    super(s, 'security-group-rules', 'security_group_rule', 'security group rule');
  }
  /**
   * Create the rule, or return the identical one that exists: Neutron answers a duplicate with
   * 409 SecurityGroupRuleExists naming the existing rule's id.
   */
  async ensure(r: SecurityGroupRuleCreate): Promise<SecurityGroupRule> {
    try {
      return await this.create(r);
    } catch (e) {
      if (!isConflict(e)) throw e;
      const id = /Rule id is ([0-9a-f-]{36})/i.exec(e.serverMessage)?.[1];
      if (id) return this.get(id);
      throw e;
    }
  }
}

class FloatingIps extends Collection<FloatingIp, FloatingIpCreate> {
  constructor(s: Session) {
    super(s, 'floatingips', 'floatingip', 'floating IP');
  }
}

class Agents {
  constructor(private readonly s: Session) {}
  list(query: { agent_type?: string; host?: string; binary?: string; alive?: boolean } = {}): Promise<Agent[]> {
    return this.s.list<Agent>('network', '/agents', 'agents', { query });
  }
  async get(id: string): Promise<Agent> {
    return (await this.s.get<{ agent: Agent }>('network', `/agents/${seg(id)}`)).agent;
  }
}
