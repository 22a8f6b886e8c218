/**
 * Which images a cloud needs and what goes into each, derived from the catalog (pure): the
 * images its rendered pods name, the commands and uids those pods run, the uwsgi files they
 * read, and the Debian packages the same components run from on a host (their `host` field).
 * recipes.ts adds only what the catalog cannot say.
 */
import { builtImage, imageFor, inRegistry } from '../catalog/images.js';
import { kubernetesTopology, type Topology } from '../catalog/context.js';
import { ExitCode, OskError } from '../errors.js';
import { buildModel, type CloudModel } from '../plan/model.js';
import { IMAGE_KEYS, type ImageKey } from '../spec/image-keys.js';
import { DEBIAN_SUITES, debianReleases } from '../spec/releases.js';
import type { CloudFile } from '../spec/schema.js';
import { SecretStore } from '../state/secret-store.js';
import { allObjects, type KubeObject } from '../targets/kubernetes/objects.js';
import { COMPONENT_LABEL } from '../targets/kubernetes/labels.js';
import { render } from '../targets/kubernetes/render.js';
import { RECIPES } from './recipes.js';

/** Where LOCI keeps its virtualenv's programs, which the catalog's files and commands name. */
export const LOCI_BIN = '/var/lib/openstack/bin';
const DEBIAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ImageSpec {
  key: ImageKey;
  /** The reference the build tags (catalog/images.ts builtImage). */
  reference: string;
  /** Components (and add-on workloads) that run it. */
  users: string[];
  /** Debian packages to install, sorted. */
  packages: string[];
  /** The uid the pods run as, and the Debian account given that uid. */
  uid?: number;
  account?: string;
  /** Symbolic links made after the install: path in the image → Debian's file. */
  links: Record<string, string>;
  /** Commands the pods start: names looked up on PATH, or absolute paths. The build checks each. */
  commands: string[];
  env: Record<string, string>;
  /** Set when the image cannot be built from Debian yet: why. */
  unavailable?: string;
  /**
   * Directories above the pods' mounts. Debian's packages make some of them the service's only
   * (/etc/keystone: 0750 keystone); a pod that runs as root without capabilities (the Jobs: no
   * DAC override) could not reach its mounted files through them, so the build lets everyone
   * through (o+x, as in the published images); what is in them keeps its own mode.
   */
  mountDirs: string[];
  /** The image carries this osk (recipes.ts ownRuntime). */
  ownRuntime?: boolean;
}

export interface ImagePlan {
  release: string;
  suite: string;
  debian: string;
  images: ImageSpec[];
}

/** What the rendered pods say about one image. */
interface PodUse {
  users: Set<string>;
  commands: Set<string>;
  uids: Set<number>;
  /** Directories above where the pods mount their config, Secrets and data. */
  mountDirs: Set<string>;
}

interface Container {
  image?: string;
  command?: string[];
  volumeMounts?: { mountPath: string }[];
  securityContext?: { runAsUser?: number };
  readinessProbe?: { exec?: { command?: string[] } };
  livenessProbe?: { exec?: { command?: string[] } };
  startupProbe?: { exec?: { command?: string[] } };
}
interface PodSpec {
  securityContext?: { runAsUser?: number };
  containers?: Container[];
  initContainers?: Container[];
}

function podSpecOf(o: KubeObject): PodSpec | undefined {
  const spec = (o as { spec?: Record<string, unknown> }).spec;
  if (!spec) return undefined;
  if (o.kind === 'CronJob') {
    const job = spec.jobTemplate as { spec?: { template?: { spec?: PodSpec } } } | undefined;
    return job?.spec?.template?.spec;
  }
  return (spec.template as { spec?: PodSpec } | undefined)?.spec;
}

/** Image reference → the keys the cloud resolves to it (overrides may give two keys one image). */
function keysByReference(model: CloudModel): Map<string, ImageKey[]> {
  const out = new Map<string, ImageKey[]>();
  for (const key of IMAGE_KEYS) {
    const ref = model.ctx.imageRef(key);
    out.set(ref, [...(out.get(ref) ?? []), key]);
  }
  return out;
}

/** Every container of every rendered pod, by the image key it runs. */
/** The directories above a path, root excluded: /etc/keystone/keystone.conf.d/x → /etc, /etc/keystone, … */
function ancestors(path: string): string[] {
  const parts = path.split('/').filter(Boolean);
  return parts.slice(0, -1).map((_, i) => `/${parts.slice(0, i + 1).join('/')}`);
}

function podUses(file: CloudFile, model: CloudModel): Map<ImageKey, PodUse> {
  const objects = allObjects(render(file, SecretStore.memory(file.metadata.name)).groups);
  const byRef = keysByReference(model);
  const uses = new Map<ImageKey, PodUse>();
  for (const o of objects) {
    const pod = podSpecOf(o);
    if (!pod) continue;
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      for (const key of byRef.get(c.image ?? '') ?? []) {
        const use = uses.get(key) ?? { users: new Set(), commands: new Set(), uids: new Set(), mountDirs: new Set() };
        uses.set(key, use);
        // A component's name, not a Job's (which carries the hash of its pod template).
        use.users.add(`${o.kind}/${o.metadata?.labels?.[COMPONENT_LABEL] ?? o.metadata?.name ?? '?'}`);
        for (const cmd of [c.command, c.readinessProbe, c.livenessProbe, c.startupProbe].map((x) =>
          Array.isArray(x) ? x : x?.exec?.command,
        ))
          if (cmd?.[0]) use.commands.add(cmd[0]);
        const uid = c.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
        if (uid !== undefined && uid !== 0) use.uids.add(uid);
        for (const m of c.volumeMounts ?? []) for (const d of ancestors(m.mountPath)) use.mountDirs.add(d);
      }
    }
  }
  return uses;
}

/**
 * The packages the catalog's components run from: the model of the same cloud on a host (the
 * `host` field is only filled in when the topology has a machine). Nothing is written or run.
 */
function hostPackages(file: CloudFile): Map<ImageKey, Set<string>> {
  const topology: Topology = {
    ...kubernetesTopology(file.metadata.namespace ?? 'openstack'),
    machine: {
      hostname: 'image',
      hypervisor: 'fake',
      stateDir: '/var/lib/osk',
      runDir: '/run/osk',
      logDir: '/var/log/osk',
      root: false,
    },
  };
  const out = new Map<ImageKey, Set<string>>();
  for (const c of buildModel(file, { topology }).components.values()) {
    const h = c.host;
    if (!h || h.kind === 'skip') continue;
    const set = out.get(c.image) ?? new Set<string>();
    for (const p of h.packages ?? []) set.add(p);
    out.set(c.image, set);
  }
  return out;
}

/** The wsgi-file of each uwsgi file the components of a key mount: LOCI paths in the catalog. */
function wsgiFiles(model: CloudModel): Map<ImageKey, Set<string>> {
  const out = new Map<ImageKey, Set<string>>();
  for (const c of model.components.values()) {
    for (const bundle of c.configs ?? []) {
      for (const f of model.bundles.get(bundle)?.files ?? []) {
        if (!('text' in f)) continue;
        for (const m of f.text.matchAll(/^wsgi-file = (\S+)$/gm)) {
          const set = out.get(c.image) ?? new Set<string>();
          set.add(m[1]!);
          out.set(c.image, set);
        }
      }
    }
  }
  return out;
}

/** The LOCI directory's links: every command the pods name there or by name, to Debian's file. */
function lociLinks(commands: Iterable<string>, debianFile: Record<string, string>): Record<string, string> {
  const links: Record<string, string> = {};
  for (const cmd of commands) {
    const name = cmd.startsWith(`${LOCI_BIN}/`) ? cmd.slice(LOCI_BIN.length + 1) : cmd.includes('/') ? '' : cmd;
    if (name) links[`${LOCI_BIN}/${name}`] = debianFile[name] ?? `/usr/bin/${name}`;
  }
  return links;
}

export function suiteOf(file: CloudFile): { suite: string; debian: string } {
  const s = DEBIAN_SUITES[file.spec.release];
  if (!s) {
    throw new OskError(`osk builds no images of release ${file.spec.release}: Debian ships no packages of it`, {
      exitCode: ExitCode.invalidInput,
      hint: `images are built for ${debianReleases()}; set spec.release to one of these`,
    });
  }
  return s;
}

/** The images a cloud's pods run, each with what the build puts into it. */
export function imagePlan(file: CloudFile): ImagePlan {
  const { suite, debian } = suiteOf(file);
  const model = buildModel(file);
  const uses = podUses(file, model);
  const packages = hostPackages(file);
  const wsgi = wsgiFiles(model);
  const images: ImageSpec[] = [];
  for (const key of IMAGE_KEYS) {
    const use = uses.get(key);
    if (!use) continue;
    const recipe = RECIPES[key];
    const commands = [...use.commands, ...(wsgi.get(key) ?? [])].sort();
    const links = recipe.loci ? lociLinks(commands, recipe.commands ?? {}) : {};
    for (const [path, target] of Object.entries(recipe.commands ?? {})) if (path.startsWith('/')) links[path] = target;
    const uids = [...use.uids];
    if (uids.length > 1)
      throw new Error(`catalog bug: the pods of image ${key} run as different uids (${uids.join(', ')})`);
    images.push({
      key,
      reference: builtImage(key, file.spec.release, suite),
      users: [...use.users].sort(),
      packages: [...new Set([...(packages.get(key) ?? []), ...(recipe.packages ?? [])])].sort(),
      ...(uids[0] !== undefined ? { uid: uids[0] } : {}),
      ...(recipe.account ? { account: recipe.account } : {}),
      links,
      commands,
      mountDirs: [...use.mountDirs].sort(),
      env: { PATH: recipe.loci ? `${LOCI_BIN}:${DEBIAN_PATH}` : DEBIAN_PATH, ...recipe.env },
      ...(recipe.unavailable ? { unavailable: recipe.unavailable } : {}),
      ...(recipe.ownRuntime ? { ownRuntime: true } : {}),
    });
  }
  return { release: file.spec.release, suite, debian, images };
}

/** The images of --only (all buildable ones when not given); an unknown or unavailable name is bad input. */
export function selectImages(plan: ImagePlan, only: string[] | undefined): ImageSpec[] {
  if (!only) return plan.images.filter((i) => !i.unavailable);
  const byKey = new Map(plan.images.map((i) => [i.key as string, i]));
  return only.map((name) => {
    const spec = byKey.get(name);
    if (!spec)
      throw new OskError(`--only ${name}: the cloud runs no image of that name`, {
        exitCode: ExitCode.invalidInput,
        hint: `its images: ${plan.images.map((i) => i.key).join(', ')}`,
      });
    if (spec.unavailable)
      throw new OskError(`--only ${name}: cannot be built from Debian's packages yet: ${spec.unavailable}`, {
        exitCode: ExitCode.invalidInput,
      });
    return spec;
  });
}

/**
 * --push REGISTRY next to the cloud file: each image goes to the reference images.registry
 * REGISTRY gives it (inRegistry), and that must be what the cloud's pods name. When it is not
 * (another images.registry, images.source published, an override), the push is refused before
 * anything is built: otherwise the mismatch shows only on the cluster, as pods that cannot pull
 * their image or, worse, run an older one still at the address the cloud names.
 */
export function pushReferences(file: CloudFile, images: ImageSpec[], registry: string, source: string): string[] {
  const pushed = images.map((i) => inRegistry(i.reference, registry));
  const wrong = images.flatMap((i, n) => {
    const runs = imageFor(i.key, file.spec);
    return runs === pushed[n] ? [] : [{ key: i.key, runs, pushed: pushed[n]! }];
  });
  if (!wrong.length) return pushed;
  const fixes: string[] = [];
  const { images: set } = file.spec;
  if (set?.source !== 'debian') fixes.push('spec.images.source: debian');
  if (set?.registry?.replace(/\/$/, '') !== registry.replace(/\/$/, ''))
    fixes.push(`spec.images.registry: ${registry}`);
  const overridden = wrong.filter((w) => set?.overrides?.[w.key]).map((w) => w.key);
  throw new OskError(
    `--push ${registry}: the cloud of ${source} would not run what is pushed:\n${wrong
      .map((w) => `  ${w.key}: the cloud runs ${w.runs}, the push would write ${w.pushed}`)
      .join('\n')}`,
    {
      exitCode: ExitCode.invalidInput,
      hint: [
        ...(fixes.length ? [`set ${fixes.join(' and ')} in ${source}`] : []),
        ...(overridden.length
          ? [`images.overrides names ${overridden.join(', ')}: drop the override or leave it out of --only`]
          : []),
      ].join('; '),
    },
  );
}
