/**
 * apt with a state of its own in osk's cache: the guest's suite from the host's mirrors
 * (images/host.ts), its own lists and downloads, an empty dpkg status (nothing counts as
 * installed) and the host's apt.conf.d (a proxy the host needs, the guest's downloads need too).
 * The host's apt, its lists and its packages are not touched, and no root is needed for it.
 */
import { mkdir, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import { OskError } from '../../errors.js';
import { type Mirrors, sourcesFor } from '../host.js';
import { run, type RunOptions } from '../run.js';
import { closure, debFileName, parseStanzas, type Stanza } from './packages.js';

export interface PrivateApt {
  options: string[];
  arch: string;
}

export async function privateApt(dir: string, mirrors: Mirrors, suite: string, arch: string): Promise<PrivateApt> {
  const parts = join(dir, 'sources.list.d');
  for (const d of [
    parts,
    join(dir, 'preferences.d'),
    join(dir, 'lists', 'partial'),
    join(dir, 'cache', 'archives', 'partial'),
  ])
    await mkdir(d, { recursive: true });
  await writeFile(join(parts, 'debian.sources'), sourcesFor(mirrors, suite));
  const options = [
    ['Dir::Etc::SourceList', '/dev/null'],
    ['Dir::Etc::SourceParts', parts],
    ['Dir::Etc::Preferences', '/dev/null'],
    ['Dir::Etc::PreferencesParts', join(dir, 'preferences.d')],
    ['Dir::State::Lists', join(dir, 'lists')],
    ['Dir::Cache', join(dir, 'cache')],
    ['Dir::State::status', '/dev/null'],
    ['APT::Architecture', arch],
    ['APT::Architectures', arch],
    ['Acquire::Languages', 'none'],
    // The host's AppStream hook would fetch metadata of every package's icons: megabytes unused.
    ['Acquire::IndexTargets::deb::DEP-11::DefaultEnabled', 'false'],
    ['Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled', 'false'],
    ['Acquire::IndexTargets::deb::DEP-11-icons-small::DefaultEnabled', 'false'],
    // Files in osk's cache are root's when osk runs as root: apt's _apt user could not write them.
    ['APT::Sandbox::User', process.getuid?.() === 0 ? 'root' : '_apt'],
  ].flatMap(([k, v]) => ['-o', `${k}=${v}`]);
  return { options, arch };
}

const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', DEBIAN_FRONTEND: 'noninteractive' };

export async function aptUpdate(apt: PrivateApt, opts: Pick<RunOptions, 'onLine'>): Promise<void> {
  await run(['apt-get', ...apt.options, '-q', 'update'], {
    ...opts,
    env: ENV,
    what: "apt-get update of the guest's packages",
  });
}

/** The candidate of each name apt knows (exit 100 when some name is unknown: those are left out). */
async function show(apt: PrivateApt, names: readonly string[]): Promise<Stanza[]> {
  const { stdout } = await run(['apt-cache', ...apt.options, 'show', '--no-all-versions', ...names], {
    env: ENV,
    okCodes: [100],
    what: `apt-cache show ${names.join(' ')}`,
  });
  return parseStanzas(stdout);
}

/** The packages of `roots` and their dependencies, with the versions apt would download now. */
export async function resolvePackages(
  apt: PrivateApt,
  roots: readonly string[],
  notFollowed: readonly string[],
): Promise<Stanza[]> {
  const known = new Map<string, Stanza>();
  const asked = new Set<string>();
  for (let round = 0; round < 20; round++) {
    const { missing } = closure(roots, known, notFollowed);
    const ask = missing.filter((n) => !asked.has(n));
    if (!ask.length) {
      if (missing.length)
        throw new OskError(`apt knows no package ${missing.join(', ')} (needed by the guest image)`, {
          hint: "the guest is built from Debian 12's packages: the host's apt sources must reach a Debian mirror",
        });
      return closure(roots, known, notFollowed).packages;
    }
    for (const n of ask) asked.add(n);
    for (const s of await show(apt, ask)) known.set(s.name, s);
  }
  throw new OskError('the dependencies of the guest packages did not settle in 20 rounds');
}

/** Downloads each package at its resolved version into `dir` (kept: a later build reuses them). */
export async function download(apt: PrivateApt, packages: readonly Stanza[], dir: string): Promise<string[]> {
  await mkdir(dir, { recursive: true });
  const files = packages.map((p) => join(dir, debFileName(p)));
  const present = await Promise.all(
    files.map((f) =>
      access(f).then(
        () => true,
        () => false,
      ),
    ),
  );
  const wanted = packages.filter((_, i) => !present[i]).map((p) => `${p.name}=${p.version}`);
  if (wanted.length)
    await run(['apt-get', ...apt.options, '-q', 'download', ...wanted], {
      env: ENV,
      cwd: dir,
      what: `apt-get download ${wanted.join(' ')}`,
    });
  return files;
}
