// Builds (once) the binaries of the local test control plane from the Go module in ./go:
//   kubecp  multi-call: kube-apiserver, kube-controller-manager, kube-scheduler, etcd, pki
//   kwok    sigs.k8s.io/kwok/cmd/kwok (a `tool` of the same module, same `go build`)
// into ${OSK_CACHE_DIR:-$HOME/.cache/osk}/k8s-<pin-hash>/bin/. The hash covers go.mod, go.sum, the
// Go sources, the Go version and the build flags, so a changed pin builds a new directory and an
// unchanged one is reused without calling the compiler.
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultProgressMode, formatElapsed, startProgress } from './progress.js';

const GO_MODULE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'go');

/**
 * One `go build` of main packages of the module in ./go, cached in cacheRoot()/<prefix>-<hash>/bin:
 * the control plane (kubecp + kwok, every cluster) and the node (kubenode, only a cluster with a
 * real node). Both share Go's build cache, so the packages they have in common compile once.
 */
interface GoBuild {
  prefix: string;
  /** the packages `go build` is given (relative to the module, or import paths) */
  packages: string[];
  /** the import paths `go build -v` prints for those main packages (its last lines before the link) */
  mains: string[];
  /** the binaries it links, for the progress lines */
  binaries: string[];
  /** directories (relative to the module) whose .go files are hashed besides go.mod and go.sum */
  sourceDirs: string[];
  /** symlink name -> binary (argv[0] dispatch of the multi-call binaries) */
  applets: Record<string, string>;
}

const CONTROL_PLANE: GoBuild = {
  prefix: 'k8s',
  packages: ['.', 'sigs.k8s.io/kwok/cmd/kwok'],
  mains: ['.', 'osk.local/kubecp', 'sigs.k8s.io/kwok/cmd/kwok'],
  binaries: ['kubecp', 'kwok'],
  sourceDirs: ['.'],
  applets: Object.fromEntries(
    ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map((a) => [a, 'kubecp']),
  ),
};

const NODE: GoBuild = {
  prefix: 'node',
  packages: ['./kubenode'],
  mains: ['./kubenode', 'osk.local/kubecp/kubenode'],
  binaries: ['kubenode'],
  sourceDirs: ['kubenode'],
  applets: { kubelet: 'kubenode', 'kube-proxy': 'kubenode' },
};

export interface Versions {
  kubernetes: string;
  etcd: string;
  kwok: string;
  go: string;
}

export interface Binaries {
  binDir: string;
  kubecp: string;
  kwok: string;
  versions: Versions;
  /** true when this call compiled them, false when they came from the cache */
  built: boolean;
  buildSeconds?: number;
}

/** kubelet and kube-proxy (symlinks to kubenode) of the pinned Kubernetes. */
export interface NodeBinaries {
  binDir: string;
  kubelet: string;
  kubeProxy: string;
  versions: Versions;
  built: boolean;
}

/** Where built tools are kept, outside any work tree: $OSK_CACHE_DIR, else ~/.cache/osk. */
export function cacheRoot(): string {
  return process.env.OSK_CACHE_DIR || join(homedir(), '.cache', 'osk');
}

/** The go command: $GO, then PATH, then /usr/local/go/bin/go. */
export function goCommand(): string {
  if (process.env.GO) return process.env.GO;
  const onPath = spawnSync('sh', ['-c', 'command -v go'], { encoding: 'utf8' });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  if (existsSync('/usr/local/go/bin/go')) return '/usr/local/go/bin/go';
  throw new Error(
    'no Go toolchain: install Go >= 1.26 (the Kubernetes pin in test/cluster/go/go.mod needs it) or set GO=/path/to/go',
  );
}

/** Versions pinned in go.mod (the single place they are written). */
function pinnedVersions(goVersion = ''): Versions {
  const mod = readFileSync(join(GO_MODULE_DIR, 'go.mod'), 'utf8');
  const req = (path: string): string => {
    const m = new RegExp(`^\\s*${path.replace(/[./]/g, '\\$&')}\\s+(v\\S+)`, 'm').exec(mod);
    if (!m?.[1]) throw new Error(`go.mod does not require ${path}`);
    return m[1];
  };
  return {
    kubernetes: req('k8s.io/kubernetes'),
    etcd: req('go.etcd.io/etcd/server/v3'),
    kwok: req('sigs.k8s.io/kwok'),
    go: goVersion,
  };
}

function ldflags(v: Versions): string {
  const m = /^v(\d+)\.(\d+)\./.exec(v.kubernetes);
  if (!m) throw new Error(`unexpected Kubernetes version ${v.kubernetes}`);
  // What hack/lib/version.sh sets, so --version and /version report the pinned release.
  const x: string[] = [];
  for (const pkg of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    x.push(
      `-X ${pkg}.gitVersion=${v.kubernetes}`,
      `-X ${pkg}.gitMajor=${m[1]}`,
      `-X ${pkg}.gitMinor=${m[2]}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return ['-s', '-w', ...x].join(' ');
}

function buildArgs(b: GoBuild, v: Versions, outDir: string): string[] {
  // One `go build` for both main packages, so the packages they share are compiled once.
  // -buildvcs=false: the module sits inside the project's git tree; stamping it would only make
  // the build depend on git being usable there.
  return ['build', '-trimpath', '-buildvcs=false', `-ldflags=${ldflags(v)}`, '-o', `${outDir}/`, ...b.packages];
}

function pinHash(b: GoBuild, goVersion: string): string {
  const h = createHash('sha256');
  const files = [
    'go.mod',
    'go.sum',
    ...b.sourceDirs.flatMap((d) =>
      readdirSync(join(GO_MODULE_DIR, d))
        .filter((f) => f.endsWith('.go'))
        .map((f) => join(d, f)),
    ),
  ].sort();
  for (const f of files) {
    h.update(`${f}\0`);
    h.update(readFileSync(join(GO_MODULE_DIR, f)));
    h.update('\0');
  }
  const v = pinnedVersions(goVersion);
  h.update(`${goVersion}\0${buildArgs(b, v, 'OUT').join(' ')}\0`);
  return h.digest('hex').slice(0, 12);
}

export function goVersion(go = goCommand()): string {
  const r = spawnSync(go, ['env', 'GOVERSION'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${go} env GOVERSION failed: ${r.stderr}`);
  return r.stdout.trim();
}

export interface EnsureOptions {
  /** progress lines (default: stderr) */
  log?: (line: string) => void;
  /**
   * How a long step reports: "live" redraws one line on stderr, "lines" writes a plain line
   * through log at least every 10 s. Default: live when log is the default and stderr is a
   * terminal (and $CI is unset), else lines.
   */
  progress?: 'live' | 'lines';
}

/** Returns the control plane's cached binaries, building them first when the pin has no build yet. */
export async function ensureBinaries(opts: EnsureOptions = {}): Promise<Binaries> {
  const built = await ensureGoBuild(CONTROL_PLANE, opts);
  return {
    binDir: built.binDir,
    kubecp: join(built.binDir, 'kubecp'),
    kwok: join(built.binDir, 'kwok'),
    versions: built.versions,
    built: built.built,
    ...(built.buildSeconds === undefined ? {} : { buildSeconds: built.buildSeconds }),
  };
}

/** Returns the cached kubelet and kube-proxy of the pinned Kubernetes, building them first if needed. */
export async function ensureNodeBinaries(opts: EnsureOptions = {}): Promise<NodeBinaries> {
  const built = await ensureGoBuild(NODE, opts);
  return {
    binDir: built.binDir,
    kubelet: join(built.binDir, 'kubelet'),
    kubeProxy: join(built.binDir, 'kube-proxy'),
    versions: built.versions,
    built: built.built,
  };
}

interface Built {
  binDir: string;
  versions: Versions;
  built: boolean;
  buildSeconds?: number;
}

async function ensureGoBuild(b: GoBuild, opts: EnsureOptions): Promise<Built> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  opts = { ...opts, progress: opts.progress ?? (opts.log ? 'lines' : defaultProgressMode()) };
  const go = goCommand();
  const gv = goVersion(go);
  const versions = pinnedVersions(gv);
  const root = join(cacheRoot(), `${b.prefix}-${pinHash(b, gv)}`);
  const binDir = join(root, 'bin');
  const result = (built: boolean, buildSeconds?: number): Built => ({
    binDir,
    versions,
    built,
    ...(buildSeconds === undefined ? {} : { buildSeconds }),
  });
  if (existsSync(join(root, 'complete'))) return result(false);

  mkdirSync(cacheRoot(), { recursive: true });
  const lock = `${root}.lock`;
  await acquireLock(lock, log, opts);
  try {
    if (existsSync(join(root, 'complete'))) return result(false); // built by whoever held the lock
    const tmp = `${root}.tmp-${process.pid}`;
    removeAbandonedBuilds(root);
    mkdirSync(join(tmp, 'bin'), { recursive: true });
    const args = buildArgs(b, versions, join(tmp, 'bin'));
    log(
      b === CONTROL_PLANE
        ? `building Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, kwok ${versions.kwok} with ${gv} ` +
            `into ${binDir} (a cold build takes a long while; later runs reuse it)`
        : `building kubelet and kube-proxy ${versions.kubernetes} with ${gv} into ${binDir} ` +
            '(a cold build takes a long while; later runs reuse it)',
    );
    const started = Date.now();
    // Three steps, so each can say how far it got: the download, the package count, the build.
    await downloadModules(go, log, opts);
    const total = await countPackages(go, b, log, opts);
    await compile(go, b, args, total, log, opts);
    const seconds = Math.round((Date.now() - started) / 1000);
    for (const [applet, binary] of Object.entries(b.applets)) symlinkSync(binary, join(tmp, 'bin', applet));
    writeFileSync(
      join(tmp, 'complete'),
      `${JSON.stringify(
        { versions, buildSeconds: seconds, builtAt: new Date().toISOString(), command: ['go', ...args] },
        null,
        2,
      )}\n`,
    );
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
    log(`built in ${seconds}s`);
    return result(true, seconds);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/**
 * A program `go install`ed from its own module at a pinned version, so its dependencies stay out
 * of the Kubernetes module's graph (they would move shared pins). Static (CGO_ENABLED=0): it runs
 * in an image that holds nothing else, or on any host. Cached in cacheRoot()/<prefix>-<version>-<go hash>/bin.
 */
interface GoInstall {
  name: string;
  prefix: string;
  module: string;
  /** the main package's import path (the module itself or a command under it) */
  package: string;
  version: string;
  binary: string;
}

/**
 * Programs built from their own module at a pinned version whose go.mod has replace lines:
 * `go install pkg@version` refuses those ("contains replace directives"), so the module's archive
 * is copied out of the module cache and built as the main module, where its replace lines apply
 * (the pins its authors tested). Several commands of one module build in one `go build`, so the
 * packages they share compile once. Static, cached like GoInstall.
 */
export interface GoModuleBuild {
  name: string;
  prefix: string;
  module: string;
  version: string;
  /** command directories inside the module, each a binary named after the last element of its import path ('.': the module's) */
  commands: readonly string[];
  /** -X settings (the version a program reports) */
  stamps: Record<string, string>;
}

/** CoreDNS, the real node's cluster DNS. */
export const COREDNS = {
  name: 'CoreDNS',
  prefix: 'coredns',
  module: 'github.com/coredns/coredns',
  package: 'github.com/coredns/coredns',
  version: 'v1.15.0',
  binary: 'coredns',
} as const satisfies GoInstall;

/**
 * The registry of CNCF distribution (cmd/registry), the image registry the real node pulls from
 * (registry.ts). v3.1.2: the newest version the module proxy serves (v3.0.0, v3.1.1, v3.1.2).
 */
export const REGISTRY = {
  name: 'the distribution registry',
  prefix: 'registry',
  module: 'github.com/distribution/distribution/v3',
  package: 'github.com/distribution/distribution/v3/cmd/registry',
  version: 'v3.1.2',
  binary: 'registry',
} as const satisfies GoInstall;

/**
 * kube-router with only its network-policy controller: what enforces NetworkPolicies on the real
 * node (network-policies.ts), through iptables and ipset. v2.1.0: the only v2 version the module
 * proxy serves (v2.5.0, v2.6.2, v2.6.3: "403 … not available"); security flaws are reported for
 * it, which a test enforcer in a network namespace with no way out can live with. The enforcer
 * that reports none, kube-network-policies v0.8.0, cannot work on this kernel: it queues packets
 * with nftables' queue expression, which the kernel lacks (CONFIG_NFT_QUEUE is not set), and every
 * rule sync failed with "netlink receive: no such file or directory".
 */
const KUBE_ROUTER: GoModuleBuild = {
  name: 'kube-router',
  prefix: 'kube-router',
  module: 'github.com/cloudnativelabs/kube-router/v2',
  version: 'v2.1.0',
  commands: ['cmd/kube-router'],
  stamps: { 'github.com/cloudnativelabs/kube-router/v2/pkg/version.Version': 'v2.1.0' },
};

/**
 * The OpenStack cloud controller manager and the Cinder CSI plugin, what a workload cluster on
 * osk's cloud runs (test/workload). v1.36.0: the newest tag; the proxy serves exact versions only.
 */
const CLOUD_PROVIDER_OPENSTACK: GoModuleBuild = {
  name: 'cloud-provider-openstack',
  prefix: 'cloud-provider-openstack',
  module: 'k8s.io/cloud-provider-openstack',
  version: 'v1.36.0',
  commands: ['cmd/openstack-cloud-controller-manager', 'cmd/cinder-csi-plugin'],
  stamps: { 'k8s.io/cloud-provider-openstack/pkg/version.Version': 'v1.36.0' },
};

/** The CSI external-provisioner sidecar: PVC → CreateVolume of a CSI controller. */
const CSI_PROVISIONER: GoModuleBuild = {
  name: 'csi external-provisioner',
  prefix: 'csi-provisioner',
  module: 'github.com/kubernetes-csi/external-provisioner/v6',
  version: 'v6.4.0',
  commands: ['cmd/csi-provisioner'],
  stamps: { 'main.version': 'v6.4.0' },
};

/** The CSI external-attacher sidecar: VolumeAttachment → ControllerPublishVolume (attach to the node's server). */
const CSI_ATTACHER: GoModuleBuild = {
  name: 'csi external-attacher',
  prefix: 'csi-attacher',
  module: 'github.com/kubernetes-csi/external-attacher/v4',
  version: 'v4.13.0',
  commands: ['cmd/csi-attacher'],
  stamps: { 'main.version': 'v4.13.0' },
};

/** Returns the path of the cached coredns binary, building it first when this pin has none. */
export function ensureCoreDNS(opts: EnsureOptions = {}): Promise<string> {
  return ensureGoInstall(COREDNS, opts);
}

/** kube-router (its network-policy controller is what the real node uses), built first when this pin has none. */
export async function ensureKubeRouter(opts: EnsureOptions = {}): Promise<{ binary: string; version: string }> {
  const bin = await ensureGoModuleBuild(KUBE_ROUTER, opts);
  return { binary: join(bin, 'kube-router'), version: KUBE_ROUTER.version };
}

/** Returns the path of the cached registry binary, building it first when this pin has none. */
export function ensureRegistry(opts: EnsureOptions = {}): Promise<string> {
  return ensureGoInstall(REGISTRY, opts);
}

/** openstack-cloud-controller-manager and cinder-csi-plugin, built first when this pin has none. */
export async function ensureCloudProviderOpenStack(
  opts: EnsureOptions = {},
): Promise<{ occm: string; cinderCsi: string; version: string }> {
  const bin = await ensureGoModuleBuild(CLOUD_PROVIDER_OPENSTACK, opts);
  return {
    occm: join(bin, 'openstack-cloud-controller-manager'),
    cinderCsi: join(bin, 'cinder-csi-plugin'),
    version: CLOUD_PROVIDER_OPENSTACK.version,
  };
}

/** The csi-provisioner sidecar, built first when this pin has none. */
export async function ensureCsiProvisioner(opts: EnsureOptions = {}): Promise<{ binary: string; version: string }> {
  const bin = await ensureGoModuleBuild(CSI_PROVISIONER, opts);
  return { binary: join(bin, 'csi-provisioner'), version: CSI_PROVISIONER.version };
}

/** The csi-attacher sidecar, built first when this pin has none. */
export async function ensureCsiAttacher(opts: EnsureOptions = {}): Promise<{ binary: string; version: string }> {
  const bin = await ensureGoModuleBuild(CSI_ATTACHER, opts);
  return { binary: join(bin, 'csi-attacher'), version: CSI_ATTACHER.version };
}

function ensureGoInstall(tool: GoInstall, opts: EnsureOptions): Promise<string> {
  return ensureCachedTool(tool, opts, async (go, tmp, note) => {
    const args = ['install', '-v', '-trimpath', '-ldflags=-s -w', `${tool.package}@${tool.version}`];
    await runGo(go, args, note, { ...process.env, GOBIN: join(tmp, 'bin'), CGO_ENABLED: '0' });
  }).then((bin) => join(bin, tool.binary));
}

export function ensureGoModuleBuild(tool: GoModuleBuild, opts: EnsureOptions): Promise<string> {
  return ensureCachedTool(tool, opts, async (go, tmp, note) => {
    let dir = '';
    await runGo(go, ['mod', 'download', '-json', `${tool.module}@${tool.version}`], (line, stream) => {
      const m = /^\s*"Dir": "(.+)",?$/.exec(line);
      if (m?.[1]) dir = m[1];
      else if (stream === 'stderr') note(line);
    });
    if (!dir) throw new Error(`go mod download ${tool.module}@${tool.version} named no directory`);
    // The module cache is read-only: a writable copy keeps the cache untouched whatever the
    // module's build does (with -mod=mod go build may add go.sum lines its zip lacks, as CAPO's
    // does), and it is removed with the build.
    const src = join(tmp, 'src');
    cpSync(dir, src, { recursive: true });
    spawnSync('chmod', ['-R', 'u+w', src]);
    const x = Object.entries(tool.stamps).map(([k, v]) => `-X ${k}=${v}`);
    const args = ['build', '-v', '-trimpath', '-buildvcs=false', `-ldflags=-s -w ${x.join(' ')}`];
    await runGo(
      go,
      [...args, '-o', `${join(tmp, 'bin')}/`, ...tool.commands.map((c) => `./${c}`)],
      note,
      { ...process.env, CGO_ENABLED: '0', GOFLAGS: '-mod=mod' },
      src,
    );
    rmSync(src, { recursive: true, force: true });
  });
}

/**
 * The cache, lock and progress around one tool's build: cacheRoot()/<prefix>-<version>-<go hash>,
 * built into a temporary directory renamed into place only when complete. Returns its bin directory.
 */
async function ensureCachedTool(
  tool: { name: string; prefix: string; version: string },
  opts: EnsureOptions,
  build: (go: string, tmp: string, note: (line: string) => void) => Promise<void>,
): Promise<string> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  opts = { ...opts, progress: opts.progress ?? (opts.log ? 'lines' : defaultProgressMode()) };
  const go = goCommand();
  const gv = goVersion(go);
  const root = join(
    cacheRoot(),
    `${tool.prefix}-${tool.version}-${createHash('sha256').update(gv).digest('hex').slice(0, 8)}`,
  );
  const binDir = join(root, 'bin');
  if (existsSync(join(root, 'complete'))) return binDir;
  mkdirSync(cacheRoot(), { recursive: true });
  await acquireLock(`${root}.lock`, log, opts);
  try {
    if (existsSync(join(root, 'complete'))) return binDir;
    const tmp = `${root}.tmp-${process.pid}`;
    removeAbandonedBuilds(root);
    mkdirSync(join(tmp, 'bin'), { recursive: true });
    log(`building ${tool.name} ${tool.version} with ${gv} into ${binDir} (a few minutes the first time)`);
    const started = Date.now();
    const p = startProgress(`go build ${tool.name}`, { log, ...modeOf(opts) });
    let packages = 0;
    try {
      await build(go, tmp, (line) => {
        if (!IMPORT_PATH.test(line)) return void p.note(`  go: ${line}`);
        packages++;
        p.update(`${packages} packages (${line})`);
      });
    } catch (e) {
      p.done(`building ${tool.name} failed after ${packages} packages`);
      throw e;
    }
    const seconds = Math.round((Date.now() - started) / 1000);
    p.done(`built ${tool.name} in ${seconds}s`);
    writeFileSync(join(tmp, 'complete'), `${JSON.stringify({ ...tool, go: gv, buildSeconds: seconds }, null, 2)}\n`);
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
    return binDir;
  } finally {
    rmSync(`${root}.lock`, { recursive: true, force: true });
  }
}

/** "# get https://<proxy>/<module path>/@v/<version>.zip: 200 OK (0.1s)", as go mod download -x prints it */
const PROXY_ZIP = /^# get \S+?:\/\/[^/\s]+\/(\S+)\/@v\/([^\s/]+)\.zip(: (.*))?$/;

/**
 * One stderr line of `go mod download -x`: a module archive fetched, a request whose answer comes
 * later or that is not an archive ("request"), or anything else, which is worth showing ("other":
 * a failed fetch, an error).
 */
export function downloadLine(line: string): { module: string; version: string } | 'request' | 'other' {
  const m = PROXY_ZIP.exec(line);
  if (m?.[1] && m[2] && m[4] !== undefined)
    return m[4].startsWith('200') ? { module: decodeModulePath(m[1]), version: m[2] } : 'other';
  if (line.startsWith('# get ')) return /: [45]\d\d /.test(line) && !/: 404 /.test(line) ? 'other' : 'request';
  return 'other';
}

/** `go mod download -x`: one "# get …zip" line per module archive, counted against go.sum. */
async function downloadModules(go: string, log: (l: string) => void, opts: EnsureOptions): Promise<void> {
  // go.sum has one "<module> <version> h1:" line per archive the build may need (and one
  // "/go.mod h1:" line per go.mod); go mod download fetches at most those.
  const sum = readFileSync(join(GO_MODULE_DIR, 'go.sum'), 'utf8').split('\n');
  const most = sum.filter((l) => /^\S+ \S+ h1:/.test(l) && !/\/go\.mod h1:/.test(l)).length;
  const p = startProgress('downloading Go modules', { log, ...modeOf(opts) });
  let fetched = 0;
  try {
    await runGo(go, ['mod', 'download', '-x'], (line) => {
      const got = downloadLine(line);
      if (got === 'request') return; // its answer follows on a line of its own
      if (got === 'other') return void p.note(`  go: ${line}`);
      fetched++;
      p.update(`${fetched}/${most} archives (${got.module}@${got.version})`);
    });
  } catch (e) {
    p.done(`downloading Go modules failed after ${fetched} archives`);
    throw e;
  }
  p.done(fetched ? `downloaded ${fetched} module archives` : 'Go modules: all in the module cache already');
}

/** How many packages the build takes in (standard library included): the denominator of compile(). */
async function countPackages(go: string, b: GoBuild, log: (l: string) => void, opts: EnsureOptions): Promise<number> {
  const p = startProgress('listing the packages to build', { log, ...modeOf(opts) });
  let n = 0;
  try {
    await runGo(go, ['list', '-deps', ...b.packages], (line, stream) => {
      if (stream === 'stdout') n++;
      else p.note(`  go: ${line}`);
    });
  } finally {
    p.done(`${n} packages to build (those already in Go's build cache are skipped)`);
  }
  return n;
}

/** `go build -v`: it names each package as it compiles it; the link at the end says nothing. */
async function compile(
  go: string,
  b: GoBuild,
  args: string[],
  total: number,
  log: (l: string) => void,
  opts: EnsureOptions,
): Promise<void> {
  const p = startProgress('compiling', { log, ...modeOf(opts) });
  let compiled = 0;
  const mains = new Set(b.mains);
  const linked = b.binaries.join(' and ');
  let mainsDone = 0;
  try {
    await runGo(go, [args[0] ?? 'build', '-v', ...args.slice(1)], (line) => {
      if (!IMPORT_PATH.test(line)) return void p.note(`  go: ${line}`);
      compiled++;
      if (mains.has(line)) mainsDone++;
      p.update(
        mainsDone >= b.binaries.length
          ? `${compiled}/${total} packages; linking ${linked}`
          : `${compiled}/${total} packages (${line})`,
      );
    });
  } catch (e) {
    p.done(`compiling failed after ${compiled} packages`);
    throw e;
  }
  p.done(
    `compiled ${compiled} of ${total} packages (the others were in Go's build cache or need no compiling) and linked ${linked}`,
  );
}

/** What `go build -v` and `go list` print for a package: an import path, nothing else on the line. */
const IMPORT_PATH = /^[A-Za-z0-9_.~+-]+(\/[A-Za-z0-9_.~+-]+)*$/;

/** The proxy escapes upper-case letters as "!x" (github.com/!azure/…). */
function decodeModulePath(p: string): string {
  return p.replace(/!([a-z])/g, (_, c: string) => c.toUpperCase());
}

function modeOf(opts: EnsureOptions): { mode: 'live' | 'lines' } {
  return { mode: opts.progress ?? 'lines' };
}

/**
 * Runs `nice -n 19 go ARGS` in the module directory, handing each output line to onLine; rejects
 * with the last output when go fails. nice: the machine may be shared and the build must not
 * starve everything else.
 */
function runGo(
  go: string,
  args: string[],
  onLine: (line: string, stream: 'stdout' | 'stderr') => void,
  env: NodeJS.ProcessEnv = process.env,
  cwd = GO_MODULE_DIR,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nice', ['-n', '19', go, ...args], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const partial = { stdout: '', stderr: '' };
    const emit = (line: string, stream: 'stdout' | 'stderr'): void => {
      if (stream === 'stderr') tail = `${tail + line}\n`.slice(-8000);
      if (line.trim()) onLine(line, stream);
    };
    const reader = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
      const lines = (partial[stream] + b.toString()).split('\n');
      partial[stream] = lines.pop() ?? '';
      for (const line of lines) emit(line, stream);
    };
    child.stdout.on('data', reader('stdout'));
    child.stderr.on('data', reader('stderr'));
    child.on('error', reject);
    child.on('close', (code) => {
      for (const stream of ['stdout', 'stderr'] as const) if (partial[stream]) emit(partial[stream], stream);
      if (code === 0) resolve();
      else reject(new Error(`${go} ${args.join(' ')} failed (exit ${code}) in ${cwd}:\n${tail}`));
    });
  });
}

/** A directory lock holding the owner's PID; a lock whose owner is gone is taken over. */
async function acquireLock(lock: string, log: (l: string) => void, opts: EnsureOptions): Promise<void> {
  // Another build may hold the lock for tens of minutes: say so, and keep saying it.
  let waiting: ReturnType<typeof startProgress> | undefined;
  const waitStarted = Date.now();
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, 'pid'), String(process.pid));
      waiting?.done(`the other build finished after ${formatElapsed(Date.now() - waitStarted)} of waiting`);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(join(lock, 'pid'), 'utf8'));
    } catch {
      // being written or removed right now
    }
    if (owner && !alive(owner)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    waiting ??= startProgress('waiting for another build of the same pin', { log, ...modeOf(opts) });
    waiting.update(`process ${owner || '?'} holds ${lock}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Removes <root>.tmp-<pid> directories of builds whose process is gone (killed mid-build). */
function removeAbandonedBuilds(root: string): void {
  const parent = dirname(root);
  const prefix = `${basename(root)}.tmp-`;
  for (const e of readdirSync(parent)) {
    if (!e.startsWith(prefix)) continue;
    const pid = Number(e.slice(prefix.length));
    if (pid === process.pid || !alive(pid)) rmSync(join(parent, e), { recursive: true, force: true });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
