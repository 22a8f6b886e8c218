/**
 * What the build needs of this host: root (debootstrap, chroot and mounts need it), the tools
 * (each named with the Debian package that has it), and the Debian mirror, taken from the host's
 * own apt sources because that is the mirror this host can reach.
 */
import { constants } from 'node:fs';
import { access, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ExitCode, OskError } from '../errors.js';

/** Each tool and the Debian package it comes in. */
const TOOLS = {
  debootstrap: 'debootstrap',
  umoci: 'umoci',
  skopeo: 'skopeo',
  chroot: 'coreutils',
  mount: 'mount',
  ctr: 'containerd',
  // The guest image (guest/build.ts).
  'apt-get': 'apt',
  'apt-cache': 'apt',
  'dpkg-deb': 'dpkg',
  'mkfs.fat': 'dosfstools',
  mcopy: 'mtools',
  syslinux: 'syslinux',
  'qemu-img': 'qemu-utils',
} as const;
export type Tool = keyof typeof TOOLS;

const PATH_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

async function onPath(tool: string): Promise<boolean> {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...PATH_DIRS];
  for (const d of dirs) {
    try {
      await access(join(d, tool), constants.X_OK);
      return true;
    } catch {
      // Not in this directory.
    }
  }
  return false;
}

/** The tools that are not installed (empty when all are). */
export async function missingTools(tools: readonly Tool[]): Promise<Tool[]> {
  const found = await Promise.all(tools.map(onPath));
  return tools.filter((_, i) => !found[i]);
}

/** Refuses to start without root or without a tool, saying what to install. */
export async function checkHost(tools: readonly Tool[]): Promise<void> {
  if (process.getuid?.() !== 0)
    throw new OskError('osk images build must run as root: debootstrap, chroot and the mounts of the build need it', {
      exitCode: ExitCode.invalidInput,
      hint: 'run it again as root (sudo osk images build …)',
    });
  await checkTools(tools, 'the image build');
}

/** Refuses to start without a tool, naming the Debian packages to install. */
export async function checkTools(tools: readonly Tool[], what: string): Promise<void> {
  const missing = await missingTools(tools);
  if (missing.length) {
    const packages = [...new Set(missing.map((t) => TOOLS[t]))];
    throw new OskError(
      `${what} needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`,
      {
        exitCode: ExitCode.invalidInput,
        hint: `install ${packages.length === 1 ? 'the Debian package' : 'the Debian packages'}: apt-get install --no-install-recommends ${packages.join(' ')}`,
      },
    );
  }
}

export interface Mirrors {
  /** The Debian archive (suites <suite> and <suite>-updates). */
  archive: string;
  /** The security archive (<suite>-security). */
  security: string;
}

const DEFAULT_MIRRORS: Mirrors = {
  archive: 'http://deb.debian.org/debian',
  security: 'http://deb.debian.org/debian-security',
};

/**
 * The Debian mirrors of apt sources (deb822 `.sources` stanzas or one-line `deb` entries): the
 * first `deb` source of a plain suite and the first of a -security suite. Pure: tests give text.
 */
export function mirrorsOf(texts: readonly string[]): Mirrors {
  const entries: { uri: string; suites: string[] }[] = [];
  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const field = (name: string) =>
        new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(stanza.replace(/^#.*$/gm, ''))?.[1]?.trim().split(/\s+/) ?? [];
      if (field('Types').includes('deb'))
        for (const uri of field('URIs')) entries.push({ uri, suites: field('Suites') });
    }
    for (const m of text.matchAll(/^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/gm))
      entries.push({ uri: m[1]!, suites: [m[2]!] });
  }
  const isSecurity = (s: string) => s.endsWith('-security') || s.endsWith('/updates');
  const archive = entries.find((e) => e.suites.some((s) => !isSecurity(s) && !s.includes('-')))?.uri;
  const security = entries.find((e) => e.suites.some(isSecurity))?.uri;
  return {
    archive: (archive ?? DEFAULT_MIRRORS.archive).replace(/\/$/, ''),
    security: (security ?? DEFAULT_MIRRORS.security).replace(/\/$/, ''),
  };
}

/** The mirrors this host's apt uses. */
export async function hostMirrors(etcApt = '/etc/apt'): Promise<Mirrors> {
  const texts: string[] = [];
  const read = async (p: string) => texts.push(await readFile(p, 'utf8').catch(() => ''));
  await read(join(etcApt, 'sources.list'));
  const dir = join(etcApt, 'sources.list.d');
  for (const f of (await readdir(dir).catch(() => [] as string[])).sort())
    if (f.endsWith('.sources') || f.endsWith('.list')) await read(join(dir, f));
  return mirrorsOf(texts);
}

/** The apt sources an image's root uses: the suite, its updates and its security updates. */
export function sourcesFor(m: Mirrors, suite: string): string {
  const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  return [
    `Types: deb\nURIs: ${m.archive}\nSuites: ${suite} ${suite}-updates\nComponents: main\nSigned-By: ${keyring}\n`,
    `Types: deb\nURIs: ${m.security}\nSuites: ${suite}-security\nComponents: main\nSigned-By: ${keyring}\n`,
  ].join('\n');
}
