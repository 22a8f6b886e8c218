// Builds (once) the binaries of the local test control plane from the Go module in ./go:
//   kubecp  multi-call: kube-apiserver, kube-controller-manager, kube-scheduler, etcd, pki
//   kwok    sigs.k8s.io/kwok/cmd/kwok (a `tool` of the same module, same `go build`)
// into ${OSK_CACHE_DIR:-$HOME/.cache/osk}/k8s-<pin-hash>/bin/. The hash covers go.mod, go.sum, the
// Go sources, the Go version and the build flags, so a changed pin builds a new directory and an
// unchanged one is reused without calling the compiler.
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const GO_MODULE_DIR = join(dirname(fileURLToPath(import.meta.url)), "go");

/** Applets of kubecp that get a symlink of their name (argv[0] dispatch). */
export const APPLETS = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "etcd"] as const;

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

export function cacheRoot(): string {
  return process.env.OSK_CACHE_DIR || join(homedir(), ".cache", "osk");
}

/** The go command: $GO, then PATH, then /usr/local/go/bin/go. */
export function goCommand(): string {
  if (process.env.GO) return process.env.GO;
  const onPath = spawnSync("sh", ["-c", "command -v go"], { encoding: "utf8" });
  if (onPath.status === 0 && onPath.stdout.trim()) return onPath.stdout.trim();
  if (existsSync("/usr/local/go/bin/go")) return "/usr/local/go/bin/go";
  throw new Error("no Go toolchain: install Go >= 1.26 (the Kubernetes pin in test/cluster/go/go.mod needs it) or set GO=/path/to/go");
}

/** Versions pinned in go.mod (the single place they are written). */
export function pinnedVersions(goVersion = ""): Versions {
  const mod = readFileSync(join(GO_MODULE_DIR, "go.mod"), "utf8");
  const req = (path: string): string => {
    const m = new RegExp(`^\\s*${path.replace(/[./]/g, "\\$&")}\\s+(v\\S+)`, "m").exec(mod);
    if (!m?.[1]) throw new Error(`go.mod does not require ${path}`);
    return m[1];
  };
  return {
    kubernetes: req("k8s.io/kubernetes"),
    etcd: req("go.etcd.io/etcd/server/v3"),
    kwok: req("sigs.k8s.io/kwok"),
    go: goVersion,
  };
}

function ldflags(v: Versions): string {
  const m = /^v(\d+)\.(\d+)\./.exec(v.kubernetes);
  if (!m) throw new Error(`unexpected Kubernetes version ${v.kubernetes}`);
  // What hack/lib/version.sh sets, so --version and /version report the pinned release.
  const x: string[] = [];
  for (const pkg of ["k8s.io/component-base/version", "k8s.io/client-go/pkg/version"]) {
    x.push(
      `-X ${pkg}.gitVersion=${v.kubernetes}`,
      `-X ${pkg}.gitMajor=${m[1]}`,
      `-X ${pkg}.gitMinor=${m[2]}`,
      `-X ${pkg}.gitTreeState=clean`,
      `-X ${pkg}.buildDate=1970-01-01T00:00:00Z`,
    );
  }
  return ["-s", "-w", ...x].join(" ");
}

function buildArgs(v: Versions, outDir: string): string[] {
  // One `go build` for both main packages, so the packages they share are compiled once.
  // -buildvcs=false: the module sits inside the project's git tree; stamping it would only make
  // the build depend on git being usable there.
  return ["build", "-trimpath", "-buildvcs=false", `-ldflags=${ldflags(v)}`, "-o", outDir + "/", ".", "sigs.k8s.io/kwok/cmd/kwok"];
}

export function pinHash(goVersion: string): string {
  const h = createHash("sha256");
  const files = readdirSync(GO_MODULE_DIR)
    .filter((f) => f === "go.mod" || f === "go.sum" || f.endsWith(".go"))
    .sort();
  for (const f of files) {
    h.update(`${f}\0`);
    h.update(readFileSync(join(GO_MODULE_DIR, f)));
    h.update("\0");
  }
  const v = pinnedVersions(goVersion);
  h.update(`${goVersion}\0${buildArgs(v, "OUT").join(" ")}\0`);
  return h.digest("hex").slice(0, 12);
}

export function goVersion(go = goCommand()): string {
  const r = spawnSync(go, ["env", "GOVERSION"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${go} env GOVERSION failed: ${r.stderr}`);
  return r.stdout.trim();
}

/** Where the binaries for the current pin live (built or not). */
export function binariesDir(go = goCommand()): string {
  return join(cacheRoot(), `k8s-${pinHash(goVersion(go))}`, "bin");
}

export interface EnsureOptions {
  /** progress lines (default: stderr) */
  log?: (line: string) => void;
}

/** Returns the cached binaries, building them first when the pin has no build yet. */
export async function ensureBinaries(opts: EnsureOptions = {}): Promise<Binaries> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const go = goCommand();
  const gv = goVersion(go);
  const versions = pinnedVersions(gv);
  const root = join(cacheRoot(), `k8s-${pinHash(gv)}`);
  const binDir = join(root, "bin");
  const result = (built: boolean, buildSeconds?: number): Binaries => ({
    binDir,
    kubecp: join(binDir, "kubecp"),
    kwok: join(binDir, "kwok"),
    versions,
    built,
    ...(buildSeconds === undefined ? {} : { buildSeconds }),
  });
  if (existsSync(join(root, "complete"))) return result(false);

  mkdirSync(cacheRoot(), { recursive: true });
  const lock = `${root}.lock`;
  await acquireLock(lock, log);
  try {
    if (existsSync(join(root, "complete"))) return result(false); // built by whoever held the lock
    const tmp = `${root}.tmp-${process.pid}`;
    removeAbandonedBuilds(root);
    mkdirSync(join(tmp, "bin"), { recursive: true });
    const args = buildArgs(versions, join(tmp, "bin"));
    log(
      `building Kubernetes ${versions.kubernetes}, etcd ${versions.etcd}, kwok ${versions.kwok} with ${gv} ` +
        `into ${binDir} (a cold build takes a long while; later runs reuse it)`,
    );
    const started = Date.now();
    // nice: the machine is shared (2 cores); the build must not starve the tests or other work.
    await run("nice", ["-n", "19", go, ...args], GO_MODULE_DIR, log);
    const seconds = Math.round((Date.now() - started) / 1000);
    for (const a of APPLETS) symlinkSync("kubecp", join(tmp, "bin", a));
    writeFileSync(
      join(tmp, "complete"),
      JSON.stringify({ versions, buildSeconds: seconds, builtAt: new Date().toISOString(), command: ["go", ...args] }, null, 2) + "\n",
    );
    rmSync(root, { recursive: true, force: true });
    renameSync(tmp, root);
    log(`built in ${seconds}s`);
    return result(true, seconds);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], cwd: string, log: (l: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let tail = "";
    const onData = (b: Buffer): void => {
      const s = b.toString();
      tail = (tail + s).slice(-8000);
      for (const line of s.split("\n")) if (line.trim()) log(`  go: ${line}`);
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(" ")} failed (exit ${code}) in ${cwd}:\n${tail}`)),
    );
  });
}

/** A directory lock holding the owner's PID; a lock whose owner is gone is taken over. */
async function acquireLock(lock: string, log: (l: string) => void): Promise<void> {
  let said = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let owner = 0;
    try {
      owner = Number(readFileSync(join(lock, "pid"), "utf8"));
    } catch {
      // being written or removed right now
    }
    if (owner && !alive(owner)) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!said) log(`waiting for the build running in process ${owner || "?"} (lock ${lock})`);
    said = true;
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
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}
