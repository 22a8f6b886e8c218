/**
 * What `osk cluster create` checks in the cloud before it makes anything: the flavors, image,
 * keypair, external network and volume types the file names exist; so do the networks, subnets
 * and security groups of the secondary networks, whose MTU fits (secondary.ts); the load-balancer service
 * and provider are there; and a hard anti-affinity policy has a compute host for every node.
 * Every problem at once, exit 2, each naming the field of the cluster file.
 */
import { ExitCode, OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import type { ClusterFile } from '../../spec/schema-cluster.js';
import { resolveSecondary, type SecondaryResolved } from './secondary.js';

export interface Resolved {
  flavors: Map<string, string>;
  imageId: string;
  externalNetworkId: string | undefined;
  /** The secondary networks' networks, subnets and existing security groups. */
  secondary: SecondaryResolved;
  /** Set when the compute hosts could not be counted (not admin): said, not hidden. */
  notes: string[];
}

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** By id when the value looks like one, else by exact name. */
async function byIdOrName<T>(
  value: string,
  get: (id: string) => Promise<T | undefined>,
  find: (name: string) => Promise<T | undefined>,
): Promise<T | undefined> {
  return (UUID.test(value) ? await get(value) : undefined) ?? find(value);
}

const orNone = <T>(p: Promise<T>) => p.catch(() => undefined);

export async function preflight(os: OpenStackClient, file: ClusterFile): Promise<Resolved> {
  const s = file.spec;
  const problems: string[] = [];
  const notes: string[] = [];
  const flavors = new Map<string, string>();
  for (const [field, name] of [
    ['spec.controlPlane.flavor', s.controlPlane.flavor],
    ['spec.workers.flavor', s.workers.flavor],
  ] as const) {
    if (flavors.has(name) || (field === 'spec.workers.flavor' && s.workers.count === 0)) continue;
    const f = await byIdOrName(
      name,
      (id) => orNone(os.compute.flavors.get(id)),
      (n) => os.compute.flavors.find(n),
    );
    if (f) flavors.set(name, f.id);
    else problems.push(`${field}: there is no flavor "${name}" (openstack flavor list)`);
  }
  const image = await byIdOrName(
    s.image,
    (id) => os.image.images.tryGet(id),
    (n) => os.image.images.find(n),
  );
  if (!image) problems.push(`spec.image: there is no image "${s.image}" (openstack image list)`);
  if (s.keyPair && !(await os.compute.keypairs.get(s.keyPair)))
    problems.push(`spec.keyPair: there is no keypair "${s.keyPair}" of this user (openstack keypair list)`);
  let externalNetworkId: string | undefined;
  if (s.network.externalNetwork) {
    const net = await byIdOrName(
      s.network.externalNetwork,
      (id) => orNone(os.network.networks.get(id)),
      (n) => os.network.networks.find(n),
    );
    if (!net) problems.push(`spec.network.externalNetwork: there is no network "${s.network.externalNetwork}"`);
    else if (!net['router:external'])
      problems.push(
        `spec.network.externalNetwork: ${s.network.externalNetwork} is not an external network (router:external is false), so it cannot be a router's gateway`,
      );
    externalNetworkId = net?.id;
  }
  if (s.storageClasses.length) {
    const types = new Set((await os.blockStorage.types.list()).map((t) => t.name));
    s.storageClasses.forEach((c, i) => {
      if (c.volumeType !== '__DEFAULT__' && !types.has(c.volumeType))
        problems.push(
          `spec.storageClasses.${i}.volumeType: Cinder has no volume type "${c.volumeType}" (it has: ${[...types].join(', ') || 'none'})`,
        );
    });
  }
  const secondary = await resolveSecondary(os, file, problems, notes);
  if (s.apiLoadBalancer.enabled) problems.push(...(await loadBalancerProblems(os, s.apiLoadBalancer.provider)));
  problems.push(...(await antiAffinityProblems(os, file, notes)));
  if (problems.length)
    throw new OskError(`cluster ${file.metadata.name} cannot be created in this cloud:\n  ${problems.join('\n  ')}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'nothing was created; fix the cluster file (or the cloud) and run osk cluster create again',
    });
  return { flavors, imageId: image!.id, externalNetworkId, secondary, notes };
}

async function loadBalancerProblems(os: OpenStackClient, provider: string): Promise<string[]> {
  let providers: string[];
  try {
    providers = (await os.loadBalancer.providers()).map((p) => p.name);
  } catch (e) {
    return [
      `spec.apiLoadBalancer: this cloud's load-balancer service (Octavia) does not answer: ${(e as Error).message.split('\n')[0]}`,
    ];
  }
  return providers.includes(provider)
    ? []
    : [`spec.apiLoadBalancer.provider: Octavia has no provider "${provider}" (it has: ${providers.join(', ')})`];
}

/** Hard anti-affinity puts every node of the server group on its own host: there must be as many hosts. */
async function antiAffinityProblems(os: OpenStackClient, file: ClusterFile, notes: string[]): Promise<string[]> {
  const s = file.spec;
  if (s.serverGroupPolicy !== 'anti-affinity') return [];
  const nodes = s.controlPlane.count + s.workers.count;
  let hosts: number;
  try {
    const services = await os.compute.services.list({ binary: 'nova-compute' });
    hosts = services.filter((c) => c.status === 'enabled' && c.state === 'up').length;
  } catch {
    notes.push(
      'could not count the compute hosts (listing compute services needs the admin role): hard anti-affinity not checked',
    );
    return [];
  }
  return nodes > hosts
    ? [
        `spec.serverGroupPolicy: anti-affinity needs one compute host per node: ${nodes} nodes (${s.controlPlane.count} control plane + ${s.workers.count} workers), ${hosts} compute host${hosts === 1 ? '' : 's'} up and enabled; Nova would fail the extra servers with "No valid host was found" (use soft-anti-affinity to spread them where it can)`,
      ]
    : [];
}
