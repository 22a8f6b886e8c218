/**
 * oslo.config INI files, hand-written because oslo's parser has rules generic INI libraries
 * break (see ../shared/research/stack.md I1): no escapes, outer quotes stripped, `$` is
 * substitution (so a literal `$` is `$$`), a leading space continues the previous line,
 * list options are comma-joined and multi-string options are repeated keys.
 *
 * A config is built as a model: every value may carry the references it makes (to another
 * component's Service, or to a catalog entry in Keystone) and whether it is secret. The model
 * renders to two files: the main file (in a ConfigMap) and a secrets file with only the secret
 * values (in a Secret); oslo reads both with two --config-file flags, the later one winning.
 */

import { ExitCode, OskError } from '../errors.js';
import { oneLine } from './one-line.js';

/** Something a config value points at; each one becomes an edge of the plan. */
export interface Ref {
  /** Component id, e.g. "mariadb" or "keystone-api". */
  target: string;
  /** `needs`: the target must be ready first; `calls`: talks to it at run time, no ordering. */
  kind: 'needs' | 'calls';
  /** Port the connection goes to (network edges), if any. */
  port?: number;
  /** How the reference is made, e.g. "host mariadb.openstack.svc" or "catalog type=placement". */
  via: string;
}

type IniScalar = string | number | boolean;
export interface IniEntry {
  value: IniScalar | IniScalar[];
  /** Repeated key (MultiStrOpt) instead of a comma-joined list. */
  multi?: boolean;
  secret?: boolean;
  refs?: Ref[];
  /** Written as is: the value uses oslo's own `$option` substitution on purpose. */
  raw?: boolean;
  /** First release that has this option; dropped when rendering for an older one. */
  since?: OsRelease;
}

/** Releases osk knows, oldest first: Zed (Debian 12's packages, the all-in-one target) and the
 * releases whose images the Kubernetes target pins. */
const OS_RELEASES = ['zed', '2024.2', '2025.1', '2025.2'] as const;
export type OsRelease = (typeof OS_RELEASES)[number];
export function releaseAtLeast(release: OsRelease, min: OsRelease): boolean {
  return OS_RELEASES.indexOf(release) >= OS_RELEASES.indexOf(min);
}

export class IniDoc {
  readonly sections = new Map<string, Map<string, IniEntry>>();
  constructor(
    readonly fileName: string,
    readonly release: OsRelease,
  ) {}

  set(section: string, key: string, value: IniScalar | IniScalar[], opts: Omit<IniEntry, 'value'> = {}): this {
    if (/[:=\s]/.test(key) || key === '') throw new Error(`invalid oslo option name "${key}"`);
    // A section name comes from the cloud file for backends ([<backend name>]): it must stay one header.
    if (section === '' || section.includes(']'))
      throw new OskError(`${this.fileName}: "${section}" cannot be an INI section name`, {
        exitCode: ExitCode.invalidInput,
        hint: 'a section name is one line without "]"',
      });
    oneLine(`${this.fileName} [${section}]`, section);
    if (opts.since && !releaseAtLeast(this.release, opts.since)) return this;
    // Refused when the model is built (validate and plan too, not only render): a value with a
    // newline would be written as a second line, i.e. an option nobody set.
    for (const v of Array.isArray(value) ? value : [value])
      formatValue(v, 'oslo', opts.raw, `${this.fileName} [${section}] ${key}`);
    let s = this.sections.get(section);
    if (!s) {
      s = new Map();
      this.sections.set(section, s);
    }
    s.set(key, { value, ...opts });
    return this;
  }

  /** Set many keys of one section at once. */
  section(section: string, values: Record<string, IniScalar | IniScalar[] | IniEntry>): this {
    for (const [k, v] of Object.entries(values)) {
      if (typeof v === 'object' && !Array.isArray(v)) this.set(section, k, v.value, v);
      else this.set(section, k, v);
    }
    return this;
  }

  get(section: string, key: string): IniEntry | undefined {
    return this.sections.get(section)?.get(key);
  }

  *entries(): Generator<{ section: string; key: string; entry: IniEntry }> {
    for (const [section, keys] of this.sections) for (const [key, entry] of keys) yield { section, key, entry };
  }

  /** References made by the values, optionally only those of some sections. */
  refs(sections?: readonly string[]): (Ref & { from: string })[] {
    const out: (Ref & { from: string })[] = [];
    for (const { section, key, entry } of this.entries()) {
      if (sections && !sections.includes(section)) continue;
      for (const r of entry.refs ?? []) out.push({ ...r, from: `${this.fileName} [${section}] ${key}` });
    }
    return out;
  }

  /** The file without secret values. */
  renderPublic(dialect: Dialect = 'oslo'): string {
    return render(this, (e) => !e.secret, dialect);
  }

  /** Public and secret values in one file (the all-in-one target writes it 0600). */
  renderAll(dialect: Dialect = 'oslo'): string {
    return render(this, () => true, dialect);
  }

  /** Only the secret values (empty string when there are none). */
  renderSecrets(dialect: Dialect = 'oslo'): string {
    return render(this, (e) => e.secret === true, dialect);
  }

  hasSecrets(): boolean {
    for (const { entry } of this.entries()) if (entry.secret) return true;
    return false;
  }
}

type Dialect = 'oslo' | 'paste';

function render(doc: IniDoc, keep: (e: IniEntry) => boolean, dialect: Dialect): string {
  // [DEFAULT] first, then sections and keys in insertion order: the catalog writes them in a
  // reading order, and a stable order keeps re-renders byte-identical.
  const names = [...doc.sections.keys()].sort((a, b) => (a === 'DEFAULT' ? -1 : b === 'DEFAULT' ? 1 : 0));
  const out: string[] = [];
  for (const name of names) {
    const lines: string[] = [];
    for (const [key, entry] of doc.sections.get(name)!) {
      if (!keep(entry)) continue;
      const values = Array.isArray(entry.value) ? entry.value : [entry.value];
      const where = `${doc.fileName} [${name}] ${key}`;
      if (entry.multi) for (const v of values) lines.push(`${key} = ${formatValue(v, dialect, entry.raw, where)}`);
      else lines.push(`${key} = ${values.map((v) => formatValue(v, dialect, entry.raw, where)).join(',')}`);
    }
    if (lines.length > 0) out.push(`[${name}]`, ...lines, '');
  }
  return out.join('\n');
}

/**
 * One value as the file holds it. A value that cannot be written faithfully (a control character
 * would start a new line; outer quotes would be stripped by oslo, which has no escape for them)
 * is refused with the user-facing error naming `where` (file, section and key), exit 2.
 */
export function formatValue(v: IniScalar, dialect: Dialect, raw = false, where = 'an INI value'): string {
  let s = typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
  oneLine(where, s);
  if (s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0]) {
    throw new OskError(
      `${where}: the value ${s} starts and ends with the same quote, which oslo would strip (it has no escape for them)`,
      {
        exitCode: ExitCode.invalidInput,
        hint: 'remove the outer quotes in the cloud file field that sets it',
      },
    );
  }
  if (raw) return s;
  if (dialect === 'oslo') s = s.replace(/\$/g, '$$$$');
  else s = s.replace(/%/g, '%%');
  return s;
}
