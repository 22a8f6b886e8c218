/**
 * Which Debian packages the guest is made of: the named ones and what they depend on, read from
 * apt's own records (`apt-cache show` stanzas) so that the versions, and with them the image's
 * cache key, are exactly the ones downloaded. Pure: the I/O is apt.ts.
 */

export interface Stanza {
  name: string;
  version: string;
  /** amd64, or all for a package of any architecture. */
  arch: string;
  /** The first alternative of each Depends and Pre-Depends entry, without version or arch. */
  depends: string[];
}

/** `apt-cache show` output → stanzas (the first one of each package: the candidate with --no-all-versions). */
export function parseStanzas(text: string): Stanza[] {
  const out: Stanza[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const field = (name: string) => {
      const m = new RegExp(`^${name}:[ \\t]*(.*(?:\\n[ \\t].*)*)`, 'm').exec(block);
      return m ? m[1]!.replace(/\n[ \t]+/g, ' ').trim() : '';
    };
    const name = field('Package');
    if (!name || out.some((s) => s.name === name)) continue;
    const depends = [field('Pre-Depends'), field('Depends')]
      .flatMap((d) => d.split(','))
      .map((d) =>
        d
          .split('|')[0]!
          .replace(/\(.*?\)|\[.*?\]/g, '')
          .trim()
          .replace(/:any$/, ''),
      )
      .filter(Boolean);
    out.push({ name, version: field('Version'), arch: field('Architecture'), depends: [...new Set(depends)] });
  }
  return out;
}

/**
 * The packages reached from `roots` through their dependencies, minus `notFollowed` and what
 * they alone pull in; `known` is what apt said of each name so far. Names it has nothing on are
 * `missing`: the caller asks apt of them, or fails (a virtual package, which these do not use).
 */
export function closure(
  roots: readonly string[],
  known: ReadonlyMap<string, Stanza>,
  notFollowed: readonly string[],
): { packages: Stanza[]; missing: string[] } {
  const seen = new Set<string>();
  const missing: string[] = [];
  const packages: Stanza[] = [];
  const queue = [...roots];
  while (queue.length) {
    const name = queue.shift()!;
    if (seen.has(name) || notFollowed.includes(name)) continue;
    seen.add(name);
    const s = known.get(name);
    if (!s) {
      missing.push(name);
      continue;
    }
    packages.push(s);
    queue.push(...s.depends);
  }
  packages.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { packages, missing };
}

/** `apt-get download` names a file <name>_<version with : as %3a>_<arch>.deb. */
export function debFileName(s: Stanza): string {
  return `${s.name}_${s.version.replaceAll(':', '%3a')}_${s.arch}.deb`;
}
