/**
 * What happens after the services answer, through osk's own OpenStack client, for any target:
 * service users and their roles, the catalog (service + public/internal/admin endpoints in the
 * region), volume types, and a usable starting point (a demo project and user, flavors, a test
 * image, a network with a subnet). Every function is idempotent: it finds before it creates and
 * brings what it finds in line (a password, an endpoint URL), so reruns converge.
 */
import type { SecretDef } from '../config/secrets.js';
import { OskError } from '../errors.js';
import { OpenStackApiError, type OpenStackClient } from '../openstack/index.js';
import type { Interface } from '../openstack/catalog.js';

const DEFAULT_DOMAIN = 'default';

/** Credentials the bootstrap owns (the demo user's password). */
export const BOOTSTRAP_SECRETS: SecretDef[] = [
  {
    name: 'keystone-demo-password',
    kind: 'password',
    k8sSecret: 'keystone-demo',
    key: 'password',
    description: 'Password of the demo user (project demo)',
  },
];

/**
 * Service users are registered in parallel and all need project "service" and role "service":
 * concurrent ensures of the same object share one find-or-create, so two of them never race
 * to create it (Keystone would answer the second with 409).
 */
const inFlight = new WeakMap<OpenStackClient, Map<string, Promise<{ id: string }>>>();
function once<T extends { id: string }>(os: OpenStackClient, key: string, make: () => Promise<T>): Promise<T> {
  let m = inFlight.get(os);
  if (!m) {
    m = new Map();
    inFlight.set(os, m);
  }
  let p = m.get(key) as Promise<T> | undefined;
  if (!p) {
    p = make();
    m.set(key, p);
    // A failure is not remembered: the next caller tries again.
    p.catch(() => m.delete(key));
  }
  return p;
}

function ensureProject(os: OpenStackClient, name: string, description: string) {
  return once(
    os,
    `project:${name}`,
    async () =>
      (await os.identity.projects.find(name, { domainId: DEFAULT_DOMAIN })) ??
      (await os.identity.projects.create({ name, domain_id: DEFAULT_DOMAIN, description })),
  );
}

function ensureRole(os: OpenStackClient, name: string) {
  return once(
    os,
    `role:${name}`,
    async () => (await os.identity.roles.find(name)) ?? (await os.identity.roles.create({ name })),
  );
}

/** A user in the default domain whose password matches the store, with roles on a project. */
async function ensureUser(
  os: OpenStackClient,
  o: { name: string; password: string; project: string; roles: string[]; description: string; service?: boolean },
): Promise<string> {
  const project = await ensureProject(
    os,
    o.project,
    o.project === 'service' ? 'Service users of the cloud' : `Project ${o.project}`,
  );
  let user = await os.identity.users.find(o.name, { domainId: DEFAULT_DOMAIN });
  let action = 'exists';
  const options = o.service ? { ignore_password_expiry: true, ignore_lockout_failure_attempts: true } : undefined;
  if (!user) {
    user = await os.identity.users.create({
      name: o.name,
      domain_id: DEFAULT_DOMAIN,
      password: o.password,
      default_project_id: project.id,
      description: o.description,
      ...(options ? { options } : {}),
    });
    action = 'created';
  } else if (!(await passwordWorks(os, o.name, o.password))) {
    // The store is the source of truth: a changed or restored password is put back.
    await os.identity.users.update(user.id, { password: o.password });
    action = 'password reset to the store';
  }
  for (const r of o.roles) {
    const role = await ensureRole(os, r);
    await os.identity.roles.grant({ roleId: role.id, userId: user.id, projectId: project.id });
  }
  return `user ${o.name} ${action}, roles ${o.roles.join('+')} on project ${o.project}`;
}

/** Only a 401 means "wrong password"; Keystone being unreachable is an error, not a reason to reset. */
async function passwordWorks(os: OpenStackClient, username: string, password: string): Promise<boolean> {
  try {
    await os.session.issueToken({
      type: 'password',
      authUrl: os.session.options.auth.authUrl,
      username,
      userDomainId: DEFAULT_DOMAIN,
      password,
    });
    return true;
  } catch (e) {
    if (e instanceof OpenStackApiError && e.status === 401) return false;
    throw e;
  }
}

export async function ensureServiceUser(os: OpenStackClient, user: string, password: string): Promise<string> {
  // admin on "service" is what the services' own policies expect of a service user; "service"
  // marks it as one (service tokens, keystonemiddleware's service_token_roles).
  return ensureUser(os, {
    name: user,
    password,
    project: 'service',
    roles: ['admin', 'service'],
    description: `Service user of ${user}`,
    service: true,
  });
}

/** The service entry and its three endpoints in the region; a changed URL is updated in place. */
export async function ensureEndpoint(
  os: OpenStackClient,
  e: { type: string; name: string; internalUrl: string; publicUrl: string; region: string; roles?: string[] },
): Promise<string> {
  await once(
    os,
    `region:${e.region}`,
    async () => (await os.identity.regions.get(e.region)) ?? (await os.identity.regions.create({ id: e.region })),
  );
  const service =
    (await os.identity.services.find(e.type, e.name)) ??
    (await os.identity.services.create({ type: e.type, name: e.name, description: `${e.name} (${e.type})` }));
  const urls: Record<Interface, string> = { public: e.publicUrl, internal: e.internalUrl, admin: e.internalUrl };
  const changes: string[] = [];
  for (const iface of ['public', 'internal', 'admin'] as const) {
    const found = await os.identity.endpoints.find({ serviceId: service.id, interface: iface, regionId: e.region });
    if (!found) {
      await os.identity.endpoints.create({
        service_id: service.id,
        interface: iface,
        url: urls[iface],
        region_id: e.region,
      });
      changes.push(`${iface} created`);
    } else if (found.url !== urls[iface]) {
      await os.identity.endpoints.update(found.id, { url: urls[iface] });
      changes.push(`${iface} updated`);
    }
  }
  for (const r of e.roles ?? []) {
    if (await os.identity.roles.find(r)) continue;
    await ensureRole(os, r);
    changes.push(`role ${r} created`);
  }
  return `${e.type} ${e.name} in ${e.region}: ${changes.length ? changes.join(', ') : 'unchanged'}`;
}

export async function ensureVolumeTypes(
  os: OpenStackClient,
  types: { name: string; backend: string; qos?: Record<string, number> }[],
): Promise<string> {
  const out: string[] = [];
  for (const t of types) {
    let vt = await os.blockStorage.types.find(t.name);
    if (!vt) vt = await os.blockStorage.types.create({ name: t.name, extra_specs: { volume_backend_name: t.backend } });
    else if (vt.extra_specs?.volume_backend_name !== t.backend) {
      try {
        await os.blockStorage.types.setExtraSpecs(vt.id, { volume_backend_name: t.backend });
      } catch (e) {
        if (e instanceof OpenStackApiError && e.status === 400) {
          throw new OskError(
            `volume type ${t.name} points at backend "${vt.extra_specs?.volume_backend_name}" but the cloud file now says "${t.backend}", and Cinder refuses the change while volumes of that type exist (${e.message})`,
            {
              hint: `move or delete the volumes of type ${t.name}, or give the new backend its own volume type in storage.cinderBackends`,
            },
          );
        }
        throw e;
      }
    }
    if (t.qos && Object.keys(t.qos).length) {
      const name = `${t.name}-qos`;
      const specs = Object.fromEntries(Object.entries(t.qos).map(([k, v]) => [k, String(v)]));
      const found = await os.blockStorage.qos.find(name);
      const q = found ?? (await os.blockStorage.qos.create({ name, consumer: 'front-end', specs }));
      // A limit changed in the cloud file is set on the existing spec.
      if (found && Object.entries(specs).some(([k, v]) => found.specs?.[k] !== v))
        await os.blockStorage.qos.setKeys(q.id, specs);
      if (vt.qos_specs_id !== q.id) await os.blockStorage.qos.associate(q.id, vt.id);
    }
    out.push(t.name);
  }
  return `volume types ${out.join(', ')}`;
}

interface StarterKit {
  region: string;
  demoPassword: string;
  /** Tenant network CIDR. */
  cidr: string;
  /** Roles of the demo user on project demo besides member (load-balancer_member with Octavia). */
  demoRoles?: string[];
  /**
   * A bootable image to upload besides the test image, when the cloud boots real guests (the
   * guest image osk builds, images/guest/): its name, disk format, properties and data.
   */
  bootable?: {
    name: string;
    diskFormat: 'qcow2' | 'raw';
    properties?: Record<string, string>;
    data: () => Buffer | AsyncIterable<Uint8Array>;
  };
  /**
   * An external network to make (admin's, flat on a physnet, no DHCP) with a router of project
   * demo between it and the demo network, when the cloud has a data plane that carries it.
   */
  external?: ExternalNetwork;
}

interface ExternalNetwork {
  name: string;
  physnet: string;
  cidr: string;
  gateway: string;
  pool: { start: string; end: string };
}

const STARTER_FLAVORS = [
  { name: 'm1.tiny', vcpus: 1, ram: 512, disk: 1 },
  { name: 'm1.small', vcpus: 1, ram: 2048, disk: 20 },
  { name: 'm1.medium', vcpus: 2, ram: 4096, disk: 40 },
] as const;

const TEST_IMAGE = 'osk-test-raw';
const DEMO_NETWORK = 'demo-net';

/**
 * Wait until the Cinder scheduler knows every backend (its pools list them): until then every
 * volume create ends in "No valid backend". cinder-volume reports as up in cinder.services
 * before its capabilities reach the scheduler, so "the services run" is not yet "volumes work".
 */
export async function waitForVolumeBackends(
  os: OpenStackClient,
  backends: readonly string[],
  o: { timeoutMs: number; onWait?: (missing: string[]) => void; logHint: string },
): Promise<string[]> {
  const t0 = Date.now();
  for (;;) {
    const pools = await os.blockStorage.services.pools();
    const known = new Set(pools.map((p) => p.capabilities?.volume_backend_name).filter((n): n is string => Boolean(n)));
    const missing = backends.filter((b) => !known.has(b));
    if (!missing.length) return pools.map((p) => p.name);
    if (Date.now() - t0 > o.timeoutMs) {
      throw new OskError(
        `the Cinder scheduler does not know volume backend ${missing.join(', ')} after ${Math.round(o.timeoutMs / 1000)} s, so no volume can be created (pools it knows: ${pools.map((p) => p.name).join(', ') || 'none'})`,
        {
          hint: `cinder-volume sends its capabilities to the scheduler over RabbitMQ; see ${o.logHint}`,
        },
      );
    }
    o.onWait?.(missing);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** A public image by name, uploaded when missing; an upload cut short earlier is started over. */
async function ensureImage(
  os: OpenStackClient,
  i: NonNullable<StarterKit['bootable']>,
  tags: string[],
): Promise<string[]> {
  let image = await os.image.images.find(i.name);
  if (image && image.status !== 'active') {
    await os.image.images.delete(image.id);
    image = undefined;
  }
  if (image) return [];
  const created = await os.image.images.create({
    name: i.name,
    disk_format: i.diskFormat,
    container_format: 'bare',
    visibility: 'public',
    tags,
    ...(i.properties ? { properties: i.properties } : {}),
  });
  await os.image.images.upload(created.id, i.data());
  await os.image.images.waitForStatus(created.id, 'active', { timeoutMs: 120_000 });
  return [`image ${i.name}`];
}

/** The demo project and user, flavors, a 1 MiB raw test image (and a bootable one when given) and a tenant network. */
export async function ensureStarterKit(os: OpenStackClient, kit: StarterKit): Promise<string[]> {
  const done: string[] = [];
  done.push(
    await ensureUser(os, {
      name: 'demo',
      password: kit.demoPassword,
      project: 'demo',
      roles: ['member', ...(kit.demoRoles ?? [])],
      description: 'Demo user',
    }),
  );
  const demo = (await os.identity.projects.find('demo', { domainId: DEFAULT_DOMAIN }))!;
  for (const f of STARTER_FLAVORS) {
    if (!(await os.compute.flavors.find(f.name))) {
      await os.compute.flavors.create({ ...f });
      done.push(`flavor ${f.name}`);
    }
  }
  done.push(
    ...(await ensureImage(os, { name: TEST_IMAGE, diskFormat: 'raw', data: () => Buffer.alloc(1 << 20) }, [
      'osk-test',
    ])),
  );
  if (kit.bootable) done.push(...(await ensureImage(os, kit.bootable, ['osk-guest'])));
  let net = await os.network.networks.find(DEMO_NETWORK, { project_id: demo.id });
  if (!net) {
    net = await os.network.networks.create({
      name: DEMO_NETWORK,
      project_id: demo.id,
      description: 'Tenant network of project demo',
    });
    done.push(`network ${DEMO_NETWORK}`);
  }
  const subnetName = `${DEMO_NETWORK}-subnet`;
  if (!(await os.network.subnets.find(subnetName, { network_id: net.id }))) {
    await os.network.subnets.create({
      network_id: net.id,
      name: subnetName,
      cidr: kit.cidr,
      ip_version: 4,
      project_id: demo.id,
    });
    done.push(`subnet ${subnetName} ${kit.cidr}`);
  }
  if (kit.external) done.push(...(await ensureExternalNetwork(os, kit.external, demo.id, net.id)));
  return done;
}

/**
 * The external network and the demo router: its gateway on the external network, an interface
 * on the demo subnet, so the demo user's servers reach out (SNAT) and get floating IPs.
 */
async function ensureExternalNetwork(
  os: OpenStackClient,
  x: ExternalNetwork,
  demoProject: string,
  demoNet: string,
): Promise<string[]> {
  const done: string[] = [];
  let ext = await os.network.networks.find(x.name);
  if (!ext) {
    ext = await os.network.networks.create({
      name: x.name,
      'router:external': true,
      'provider:network_type': 'flat',
      'provider:physical_network': x.physnet,
      description: 'External network: floating IPs and router gateways',
    });
    done.push(`network ${x.name}`);
  }
  const subnetName = `${x.name}-subnet`;
  if (!(await os.network.subnets.find(subnetName, { network_id: ext.id }))) {
    await os.network.subnets.create({
      network_id: ext.id,
      name: subnetName,
      cidr: x.cidr,
      ip_version: 4,
      gateway_ip: x.gateway,
      enable_dhcp: false,
      allocation_pools: [x.pool],
    });
    done.push(`subnet ${subnetName} ${x.cidr}`);
  }
  const routerName = 'demo-router';
  let router = await os.network.routers.find(routerName, { project_id: demoProject });
  if (!router) {
    router = await os.network.routers.create({
      name: routerName,
      project_id: demoProject,
      external_gateway_info: { network_id: ext.id },
    });
    done.push(`router ${routerName}`);
  }
  const demoSubnet = (await os.network.subnets.find(`${DEMO_NETWORK}-subnet`, { network_id: demoNet }))!;
  if (!(await os.network.routers.hasInterfaceOnSubnet(router.id, demoSubnet.id))) {
    await os.network.routers.addInterface(router.id, { subnet_id: demoSubnet.id });
    done.push(`router ${routerName} on ${DEMO_NETWORK}-subnet`);
  }
  return done;
}
