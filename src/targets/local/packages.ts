/**
 * The Debian packages an all-in-one cloud needs: the union of what its components declare.
 * Missing ones are installed by osk itself when it runs as root with --yes (noninteractive,
 * with services kept from starting, since osk supervises them itself), or named with the exact
 * command to run.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { APT_INSTALL_OPTIONS } from '../../apt-options.js';
import { ExitCode, OskError } from '../../errors.js';
import type { CloudModel } from '../../plan/model.js';

/**
 * Besides the components' own: libraries the services import without declaring them as hard
 * dependencies (PyMySQL, python-memcached), the mariadb client osk's probes use, ss (whose output
 * names the program holding a port), and the openstack CLI that users expect next to a cloud.
 */
const ALWAYS = ['python3-pymysql', 'python3-memcache', 'mariadb-client', 'iproute2', 'python3-openstackclient'];

export function requiredPackages(model: CloudModel): string[] {
  const out = new Set(ALWAYS);
  for (const c of model.components.values()) {
    const h = c.host;
    if (!h || h.kind === 'skip') continue;
    for (const p of h.packages ?? []) out.add(p);
  }
  return [...out].sort();
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', (e) => resolve({ code: 127, out: String(e) }));
    p.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** Installed versions of the given packages (absent ones are missing from the map). */
async function installedVersions(packages: string[]): Promise<Map<string, string>> {
  const { out } = await run('dpkg-query', [
    '-W',
    '-f',
    '${Package}\\t${db:Status-Abbrev}\\t${Version}\\n',
    ...packages,
  ]);
  const versions = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [name, status, version] = line.split('\t');
    if (name && status?.startsWith('ii') && version) versions.set(name, version);
  }
  return versions;
}

function installCommand(missing: string[]): string {
  return `sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${missing.join(' ')}`;
}

/**
 * Make sure every package is there. Returns the versions (they are part of each step's hash, so
 * an upgraded package reruns its schema migration).
 */
export async function ensurePackages(
  packages: string[],
  opts: { install: boolean; root: boolean; log: (line: string) => void },
): Promise<Map<string, string>> {
  let versions = await installedVersions(packages);
  const missing = packages.filter((p) => !versions.has(p));
  if (missing.length === 0) return versions;
  if (!opts.install || !opts.root) {
    throw new OskError(
      `${missing.length} Debian package${missing.length === 1 ? ' is' : 's are'} missing: ${missing.join(' ')}`,
      {
        exitCode: ExitCode.invalidInput,
        hint: opts.root
          ? `run osk up --yes to let osk install them, or install them yourself:\n  ${installCommand(missing)}`
          : `install them (as root):\n  ${installCommand(missing)}`,
      },
    );
  }
  opts.log(`installing ${missing.length} Debian packages: ${missing.join(' ')}`);
  // Maintainer scripts must not start the services: osk runs them itself, on loopback, from its
  // own state directory. policy-rc.d is Debian's documented switch for that.
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy)
    await writeFile(policy, '#!/bin/sh\n# written by osk up while it installs packages\nexit 101\n', { mode: 0o755 });
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // Wait for the dpkg lock of another apt run (unattended-upgrades, an install beside osk)
    // instead of failing at once; apt says it is waiting.
    const wait = ['-o', 'DPkg::Lock::Timeout=900'];
    const update = await run('apt-get', ['update', '-q', ...wait], env);
    if (update.code !== 0)
      throw new OskError(`apt-get update failed (exit ${update.code}):\n${tail(update.out)}`, {
        hint: 'check the apt sources and the network, then run osk up --yes again',
      });
    const args = ['install', ...wait, ...APT_INSTALL_OPTIONS, ...missing];
    const install = await run('apt-get', args, env);
    if (install.code !== 0)
      throw new OskError(`apt-get install failed (exit ${install.code}):\n${tail(install.out)}`, {
        hint: `run it yourself to see the whole output: ${installCommand(missing)}`,
      });
  } finally {
    if (ownPolicy) await rm(policy, { force: true });
  }
  versions = await installedVersions(packages);
  const still = packages.filter((p) => !versions.has(p));
  if (still.length)
    throw new OskError(`apt-get finished but these packages are still not installed: ${still.join(' ')}`);
  return versions;
}

function tail(text: string, lines = 15): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .map((l) => `  ${l}`)
    .join('\n');
}
