/**
 * Check generated oslo.config INI files against the REAL option definitions
 * shipped by Debian bookworm's OpenStack Zed packages (see
 * scripts/install-oslo-validator.sh), using `oslo-config-validator` from
 * python3-oslo.config 9.0.0; or, with `release: '2025.1'` after
 * prepareOsloRelease, against Debian trixie's 2025.1 packages: their
 * oslo-config-generator runs in a root of its own (oslo-root.ts, chroot) and
 * writes the opt-data this validator reads.
 *
 * Facts about oslo-config-validator 9.0.0 that shape this helper (checked on
 * bookworm, see also the comments at the call sites):
 *
 * - It validates exactly ONE file, given as `--input-file` (a StrOpt: a second
 *   `--input-file` silently replaces the first). `--config-file` is NOT the
 *   file to check: it is the validator's own oslo.config file (it could carry
 *   `namespace = ...`), so passing the service config there only yields
 *   "RequiredOptError: value required for option input-file". We therefore
 *   run the validator once per file (main file, secrets file, ...). That is
 *   equivalent to checking the merged config, because the validator only
 *   checks names per [group], never relations between options.
 * - `--namespace NS` (repeatable) loads the `oslo.config.opts` entry points
 *   in-process; `--opt-data FILE` instead reads the machine-readable output of
 *   `oslo-config-generator --format yaml|json` (read with yaml.safe_load, so
 *   JSON works). Loading namespaces costs 0.4-4.9 s per run (cinder is the
 *   slowest), reading opt-data 0.4-1.1 s, so we generate JSON opt-data once
 *   per kind into a cache under os.tmpdir() and pass `--opt-data`.
 * - An unknown namespace is NOT an error: stevedore logs
 *   "WARNING:stevedore.named:Could not load X" and the tool goes on with fewer
 *   options (that warning is also printed spuriously for cinder, whose driver
 *   options make the generator re-query the namespaces). We therefore check
 *   that every namespace contributed options to the generated opt-data.
 * - Output goes to stderr through Python logging as `LEVEL:root:message`:
 *     ERROR:root:<group>/<opt> is not part of the sample config
 *       - an unknown option, and also every option of an unknown group
 *         (an unknown group with no options is not reported at all);
 *     WARNING:root:Deprecated opt <group>/<opt> found
 *       - a deprecated *name* (e.g. [DEFAULT] api_paste_config, moved to
 *         [wsgi] in nova). Quirk: also printed for a CURRENT name when an
 *         option lists itself as its own deprecated alias, e.g. oslo.messaging
 *         [DEFAULT] rpc_conn_pool_size; we drop those false positives;
 *     INFO:root:Ignoring missing option "<opt>" from group "keystone_authtoken" ...
 *       - [keystone_authtoken] is hard-coded as KNOWN_BAD_GROUPS: unknown
 *         options there are never errors, because the keystoneauth plugin
 *         options (auth_url, username, password, project_name, ...) are only
 *         registered at runtime from `auth_type`. We add those plugin options
 *         for the auth_type used in the files, and then treat every remaining
 *         "Ignoring missing option" line as an error.
 * - Exit codes: 0 = no error (deprecation warnings alone still exit 0 unless
 *   `--fatal-warnings`), 1 = at least one unknown option, and also 1 with a
 *   Python traceback for a file it cannot read or parse
 *   (oslo_config.cfg.ParseError: "No ':' or '=' found in assignment").
 * - It does NOT check value types, choices, ranges or required options:
 *   `[vnc] enabled = notabool` passes. Only option and group names are
 *   checked. (`--check-defaults` merely compares values with the sample
 *   defaults and reports differences as warnings.)
 * - Options registered at runtime are invisible to the generator. Handled
 *   here: keystoneauth plugin options in any group that has `auth_type`
 *   (keystone_authtoken, nova [neutron]/[placement]/..., neutron [nova], ...);
 *   cinder backend sections named by [DEFAULT] enabled_backends (validated
 *   against [backend_defaults]); glance multi-store sections named by
 *   [DEFAULT] enabled_backends (validated against the store driver's
 *   options) and the reserved [os_glance_staging_store] /
 *   [os_glance_tasks_store]; cinder [service_user] auth_type/auth_section
 *   (RUNTIME_OPTS). Anything else dynamic can be skipped with
 *   `excludeGroups` (passed on as `--exclude-group`).
 * - neutron_ovn_metadata_agent.ini: upstream's generator config
 *   (etc/oslo-config-generator/neutron_ovn_metadata_agent.ini) lists only
 *   neutron.ovn.metadata.agent and oslo.log, i.e. [DEFAULT] and [ovs]. The
 *   agent itself (neutron/agent/ovn/metadata_agent.py) also registers the
 *   ML2/OVN options (ovn_conf.register_opts: [ovn], [ovs]) and, through
 *   neutron.agent.common.utils, [agent] root_helper & co., and through
 *   config.register_common_config_options neutron's core options
 *   ([DEFAULT] state_path, where the agent keeps haproxy's files), so
 *   oslo-namespaces.json adds neutron.ml2.ovn, neutron.agent and neutron.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, delimiter, join } from 'node:path';

type OsloKind =
  | 'keystone.conf'
  | 'glance-api.conf'
  | 'placement.conf'
  | 'nova.conf'
  | 'neutron.conf'
  | 'ml2_conf.ini'
  | 'neutron_ovn_metadata_agent.ini'
  | 'cinder.conf'
  | 'octavia.conf';

const KINDS: readonly OsloKind[] = [
  'keystone.conf',
  'glance-api.conf',
  'placement.conf',
  'nova.conf',
  'neutron.conf',
  'ml2_conf.ini',
  'neutron_ovn_metadata_agent.ini',
  'cinder.conf',
  'octavia.conf',
];

function loadNamespaces(): Record<OsloKind, readonly string[]> {
  const raw: unknown = JSON.parse(readFileSync(new URL('./oslo-namespaces.json', import.meta.url), 'utf8'));
  if (typeof raw !== 'object' || raw === null) throw new Error('oslo-namespaces.json: not an object');
  const table = raw as Record<string, unknown>;
  const out = {} as Record<OsloKind, readonly string[]>;
  for (const kind of KINDS) {
    const list = table[kind];
    if (!Array.isArray(list) || list.length === 0 || !list.every((n) => typeof n === 'string')) {
      throw new Error(`oslo-namespaces.json: "${kind}" must be a non-empty list of strings`);
    }
    out[kind] = Object.freeze([...(list as string[])]);
  }
  return Object.freeze(out);
}

/** oslo-config-generator namespaces per config file kind (test/support/oslo-namespaces.json). */
export const namespaces: Readonly<Record<OsloKind, readonly string[]>> = loadNamespaces();

interface OsloValidationResult {
  /** true when no file has an unknown/misspelled/deprecated option or group. */
  ok: boolean;
  /** One line per problem: `<file>: [group] option: reason`. */
  errors: string[];
  /**
   * Not failures: options that are valid in Zed but marked deprecated for
   * removal (the validator says nothing about them), and deprecated names
   * when `allowDeprecated` is set (otherwise those are errors).
   */
  warnings: string[];
  /** Raw validator output of every run, each headed by `== <file> ==`. */
  output: string;
}

interface OsloValidateOptions {
  /** Groups not to validate (dynamically named groups), passed as --exclude-group. */
  excludeGroups?: readonly string[];
  /** Report deprecated option names as warnings instead of errors. Default false. */
  allowDeprecated?: boolean;
  /** The release whose option definitions apply (default zed; others need prepareOsloRelease). */
  release?: OsloRelease;
}

// ---------------------------------------------------------------------------
// Locating the tools

const CACHE_FORMAT = 2;

function findExecutable(name: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  dirs.push('/usr/bin', '/usr/local/bin');
  for (const dir of dirs) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

interface Tools {
  validator: string;
  /** argv prefixes: the host's programs, or the same programs in a release's root (chroot). */
  generator: string[];
  python: string[];
  /** The root the generator runs in (its output file is written there), for a release's root. */
  root?: string;
  /** What the cached opt-data depends on besides the namespaces. */
  stamp: string;
}

/**
 * The releases whose option definitions the files can be checked against: Zed from the host's
 * Debian 12 packages (scripts/install-oslo-validator.sh), 2025.1 from a Debian 13 root
 * (oslo-root.ts; prepareOsloRelease builds it).
 */
export type OsloRelease = 'zed' | '2025.1';
const releaseTools = new Map<OsloRelease, Tools>();

/** Makes a release's definitions available (2025.1: builds or reuses its Debian 13 root; root only). */
export async function prepareOsloRelease(release: OsloRelease): Promise<void> {
  if (release === 'zed' || releaseTools.has(release)) return;
  const host = hostTools();
  if (!host) throw new Error('oslo-config-validator is not installed (run scripts/install-oslo-validator.sh)');
  const { ensureOsloRoot } = await import('./oslo-root.js');
  const { root, id } = await ensureOsloRoot('trixie');
  releaseTools.set(release, {
    validator: host.validator,
    generator: ['chroot', root, 'oslo-config-generator'],
    python: ['chroot', root, 'python3'],
    root,
    stamp: `root ${id}`,
  });
}

function tools(release: OsloRelease = 'zed'): Tools | null {
  if (release === 'zed') return hostTools();
  const t = releaseTools.get(release);
  if (!t) throw new Error(`call prepareOsloRelease('${release}') first`);
  return t;
}

let toolsMemo: Tools | null | undefined;

function dpkgStamp(): string {
  // Invalidate whenever dpkg installs/upgrades anything.
  try {
    const st = statSync('/var/lib/dpkg/status');
    return `${st.mtimeMs}:${st.size}`;
  } catch {
    return 'no-dpkg'; // not Debian: rely on the tool paths only
  }
}

function hostTools(): Tools | null {
  if (toolsMemo !== undefined) return toolsMemo;
  const validator = findExecutable('oslo-config-validator');
  const generator = findExecutable('oslo-config-generator');
  let python: string | undefined;
  if (generator) {
    // The console scripts start with `#! /usr/bin/python3`; use the same
    // interpreter (not whatever `python3` is first on PATH, e.g. pyenv).
    const first = readFileSync(generator, 'utf8').split('\n', 1)[0] ?? '';
    const m = /^#!\s*(\S+)/.exec(first);
    if (m?.[1] && !m[1].endsWith('/env')) python = m[1];
  }
  python ??= findExecutable('python3');
  toolsMemo =
    validator && generator && python
      ? { validator, generator: [generator], python: [python], stamp: `${generator} ${python} ${dpkgStamp()}` }
      : null;
  return toolsMemo;
}

/** True when oslo-config-validator and oslo-config-generator are installed. */
export function osloValidatorAvailable(): boolean {
  return hostTools() !== null;
}

// ---------------------------------------------------------------------------
// Running processes (execFile, never a shell)

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, LC_ALL: 'C.UTF-8', PYTHONWARNINGS: 'ignore' };
  // The Debian tools must use Debian's site-packages only.
  delete env.PYTHONPATH;
  delete env.PYTHONHOME;
  delete env.PYTHONSTARTUP;
  return env;
}

function run(argv: readonly string[], timeoutMs = 180_000): Promise<RunResult> {
  const [file, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    execFile(
      file,
      args,
      { env: childEnv(), maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs, encoding: 'utf8' },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(new Error(`${basename(file)} failed to run: ${error.message}\n${stderr}`));
          return;
        }
        resolve({ code: error ? Number(error.code) : 0, stdout, stderr });
      },
    );
  });
}

// ---------------------------------------------------------------------------
// Opt-data (oslo-config-generator --format json), cached under os.tmpdir()

interface OptEntry {
  name: string;
  dest?: string;
  namespace?: string;
  [key: string]: unknown;
}
interface DeprecatedEntry {
  name: string;
  replacement_group?: string;
  replacement_name?: string;
}
interface OptData {
  options: Record<string, { opts: OptEntry[]; [key: string]: unknown }>;
  deprecated_options: Record<string, DeprecatedEntry[]>;
  [key: string]: unknown;
}

function cacheDir(release: OsloRelease): string {
  const t = tools(release);
  const key = createHash('sha256')
    .update(JSON.stringify({ CACHE_FORMAT, release, stamp: t?.stamp, namespaces }))
    .digest('hex')
    .slice(0, 16);
  return join(tmpdir(), 'osk-oslo-validator', key);
}

async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

async function readCachedJson<T>(path: string, check: (v: unknown) => v is T): Promise<T | undefined> {
  try {
    const v: unknown = JSON.parse(await readFile(path, 'utf8'));
    return check(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

function isOptData(v: unknown): v is OptData {
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof (v as OptData).options === 'object' &&
    typeof (v as OptData).deprecated_options === 'object'
  );
}

const optDataMemo = new Map<string, Promise<{ path: string; data: OptData }>>();

function optData(kind: OsloKind, release: OsloRelease): Promise<{ path: string; data: OptData }> {
  const key = `${release}/${kind}`;
  let p = optDataMemo.get(key);
  if (!p) {
    p = buildOptData(kind, release);
    p.catch(() => optDataMemo.delete(key));
    optDataMemo.set(key, p);
  }
  return p;
}

async function buildOptData(kind: OsloKind, release: OsloRelease): Promise<{ path: string; data: OptData }> {
  const t = tools(release);
  if (!t) throw new Error('oslo-config-validator is not installed (scripts/install-oslo-validator.sh)');
  const dir = cacheDir(release);
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${kind}.json`);
  const cached = await readCachedJson(path, isOptData);
  if (cached) return { path, data: cached };

  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  // In a release's root the generator writes inside it; the file is read from there.
  const inside = t.root ? `/tmp/${basename(tmp)}` : tmp;
  const written = t.root ? join(t.root, inside) : tmp;
  const args = ['--format', 'json', '--output-file', inside];
  for (const ns of namespaces[kind]) args.push('--namespace', ns);
  const r = await run([...t.generator, ...args]);
  if (r.code !== 0) {
    await rm(written, { force: true });
    throw new Error(`oslo-config-generator failed for ${kind} (exit ${r.code}):\n${r.stderr}`);
  }
  if (written !== tmp) await rename(written, tmp);
  const data: unknown = JSON.parse(await readFile(tmp, 'utf8'));
  if (!isOptData(data)) throw new Error(`oslo-config-generator wrote unexpected data for ${kind}`);
  // A namespace that does not exist or fails to import only gives a stevedore
  // warning; make it fatal by checking that each one contributed options.
  const seen = new Set<string>();
  for (const group of Object.values(data.options)) {
    for (const opt of group.opts) if (opt.namespace) seen.add(opt.namespace);
  }
  const missing = namespaces[kind].filter((ns) => !seen.has(ns));
  if (missing.length > 0) {
    await rm(tmp, { force: true });
    throw new Error(`namespaces of ${kind} did not load: ${missing.join(', ')}\n${r.stderr}`);
  }
  await rename(tmp, path);
  return { path, data };
}

type AuthPlugins = Record<string, string[]>;

function isAuthPlugins(v: unknown): v is AuthPlugins {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The key of AUTH_PLUGINS_PY's answer that lists keystoneauth's session and adapter options. */
const KSA_GROUP = '@session+adapter';

// Option names of every keystoneauth1 plugin (what `auth_type = X` registers
// at runtime), with both the dashed name, the dest and deprecated names.
const AUTH_PLUGINS_PY = `
import json, warnings
warnings.simplefilter("ignore")
from keystoneauth1 import loading
out = {}
for plugin in sorted(loading.get_available_plugin_names()):
    try:
        opts = loading.get_plugin_options(plugin)
    except Exception:
        continue
    names = set()
    for o in opts:
        for n in [o.name, o.dest] + [d.name for d in o.deprecated]:
            if n:
                names.add(n)
                names.add(n.replace("-", "_"))
    out[plugin] = sorted(names)
# What register_session_conf_options + register_adapter_conf_options(include_deprecated=False)
# add to a group (and auth_type/auth_section), under a key no plugin has.
names = set()
for o in (loading.get_auth_common_conf_options() + loading.get_session_conf_options()
          + loading.get_adapter_conf_options(include_deprecated=False)):
    for n in [o.name, o.dest]:
        if n:
            names.add(n.replace("-", "_"))
out[${JSON.stringify(KSA_GROUP)}] = sorted(names)
print(json.dumps(out))
`;

const authPluginsMemo = new Map<OsloRelease, Promise<AuthPlugins>>();

function authPlugins(release: OsloRelease): Promise<AuthPlugins> {
  let p = authPluginsMemo.get(release);
  if (p) return p;
  p = (async () => {
    const t = tools(release);
    if (!t) throw new Error('oslo-config-validator is not installed');
    const dir = cacheDir(release);
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'keystoneauth-plugins.json');
    const cached = await readCachedJson(path, isAuthPlugins);
    if (cached) return cached;
    const r = await run([...t.python, '-c', AUTH_PLUGINS_PY]);
    if (r.code !== 0) throw new Error(`listing keystoneauth plugins failed:\n${r.stderr}`);
    const plugins: unknown = JSON.parse(r.stdout);
    if (!isAuthPlugins(plugins)) throw new Error('unexpected keystoneauth plugin list');
    await writeAtomic(path, JSON.stringify(plugins));
    return plugins;
  })();
  p.catch(() => authPluginsMemo.delete(release));
  authPluginsMemo.set(release, p);
  return p;
}

// ---------------------------------------------------------------------------
// A minimal oslo.config INI reader (oslo_config/iniparser.py rules), used only
// to find values that decide runtime-registered options (auth_type,
// enabled_backends). The validator itself parses the files for the check.

type Sections = Map<string, Map<string, string>>;

function parseOsloIni(text: string, into: Sections): void {
  let section: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    if (/^\s*$/.test(line) || /^\s*[#;]/.test(line)) continue;
    if (/^\s/.test(line) && section && lastKey !== undefined) {
      section.set(lastKey, `${section.get(lastKey) ?? ''}\n${line.trim()}`);
      continue;
    }
    const header = /^\[([^\]]*)\]/.exec(line);
    if (header) {
      const name = (header[1] ?? '').trim();
      section = into.get(name) ?? new Map<string, string>();
      into.set(name, section);
      lastKey = undefined;
      continue;
    }
    const idx = line.search(/[=:]/);
    if (!section || idx < 0) continue; // the validator reports the parse error
    lastKey = line.slice(0, idx).trim();
    let value = line.slice(idx + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.at(-1) === value[0]) {
      value = value.slice(1, -1);
    }
    section.set(lastKey, value);
  }
}

function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

// glance_store driver entry point -> the group its options have in opt-data.
const GLANCE_STORE_GROUPS: Record<string, string> = {
  file: 'file',
  cinder: 'cinder',
  rbd: 'glance.store.rbd.store',
  http: 'glance.store.http.store',
  swift: 'glance.store.swift.store',
  s3: 'glance.store.s3.store',
  vmware: 'glance.store.vmware_datastore.store',
};

function optNames(group: { opts: OptEntry[] } | undefined): Set<string> {
  const s = new Set<string>();
  for (const o of group?.opts ?? []) {
    s.add(o.name);
    if (o.dest) s.add(o.dest);
  }
  return s;
}

// Registered at import time but missing from the generator's opt-data:
// cinder/service_auth.py calls ks_loading.register_auth_conf_options(CONF,
// 'service_user') (auth_type, auth_section), while cinder/opts.py lists only
// the password plugin and session options for [service_user].
const RUNTIME_OPTS: Partial<Record<OsloKind, Record<string, string[]>>> = {
  'cinder.conf': { service_user: ['auth_type', 'auth_section'] },
};

/**
 * Groups that get keystoneauth's auth, session and adapter options at import time, which the
 * generator's list_opts leave out: from Octavia 2023.2 on, octavia/common/config.py calls
 * register_ks_options('neutron') and the OVN provider does the same ([neutron] inherits what it
 * does not set from [service_auth]). Zed's Octavia registers none for [neutron].
 */
const KSA_GROUPS: Partial<Record<OsloRelease, Partial<Record<OsloKind, string[]>>>> = {
  '2025.1': { 'octavia.conf': ['neutron', 'service_auth'] },
};

/** Adds the groups/options that the services register at runtime. */
async function augment(
  kind: OsloKind,
  base: OptData,
  sections: Sections,
  release: OsloRelease,
): Promise<{ data: OptData; changed: boolean }> {
  const options: OptData['options'] = { ...base.options };
  let changed = false;
  const addOpts = (group: string, names: Iterable<string>, template?: OptEntry[]): void => {
    const existing = options[group];
    const known = optNames(existing);
    const extra: OptEntry[] = [...(template ?? [])].filter((o) => !known.has(o.name));
    for (const n of names) if (!known.has(n)) extra.push({ name: n, dest: n.replace(/-/g, '_') });
    if (extra.length === 0 && existing) return;
    options[group] = { ...(existing ?? {}), opts: [...(existing?.opts ?? []), ...extra] };
    changed = true;
  };

  // Options a service registers at import time but leaves out of its
  // oslo.config.opts list.
  for (const [group, names] of Object.entries(RUNTIME_OPTS[kind] ?? {})) addOpts(group, names);
  const ksaGroups = KSA_GROUPS[release]?.[kind] ?? [];
  if (ksaGroups.length) {
    const ksa = (await authPlugins(release))[KSA_GROUP] ?? [];
    for (const group of ksaGroups) addOpts(group, ksa);
  }

  // keystoneauth: `auth_type = X` in a group that has the auth_type option
  // (or keystone_authtoken) registers plugin X's options in that group.
  const plugins = [...sections.values()].some((s) => s.has('auth_type')) ? await authPlugins(release) : {};
  for (const [group, values] of sections) {
    const authType = values.get('auth_type');
    if (!authType) continue;
    if (!optNames(options[group]).has('auth_type')) continue; // unknown option: reported anyway
    const names = plugins[authType];
    if (names) addOpts(group, names);
  }

  const defaults = sections.get('DEFAULT');
  if (kind === 'cinder.conf') {
    // Each backend section takes the volume driver options ([backend_defaults]).
    for (const backend of splitList(defaults?.get('enabled_backends'))) {
      addOpts(backend, [], base.options.backend_defaults?.opts);
    }
  }
  if (kind === 'glance-api.conf') {
    const backends = splitList(defaults?.get('enabled_backends'));
    for (const entry of backends) {
      const [name, type] = entry.split(':').map((s) => s.trim());
      const group = type ? GLANCE_STORE_GROUPS[type] : undefined;
      if (name && group) addOpts(name, ['store_description'], base.options[group]?.opts);
    }
    if (backends.length > 0) {
      for (const reserved of ['os_glance_staging_store', 'os_glance_tasks_store']) {
        addOpts(reserved, [], base.options.file?.opts);
      }
    }
  }
  return { data: changed ? { ...base, options } : base, changed };
}

// ---------------------------------------------------------------------------
// Output parsing

const RE_UNKNOWN = /^ERROR:root:(.*)\/([^/]*) is not part of the sample config$/;
const RE_DEPRECATED = /^WARNING:root:Deprecated opt (.*)\/([^/]*) found$/;
const RE_IGNORED = /^INFO:root:Ignoring missing option "(.*)" from group "(.*)" because/;

function levenshtein(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0] ?? 0;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j] ?? 0;
      prev[j] = Math.min(up + 1, (prev[j - 1] ?? 0) + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length] ?? 0;
}

function suggest(word: string, candidates: Iterable<string>): string {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = levenshtein(word, c);
    if (d < bestD) {
      best = c;
      bestD = d;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 4)) ? ` (did you mean "${best}"?)` : '';
}

function explainUnknown(data: OptData, file: string, group: string, option: string): string {
  const g = data.options[group];
  if (!g) {
    return `${file}: [${group}] ${option}: unknown group "${group}"${suggest(group, Object.keys(data.options))}`;
  }
  return `${file}: [${group}] ${option}: unknown option${suggest(option, optNames(g))}`;
}

// ---------------------------------------------------------------------------

/**
 * Validate the files that together make one service config (e.g. the main
 * file and the secrets file), in order, against the option definitions of
 * `kind`. Unknown options, unknown groups and (unless allowDeprecated)
 * deprecated option names make `ok` false. Value types are NOT checked.
 */
export async function validateOsloFiles(
  kind: keyof typeof namespaces,
  files: string[],
  opts: OsloValidateOptions = {},
): Promise<OsloValidationResult> {
  const release = opts.release ?? 'zed';
  const t = tools(release);
  if (!t) throw new Error('oslo-config-validator is not installed (run scripts/install-oslo-validator.sh)');
  if (!KINDS.includes(kind)) throw new Error(`unknown config kind ${String(kind)}`);
  if (files.length === 0) throw new Error('validateOsloFiles: no files given');

  const sections: Sections = new Map();
  const perFile = new Map<string, Sections>();
  for (const f of files) {
    const text = await readFile(f, 'utf8');
    parseOsloIni(text, sections);
    const own: Sections = new Map();
    parseOsloIni(text, own);
    perFile.set(f, own);
  }

  const base = await optData(kind, release);
  const { data, changed } = await augment(kind, base.data, sections, release);
  let workDir: string | undefined;
  let optDataPath = base.path;
  if (changed) {
    workDir = await mkdtemp(join(tmpdir(), 'osk-oslo-validate-'));
    optDataPath = join(workDir, `${kind}.json`);
    await writeFile(optDataPath, JSON.stringify(data));
  }
  const hasAuthToken = namespaces[kind].includes('keystonemiddleware.auth_token');
  const exclude = opts.excludeGroups ?? [];

  try {
    const runs = await Promise.all(
      files.map(async (file) => {
        const args = ['--opt-data', optDataPath, '--input-file', file];
        for (const g of exclude) args.push('--exclude-group', g);
        return { file, result: await run([t.validator, ...args]) };
      }),
    );

    const errors: string[] = [];
    const warnings: string[] = [];
    let output = '';
    for (const { file, result } of runs) {
      const text = `${result.stdout}${result.stderr}`;
      output += `== ${file} (exit ${result.code}) ==\n${text}${text.endsWith('\n') || !text ? '' : '\n'}`;
      let recognised = 0;
      for (const line of text.split('\n')) {
        let m: RegExpExecArray | null;
        if ((m = RE_UNKNOWN.exec(line))) {
          recognised++;
          errors.push(explainUnknown(data, file, m[1] ?? '', m[2] ?? ''));
        } else if ((m = RE_DEPRECATED.exec(line))) {
          const group = m[1] ?? '';
          const option = m[2] ?? '';
          // False positive: the name is also a current option of that group.
          if (optNames(data.options[group]).has(option)) continue;
          const repl = data.deprecated_options[group]?.find((d) => d.name === option);
          const msg =
            `${file}: [${group}] ${option}: deprecated name` +
            (repl?.replacement_name ? `, use [${repl.replacement_group ?? group}] ${repl.replacement_name}` : '');
          (opts.allowDeprecated ? warnings : errors).push(msg);
        } else if ((m = RE_IGNORED.exec(line))) {
          // Valid keystoneauth plugin options were added to the opt-data, so
          // what the validator still "ignores" here is unknown.
          const option = m[1] ?? '';
          const group = m[2] ?? '';
          if (!hasAuthToken || !data.options[group]) {
            errors.push(`${file}: [${group}] ${option}: unknown group "${group}" (not used by ${kind})`);
          } else if (!sections.get(group)?.get('auth_type')) {
            errors.push(`${file}: [${group}] ${option}: unknown option (no auth_type set in [${group}])`);
          } else {
            errors.push(explainUnknown(data, file, group, option));
          }
        }
      }
      // Valid in Zed but deprecated for removal: the validator is silent
      // about these; report them as warnings (likely gone in 2024.x/2025.x).
      for (const [group, values] of perFile.get(file) ?? []) {
        if (exclude.includes(group)) continue;
        for (const key of values.keys()) {
          const opt = data.options[group]?.opts.find((o) => o.name === key || o.dest === key);
          if (opt?.deprecated_for_removal === true) {
            const since = typeof opt.deprecated_since === 'string' ? ` since ${opt.deprecated_since}` : '';
            warnings.push(`${file}: [${group}] ${key}: deprecated for removal${since}`);
          }
        }
      }
      if (result.code !== 0 && recognised === 0) {
        // Crash, unreadable or unparsable file: keep the last lines of the traceback.
        const tail = text.trim().split('\n').slice(-2).join(' | ');
        errors.push(`${file}: oslo-config-validator exited ${result.code}: ${tail}`);
      }
    }
    return { ok: errors.length === 0, errors, warnings, output };
  } finally {
    if (workDir) await rm(workDir, { recursive: true, force: true });
  }
}
