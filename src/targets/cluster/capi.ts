/**
 * `osk cluster render`'s part in the cloud: what CAPO needs but cannot make, made by osk first
 * (as magnum-cluster-api does): the nodes' server group (CAPO only references one by id), the
 * application credential CAPO and the in-cluster cloud controller authenticate with, and the
 * security groups of spec.securityGroups the secondary ports name. Both are the
 * objects `osk cluster create` makes, with the same names, so a second render (or a create)
 * reuses them and `osk cluster delete` removes them. The same preflight as create checks the
 * cloud first and resolves the image, flavors and external network to ids.
 */
import { ExitCode, OskError } from '../../errors.js';
import type { OpenStackClient } from '../../openstack/index.js';
import { type CapiInputs, capiProblems } from '../../plan/cluster-capi.js';
import type { Reporter } from '../../reporter.js';
import type { ClusterFile } from '../../spec/schema-cluster.js';
import type { SecretStore } from '../../state/secret-store.js';
import { ensureApplicationCredential, ensureServerGroup } from './create.js';
import { Tally } from './ensure.js';
import { preflight } from './preflight.js';
import { ensureOwnGroups } from './secondary.js';
import { SECRET } from './secrets.js';

interface CapiPrepared {
  inputs: CapiInputs;
  /** What was made in the cloud (empty on a second render). */
  made: string[];
  notes: string[];
}

export async function prepareClusterApi(
  os: OpenStackClient,
  file: ClusterFile,
  store: SecretStore,
  opts: { reporter: Reporter; showSecrets: boolean },
): Promise<CapiPrepared> {
  const problems = capiProblems(file);
  if (problems.length)
    throw new OskError(problems.map((p) => `${p.path}: ${p.message}`).join('\n'), {
      exitCode: ExitCode.invalidInput,
      hint: problems.map((p) => p.hint).join('; '),
    });
  const cloud = os.cloud;
  if (!cloud) throw new OskError('render needs a cloud of clouds.yaml: its auth URL goes into the identity Secret');
  const resolved = await preflight(os, file);
  const tally = new Tally(opts.reporter);
  await ensureApplicationCredential(os, file, store, tally);
  const group = await ensureServerGroup(os, file, tally);
  const own = await ensureOwnGroups(os, file, tally);
  const sec = resolved.secondary;
  return {
    inputs: {
      imageId: resolved.imageId,
      flavorIds: resolved.flavors,
      externalNetworkId: resolved.externalNetworkId,
      serverGroupId: group.id,
      secondary: {
        networks: new Map([...sec.networks].map(([ref, n]) => [ref, n.id])),
        subnets: sec.subnets,
        groups: new Map([...sec.groups, ...own]),
      },
      identity: {
        authUrl: cloud.auth.authUrl,
        region: cloud.region,
        interface: cloud.interface,
        applicationCredentialId: store.get(SECRET.appCredentialId),
        applicationCredentialSecret: opts.showSecrets ? store.get(SECRET.appCredentialSecret) : undefined,
        cacert: cloud.tls.ca === undefined ? undefined : String(cloud.tls.ca),
      },
    },
    made: tally.log,
    notes: resolved.notes,
  };
}
