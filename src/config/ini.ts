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
import { isOneLine, oneLine } from './one-line.js';

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
  /**
   * The files already rendered, by part and dialect, until the next set(): a workload's files
   * are rendered once for their content and once more for the hash that restarts its pods.
   */
  private readonly rendered = new Map<string, string>();
  constructor(
    readonly fileName: string,
    readonly release: OsRelease,
  ) {}

  set(section: string, key: string, value: IniScalar | IniScalar[], opts: Omit<IniEntry, 'value'> = {}): this {
    if (/[:=\s]/.test(key) || key === '') throw new Error(`invalid oslo option name "${key}"`);
    let s = this.sections.get(section);
    if (!s) {
      // A section name comes from the cloud file for backends ([<backend name>]): it must stay one header.
      if (section === '' || section.includes(']'))
        throw new OskError(`${this.fileName}: "${section}" cannot be an INI section name`, {
          exitCode: ExitCode.invalidInput,
          hint: 'a section name is one line without "]"',
        });
      oneLine(`${this.fileName} [${section}]`, section);
    }
    if (opts.since && !releaseAtLeast(this.release, opts.since)) return this;
    // Refused when the model is built (validate and plan too, not only render): a value with a
    // newline would be written as a second line, i.e. an option nobody set. Checked here once:
    // the files are rendered from what was set, without checking again.
    if (Array.isArray(value)) for (const v of value) checkValue(v, this.fileName, section, key);
    else checkValue(value, this.fileName, section, key);
    if (!s) {
      s = new Map();
      this.sections.set(section, s);
    }
    s.set(key, { value, ...opts });
    this.rendered.clear();
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
    // Loops over the maps rather than entries(): the plan asks every file for its references,
    // and a generator is slow in code that has not been optimised yet (a one-shot command's).
    for (const [section, keys] of this.sections) {
      if (sections && !sections.includes(section)) continue;
      for (const [key, entry] of keys)
        if (entry.refs) for (const r of entry.refs) out.push({ ...r, from: `${this.fileName} [${section}] ${key}` });
    }
    return out;
  }

  /** The file without secret values. */
  renderPublic(dialect: Dialect = 'oslo'): string {
    return this.renderPart('public', dialect);
  }

  /** Public and secret values in one file (the all-in-one target writes it 0600). */
  renderAll(dialect: Dialect = 'oslo'): string {
    return this.renderPart('all', dialect);
  }

  /** Only the secret values (empty string when there are none). */
  renderSecrets(dialect: Dialect = 'oslo'): string {
    return this.renderPart('secrets', dialect);
  }

  hasSecrets(): boolean {
    for (const keys of this.sections.values()) for (const entry of keys.values()) if (entry.secret) return true;
    return false;
  }

  private renderPart(part: Part, dialect: Dialect): string {
    const id = `${part} ${dialect}`;
    let text = this.rendered.get(id);
    if (text === undefined) {
      text = render(this, part, dialect);
      this.rendered.set(id, text);
    }
    return text;
  }
}

type Dialect = 'oslo' | 'paste';
/** Which values a rendered file holds: all, those that are not secret, or only the secret ones. */
type Part = 'all' | 'public' | 'secrets';

function render(doc: IniDoc, part: Part, dialect: Dialect): string {
  // [DEFAULT] first, then sections and keys in insertion order: the catalog writes them in a
  // reading order, and a stable order keeps re-renders byte-identical.
  const out: string[] = [];
  const defaults = doc.sections.get('DEFAULT');
  if (defaults) renderSection(out, 'DEFAULT', defaults, part, dialect);
  for (const [name, keys] of doc.sections) if (name !== 'DEFAULT') renderSection(out, name, keys, part, dialect);
  return out.join('\n');
}

/** The section's lines, a blank line after them, when it has values of that part. */
function renderSection(out: string[], name: string, keys: Map<string, IniEntry>, part: Part, dialect: Dialect): void {
  let header = false;
  for (const [key, entry] of keys) {
    if (part === 'public' ? entry.secret : part === 'secrets' ? entry.secret !== true : false) continue;
    if (!header) {
      out.push(`[${name}]`);
      header = true;
    }
    const raw = entry.raw ?? false;
    const { value } = entry;
    if (!Array.isArray(value)) out.push(`${key} = ${escaped(value, dialect, raw)}`);
    else if (entry.multi) for (const v of value) out.push(`${key} = ${escaped(v, dialect, raw)}`);
    else out.push(`${key} = ${value.map((v) => escaped(v, dialect, raw)).join(',')}`);
  }
  if (header) out.push('');
}

/** A value checked when it was set, as the file holds it: `$` (oslo) or `%` (paste) doubled unless raw. */
function escaped(v: IniScalar, dialect: Dialect, raw: boolean): string {
  const s = typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
  if (raw) return s;
  if (dialect === 'oslo') return s.includes('$') ? s.replace(/\$/g, '$$$$') : s;
  return s.includes('%') ? s.replace(/%/g, '%%') : s;
}

/** set()'s check of one value, naming the file, section and key only when it fails. */
function checkValue(v: IniScalar, fileName: string, section: string, key: string): void {
  if (typeof v !== 'string' || (isOneLine(v) && !quotedAtBothEnds(v))) return;
  formatValue(v, 'oslo', false, `${fileName} [${section}] ${key}`);
}

/** What formatValue refuses besides control characters, tested first so that a good value costs no message. */
const quotedAtBothEnds = (s: string) => s.length >= 2 && (s[0] === '"' || s[0] === "'") && s[s.length - 1] === s[0];

/**
 * One value as the file holds it. A value that cannot be written faithfully (a control character
 * would start a new line; outer quotes would be stripped by oslo, which has no escape for them)
 * is refused with the user-facing error naming `where` (file, section and key), exit 2.
 */
export function formatValue(v: IniScalar, dialect: Dialect, raw = false, where = 'an INI value'): string {
  const s = typeof v === 'boolean' ? (v ? 'true' : 'false') : String(v);
  oneLine(where, s);
  if (quotedAtBothEnds(s)) {
    throw new OskError(
      `${where}: the value ${s} starts and ends with the same quote, which oslo would strip (it has no escape for them)`,
      {
        exitCode: ExitCode.invalidInput,
        hint: 'remove the outer quotes in the cloud file field that sets it',
      },
    );
  }
  return escaped(v, dialect, raw);
}
