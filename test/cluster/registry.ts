// An image registry for the tests: CNCF distribution's `registry` (built from the Go module proxy
// by build.ts, cached under ~/.cache/osk/registry-<version>-<go>), so images reach a real node
// the way they reach a user's cluster: pushed by `osk images build --push`, pulled by containerd.
//
// A cluster with a real node runs one on the node network's host end (10.250.<i>.1:5000): the host
// pushes to it and the node's containerd, in its own network namespace, pulls from it. It speaks
// plain HTTP; containerd is told so by a hosts.toml for exactly that address (containerdHosts),
// and skopeo by --push-insecure. Its storage lives under the cluster's node directory, so
// cluster:down stops it by PID and removes its data with the node's.
import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const REGISTRY_PORT = 5000;

export interface RegistryConfig {
  /** host:port it listens on */
  address: string;
  /** its storage (filesystem driver) */
  dataDir: string;
  /** basic auth from this htpasswd file; a missing file is created with user "docker" (see registryPassword) */
  htpasswd?: string;
}

/** The registry's configuration file (distribution's config.yml). */
export function registryConfig(c: RegistryConfig): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: info',
    // JSON lines: registryPassword reads the provisioned password from the log.
    '  formatter: json',
    '  accesslog:',
    '    disabled: false',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(c.dataDir)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: ${JSON.stringify(c.address)}`,
  ];
  if (c.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: osk-test', `    path: ${JSON.stringify(c.htpasswd)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The command line: `registry serve CONFIG`, through env so that OpenTelemetry's exporter (on by
 * default in v3, to localhost:4318) stays off. env execs the registry, so /proc/PID/cmdline[0] is
 * the binary, as the cluster's process records expect.
 */
export function registryArgv(binary: string, configFile: string): string[] {
  return ['env', 'OTEL_TRACES_EXPORTER=none', binary, 'serve', configFile];
}

/** True when the registry answers its API's base endpoint (401 counts: it answers, asking for credentials). */
export async function registryAnswers(address: string): Promise<boolean> {
  try {
    const r = await fetch(`http://${address}/v2/`, { signal: AbortSignal.timeout(2000) });
    await r.body?.cancel();
    return r.status === 200 || r.status === 401;
  } catch {
    return false;
  }
}

/**
 * containerd's registry configuration for the node (CRI `config_path`): one hosts.toml for the
 * test registry, saying it is plain HTTP. Every other registry keeps containerd's defaults
 * (HTTPS, verified), as on a user's node.
 */
export function containerdHosts(configPath: string, address: string): void {
  const dir = join(configPath, address);
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'hosts.toml'),
    `# the test cluster's registry (test/cluster/registry.ts): plain HTTP on the node network
server = "http://${address}"

[host."http://${address}"]
  capabilities = ["pull", "resolve"]
`,
  );
}

/** The password the registry gave user "docker" when it created a missing htpasswd file (its log says it once). */
export function registryPassword(logFile: string): string | undefined {
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.includes('htpasswd is missing')) continue;
    try {
      const entry = JSON.parse(line) as { password?: string };
      if (entry.password) return entry.password;
    } catch {
      // not a JSON line
    }
  }
  return undefined;
}

export interface RunningRegistry {
  address: string;
  pid: number;
  log: string;
  /** SIGTERM to its PID, then waits for it to exit (SIGKILL after 5 s). */
  stop(): Promise<void>;
}

/**
 * A registry of a test's own (the cluster's is started by the cluster, recorded with its
 * processes): detached, its output in dir/registry.log, its storage in dir/data. The caller
 * removes dir after stop().
 */
export async function startRegistry(
  binary: string,
  dir: string,
  c: Omit<RegistryConfig, 'dataDir'>,
): Promise<RunningRegistry> {
  mkdirSync(join(dir, 'data'), { recursive: true });
  const configFile = join(dir, 'config.yml');
  writeFileSync(configFile, registryConfig({ ...c, dataDir: join(dir, 'data') }));
  const log = join(dir, 'registry.log');
  const fd = openSync(log, 'a');
  const [cmd, ...args] = registryArgv(binary, configFile);
  const child = spawn(cmd!, args, { detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${binary}`);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(pid, 'SIGTERM');
    const killer = setTimeout(() => child.exitCode === null && process.kill(pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(killer);
  };
  const deadline = Date.now() + 20_000;
  while (!(await registryAnswers(c.address))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`the registry at ${c.address} did not start; ${log}:\n${readFileSync(log, 'utf8').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { address: c.address, pid, log, stop };
}
