/**
 * The all-in-one commands end to end: which cloud a command means, `up` (host checks →
 * packages → model → converge → bootstrap → access files), and the model of a cloud that is
 * already up (for status, logs and down), rebuilt from the cloud file `up` keeps in its state.
 */
import { existsSync } from 'node:fs';
import { mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  ensureStarterKit,
  ensureEndpoint,
  ensureServiceUser,
  ensureVolumeTypes,
  waitForVolumeBackends,
  BOOTSTRAP_SECRETS,
} from '../../bootstrap/bootstrap.js';
import { placeholderSecrets } from '../../catalog/context.js';
import { HOST_EXTERNAL } from '../../catalog/ovs-host.js';
import { SecretStore } from '../../state/secret-store.js';
import type { Reporter } from '../../reporter.js';
import { ExitCode, OskError } from '../../errors.js';
import type { CloudModel } from '../../plan/model.js';
import type { CloudFile } from '../../spec/schema.js';
import { adminClient, writeAccessFiles, type Credentials } from './access.js';
import { ensureGuestImage, type GuestImage } from '../../images/guest/build.js';
import { checkDistro, readHostFacts, readHypervisorFact } from './host-facts.js';
import { chooseHypervisor, guestImageForKit, savedHypervisor, saveHypervisorChoice } from './hypervisor-choice.js';
import { ensurePackages, requiredPackages } from './packages.js';
import { readSavedCloudFile, writeSavedCloudFile } from '../../state/cloud-file.js';
import { savedCloudFile, stateRoot, statePaths, type StatePaths } from '../../state/paths.js';
import { keyRotationConfig, withKeyLock, writeKeyRotationConfig } from './key-rotation.js';
import { converge, describeFailure, localModel } from './up.js';

/** The cloud `osk up` runs when no file is given. */
export const DEFAULT_CLOUD_YAML = `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: default
spec:
  profile: minimal
  services:
    horizon:
      enabled: false
    octavia:
      enabled: true
`;

/** Clouds with all-in-one state on this host (a cloud.yaml kept by osk up). */
export async function localClouds(): Promise<string[]> {
  const base = stateRoot();
  const names = await readdir(base).catch(() => [] as string[]);
  return names.filter((n) => existsSync(savedCloudFile(join(base, n)))).sort();
}

/** The cloud a command without -f means: the one named, or the only one there is. */
export async function resolveCloudName(name: string | undefined): Promise<string> {
  if (name) {
    if (!existsSync(statePaths(name).cloudFile))
      throw new OskError(
        `there is no all-in-one cloud named ${name} on this host (looked in ${statePaths(name).root})`,
        { exitCode: ExitCode.invalidInput, hint: 'osk up creates it' },
      );
    return name;
  }
  const all = await localClouds();
  if (all.length === 1) return all[0]!;
  if (all.length === 0)
    throw new OskError(`no all-in-one cloud on this host (state in ${stateRoot()})`, {
      exitCode: ExitCode.invalidInput,
      hint: 'create one with: osk up',
    });
  throw new OskError(`${all.length} clouds on this host: ${all.join(', ')}; say which with --cloud NAME`, {
    exitCode: ExitCode.invalidInput,
  });
}

export interface LocalContext {
  file: CloudFile;
  paths: StatePaths;
  model: CloudModel;
  store: SecretStore;
}

/** A cloud that `osk up` created, with its model (no secrets are generated here). */
export async function openLocalCloud(name: string): Promise<LocalContext> {
  const paths = statePaths(name);
  const file = await readSavedCloudFile(paths.root);
  const store = await SecretStore.open(paths.secrets, name);
  const facts = readHostFacts();
  const model = localModel(
    file,
    paths,
    facts,
    (n) => (store.has(n) ? store.get(n) : placeholderSecrets(n)),
    await savedHypervisor(paths),
  );
  return { file, paths, model, store };
}

export interface UpOptions {
  file: CloudFile;
  install: boolean;
  timeoutSeconds: number;
  reporter: Reporter;
}

export interface UpSummary {
  cloud: string;
  paths: StatePaths;
  seconds: number;
  outcomes: Map<string, string>;
  bootstrap: string[];
}

async function withClient<T>(creds: Credentials, fn: (os: ReturnType<typeof adminClient>) => Promise<T>): Promise<T> {
  const os = adminClient(creds);
  try {
    return await fn(os);
  } finally {
    await os.close();
  }
}

export async function upLocal(o: UpOptions): Promise<UpSummary> {
  const paths = statePaths(o.file.metadata.name);
  if (/\s/.test(paths.root))
    // Cinder's and Octavia's WSGI scripts read their config files from sys.argv, which uwsgi
    // makes by splitting --pyargv at whitespace: a path with a space would become two arguments.
    throw new OskError(
      `the state directory of the all-in-one cannot contain whitespace: ${JSON.stringify(paths.root)}`,
      {
        exitCode: ExitCode.invalidInput,
        hint: 'set OSK_STATE_DIR to a directory whose path has no spaces',
      },
    );
  await mkdir(paths.root, { recursive: true, mode: 0o700 });
  // From reading the store to writing the key files: a key rotation must not run in between,
  // or this up would write back the keys it read before the rotation.
  return withKeyLock(paths, 'osk up', 60_000, () => upLocked(o, paths));
}

async function upLocked(o: UpOptions, paths: StatePaths): Promise<UpSummary> {
  const t0 = Date.now();
  const { file, reporter } = o;
  if (file.spec.profile === 'ha') {
    throw new OskError(
      'profile ha needs several nodes (3 Galera and RabbitMQ members, spread API replicas); the all-in-one target runs one of each',
      {
        exitCode: ExitCode.invalidInput,
        hint: 'use profile: minimal for osk up, or deploy the ha profile to Kubernetes with osk apply',
      },
    );
  }
  const { facts, store, versions, choice, guest } = await prepareHost(o, paths);

  // Kept so that status, logs and down know the cloud without the file.
  await writeSavedCloudFile(paths.root, file);
  await saveHypervisorChoice(paths, choice);

  const secret = (n: string) => store.get(n);
  const model = localModel(file, paths, facts, secret, choice.hypervisor);
  const ks = file.spec.services?.keystone;
  const rotation =
    ks?.keyRotation?.enabled === false || ks?.token?.provider === 'jws' ? undefined : (ks?.keyRotation?.every ?? '24h');
  const credentialsEvery =
    ks?.credentialKeyRotation?.enabled === false ? undefined : (ks?.credentialKeyRotation?.every ?? '7d');
  await writeKeyRotationConfig(
    paths,
    keyRotationConfig(model, file.metadata.name, {
      ...(rotation ? { every: rotation } : {}),
      maxActiveKeys: ks?.token?.maxActiveKeys ?? 3,
      ...(credentialsEvery ? { credentialsEvery } : {}),
    }),
  );
  const creds: Credentials = {
    cloud: file.metadata.name,
    region: file.spec.region,
    adminPassword: secret('keystone-admin-password'),
    demoPassword: secret('keystone-demo-password'),
  };
  const os = adminClient(creds);
  try {
    const result = await converge(model, paths, {
      reporter,
      secret,
      versions,
      timeoutSeconds: o.timeoutSeconds,
      openstack: {
        keystoneUser: (user, password) => ensureServiceUser(os, user, password),
        keystoneEndpoint: (e) => ensureEndpoint(os, { ...e, region: file.spec.region }),
        // A client of its own: the shared one's token predates the endpoints registered
        // meanwhile, and the service catalog comes with the token.
        volumeTypes: (types) => withClient(creds, (c) => ensureVolumeTypes(c, types)),
      },
    });
    if (result.failed.size > 0) {
      throw new OskError(`the cloud is only partly up:\n${describeFailure(result)}`, {
        hint: `fix the cause above and run osk up again: it continues where it stopped. Logs: ${paths.log}`,
      });
    }
    await writeAccessFiles(paths, creds);
    const bootstrap = await finishCloud(model, paths, creds, reporter, guest);
    return {
      cloud: file.metadata.name,
      paths,
      seconds: (Date.now() - t0) / 1000,
      outcomes: result.outcomes,
      bootstrap,
    };
  } finally {
    await os.close();
  }
}

/**
 * The host and the credentials before anything runs: the facts of the host, the
 * secret store with every credential the cloud needs, and the Debian packages (installed with
 * o.install) with their versions.
 */
async function prepareHost(o: UpOptions, paths: StatePaths) {
  const { file, reporter } = o;
  const facts = readHostFacts();
  checkDistro(facts);
  const choice = await chooseHypervisor(file, process.getuid?.() ?? -1, () => readHypervisorFact());
  reporter.note(`hypervisor: ${choice.reason}`);

  // The set of credentials does not depend on their values: a placeholder pass says which exist.
  const store = await SecretStore.open(paths.secrets, file.metadata.name);
  const probeModel = localModel(file, paths, facts, placeholderSecrets, choice.hypervisor);
  const created = store.ensure([...probeModel.secrets.values(), ...BOOTSTRAP_SECRETS]);
  await store.save();
  if (created.length)
    reporter.note(`generated ${created.length} credentials into ${store.path} (kept for the life of the cloud)`);

  reporter.begin('packages', 'checking Debian packages');
  const packages = requiredPackages(probeModel);
  const versions = await ensurePackages(packages, {
    install: o.install,
    root: facts.root,
    log: (l) => reporter.waiting('packages', l),
  });
  reporter.done('packages', 'ready', `${packages.length} packages`);
  // The image the starter kit uploads for real guests, built (or found in the cache) before
  // anything starts, so that a host that cannot build it fails first.
  const guest = choice.hypervisor === 'fake' ? undefined : await ensureGuestImage({ reporter });
  return { facts, store, versions, choice, guest };
}

/** After the programs are up: wait for Cinder's backends, then the starter kit; returns what it created. */
async function finishCloud(
  model: CloudModel,
  paths: StatePaths,
  creds: Credentials,
  reporter: Reporter,
  guest: GuestImage | undefined,
): Promise<string[]> {
  const backends = volumeBackends(model);
  if (backends.length) {
    reporter.begin('volume-backends', `Cinder scheduler knows backend ${backends.join(', ')}`);
    const pools = await withClient(creds, (c) =>
      waitForVolumeBackends(c, backends, {
        timeoutMs: 180_000,
        onWait: (m) => reporter.waiting('volume-backends', `waiting for ${m.join(', ')} in the scheduler's pools`),
        logHint: `${join(paths.log, 'cinder-volume.log')} and cinder-scheduler.log`,
      }),
    );
    reporter.done('volume-backends', 'ready', pools.join(', '));
  }
  reporter.begin('bootstrap', 'demo project, flavors, test image, network');
  // With Octavia the demo user may make load balancers: its policy asks for load-balancer_member.
  const demoRoles = model.components.has('octavia-api') ? ['load-balancer_member'] : [];
  const bootstrap = await withClient(creds, (c) =>
    ensureStarterKit(c, {
      region: creds.region,
      demoPassword: creds.demoPassword,
      cidr: '10.0.0.0/24',
      demoRoles,
      ...(guest ? { bootable: guestImageForKit(guest) } : {}),
      // A data plane that carries packets: the external network on the gateway namespace.
      ...(model.components.has('external-gateway')
        ? {
            external: {
              name: 'public',
              physnet: HOST_EXTERNAL.physnet,
              cidr: HOST_EXTERNAL.cidr,
              gateway: HOST_EXTERNAL.gateway,
              pool: HOST_EXTERNAL.pool,
            },
          }
        : {}),
    }),
  );
  reporter.done('bootstrap', bootstrap.length ? 'completed' : 'unchanged', bootstrap.join(', ') || undefined);
  return bootstrap;
}

/** The volume backends the volumeTypes builtins point at: a type is usable once the scheduler knows its backend. */
function volumeBackends(model: CloudModel): string[] {
  const backends = [...model.components.values()].flatMap((c) =>
    c.host?.kind === 'builtin' && 'volumeTypes' in c.host.action ? c.host.action.volumeTypes.map((t) => t.backend) : [],
  );
  return [...new Set(backends)];
}
