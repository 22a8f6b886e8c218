/**
 * clouds.yaml, as the `openstack` CLI (openstacksdk) reads it: the first file found of
 * OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml,
 * /etc/openstack/clouds.yaml; the cloud chosen by name or OS_CLOUD; secrets optionally in a
 * secure.yaml found the same way (OS_CLIENT_SECURE_FILE, …), merged over it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { ExitCode, OskError } from '../errors.js';
import type { AuthOptions, AuthScope } from './auth.js';
import type { Interface } from './catalog.js';
import type { TlsOptions } from './http.js';
import type { SessionOptions } from './session.js';

export interface CloudConfig {
  /** The cloud's name in clouds.yaml. */
  name: string;
  /** The clouds.yaml it came from, and the secure.yaml merged into it, if any. */
  file: string;
  secureFile?: string;
  auth: AuthOptions;
  region?: string;
  interface?: Interface;
  /** By service type (`compute`, `block-storage`, …), from `<type>_endpoint_override`. */
  endpointOverrides: Record<string, string>;
  tls: TlsOptions;
  /** The CA file named by `cacert`, for messages. */
  cacertFile?: string;
}

export interface LoadCloudOptions {
  /** Cloud name; default OS_CLOUD, else the only cloud in the file. */
  cloud?: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  home?: string;
  /** Default /etc/openstack (tests point it elsewhere). */
  systemDir?: string;
}

const bad = (message: string, hint?: string): OskError =>
  new OskError(message, { exitCode: ExitCode.invalidInput, ...(hint ? { hint } : {}) });

/** Where clouds.yaml (or secure.yaml) is looked for, in order. */
export function configSearchPath(
  kind: 'clouds' | 'secure',
  o: Pick<LoadCloudOptions, 'env' | 'cwd' | 'home' | 'systemDir'> = {},
): { path: string; fromEnv: boolean }[] {
  const env = o.env ?? process.env;
  const envVar = kind === 'clouds' ? env.OS_CLIENT_CONFIG_FILE : env.OS_CLIENT_SECURE_FILE;
  const file = `${kind}.yaml`;
  return [
    ...(envVar ? [{ path: resolve(o.cwd ?? process.cwd(), envVar), fromEnv: true }] : []),
    { path: join(o.cwd ?? process.cwd(), file), fromEnv: false },
    { path: join(o.home ?? homedir(), '.config', 'openstack', file), fromEnv: false },
    { path: join(o.systemDir ?? '/etc/openstack', file), fromEnv: false },
  ];
}

function readYaml(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw bad(`cannot read ${path}: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw bad(`${path} is not valid YAML: ${(e as Error).message}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw bad(`${path}: expected a mapping with a "clouds" key`);
  return doc as Record<string, unknown>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** secure.yaml values win over clouds.yaml ones, key by key (openstacksdk's merge). */
function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isRecord(v) && isRecord(out[k]) ? merge(out[k], v) : v;
  return out;
}

function firstExisting(kind: 'clouds' | 'secure', o: LoadCloudOptions): string | undefined {
  for (const c of configSearchPath(kind, o)) {
    if (existsSync(c.path)) return c.path;
    if (c.fromEnv) {
      const v = kind === 'clouds' ? 'OS_CLIENT_CONFIG_FILE' : 'OS_CLIENT_SECURE_FILE';
      throw bad(`${v} names ${c.path}, which does not exist`, `fix or unset ${v}`);
    }
  }
  return undefined;
}

/** Find and read the cloud's configuration. */
export function loadCloud(o: LoadCloudOptions = {}): CloudConfig {
  const env = o.env ?? process.env;
  const file = firstExisting('clouds', o);
  if (!file) {
    const looked = configSearchPath('clouds', o).map((c) => c.path);
    throw bad(
      `no clouds.yaml found: looked for ${env.OS_CLIENT_CONFIG_FILE ? '' : 'OS_CLIENT_CONFIG_FILE (not set), '}${looked.join(', ')}`,
      "write the cloud's credentials to ~/.config/openstack/clouds.yaml (the format the openstack CLI uses), or point OS_CLIENT_CONFIG_FILE at one",
    );
  }
  const clouds = readYaml(file).clouds;
  if (!isRecord(clouds) || Object.keys(clouds).length === 0)
    throw bad(`${file} has no clouds (expected "clouds: { <name>: { auth: … } }")`);
  const names = Object.keys(clouds);
  const name = o.cloud ?? env.OS_CLOUD ?? (names.length === 1 ? names[0] : undefined);
  if (!name) {
    throw bad(
      `${file} has several clouds (${names.join(', ')}) and none was chosen`,
      'choose one by name (OS_CLOUD=<name> or the cloud option)',
    );
  }
  const entry = clouds[name];
  if (!isRecord(entry)) {
    const how = o.cloud ? '' : env.OS_CLOUD ? ' (from OS_CLOUD)' : '';
    throw bad(
      `cloud "${name}"${how} is not in ${file} (it has: ${names.join(', ')})`,
      `use one of those names, or add "${name}" under clouds: in ${file}`,
    );
  }
  let config = entry;
  let secureFile = firstExisting('secure', o);
  if (secureFile) {
    const secure = readYaml(secureFile).clouds;
    if (isRecord(secure) && isRecord(secure[name])) config = merge(entry, secure[name]);
    else secureFile = undefined;
  }
  return toCloudConfig(name, file, secureFile, config, o);
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string' && v !== '') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function toCloudConfig(
  name: string,
  file: string,
  secureFile: string | undefined,
  c: Record<string, unknown>,
  o: LoadCloudOptions,
): CloudConfig {
  const where = `cloud "${name}" in ${file}`;
  const auth = isRecord(c.auth) ? c.auth : undefined;
  if (!auth) throw bad(`${where} has no auth section`);
  const authUrl = str(auth.auth_url);
  if (!authUrl)
    throw bad(
      `${where}: auth.auth_url is missing`,
      'set it to the Keystone endpoint, e.g. http://keystone.example:5000/v3',
    );

  const version = str(c.identity_api_version);
  if (version && !/^3(\.\d+)?$/.test(version))
    throw bad(`${where}: identity_api_version ${version} is not supported; osk speaks Keystone v3`);

  const authOptions = authOptionsOf(where, file, c, auth, authUrl);
  const interfaceName = interfaceOf(where, c);
  const region =
    str(c.region_name) ??
    (Array.isArray(c.regions) ? str(isRecord(c.regions[0]) ? c.regions[0].name : c.regions[0]) : undefined);

  const endpointOverrides: Record<string, string> = {};
  for (const [k, v] of Object.entries(c)) {
    const m = /^(.+)_endpoint_override$/.exec(k);
    if (m && str(v)) endpointOverrides[m[1]!.replace(/_/g, '-')] = str(v)!;
  }

  const { tls, cacertFile } = tlsOf(where, c, o);

  return {
    name,
    file,
    ...(secureFile ? { secureFile } : {}),
    auth: authOptions,
    ...(region ? { region } : {}),
    ...(interfaceName ? { interface: interfaceName } : {}),
    endpointOverrides,
    tls,
    ...(cacertFile ? { cacertFile } : {}),
  };
}

/** The credentials of a clouds.yaml entry, by its auth_type. */
function authOptionsOf(
  where: string,
  file: string,
  c: Record<string, unknown>,
  auth: Record<string, unknown>,
  authUrl: string,
): AuthOptions {
  const a = (k: string): string | undefined => str(auth[k]);
  const userDomainId = a('user_domain_id') ?? a('default_domain_id');
  const userDomainName = a('user_domain_name') ?? a('default_domain_name');
  const userPart = {
    ...(a('username') ? { username: a('username')! } : {}),
    ...(a('user_id') ? { userId: a('user_id')! } : {}),
    ...(userDomainId ? { userDomainId } : userDomainName ? { userDomainName } : {}),
  };

  const authType = str(c.auth_type) ?? (a('application_credential_secret') ? 'v3applicationcredential' : 'password');
  switch (authType) {
    case 'password':
    case 'v3password': {
      const password = a('password');
      if (!password)
        throw bad(`${where}: auth.password is missing`, `put it in ${file} or in a secure.yaml next to it`);
      if (!userPart.username && !userPart.userId) throw bad(`${where}: auth.username (or auth.user_id) is missing`);
      const scope = scopeOf(auth);
      return { type: 'password', authUrl, ...userPart, password, ...(scope ? { scope } : {}) };
    }
    case 'v3applicationcredential':
    case 'applicationcredential':
    case 'application_credential': {
      const secret = a('application_credential_secret');
      if (!secret) throw bad(`${where}: auth.application_credential_secret is missing`);
      const id = a('application_credential_id');
      const credName = a('application_credential_name');
      if (!id && !credName) throw bad(`${where}: auth.application_credential_id (or _name with the user) is missing`);
      return {
        type: 'applicationCredential',
        authUrl,
        ...(id ? { id } : {}),
        ...(credName ? { name: credName } : {}),
        ...userPart,
        secret,
      };
    }
    case 'token':
    case 'v3token': {
      const token = a('token');
      if (!token) throw bad(`${where}: auth.token is missing`);
      const scope = scopeOf(auth);
      return { type: 'token', authUrl, token, ...(scope ? { scope } : {}) };
    }
    default:
      throw bad(
        `${where}: auth_type "${authType}" is not supported by osk`,
        'use password, v3applicationcredential or token',
      );
  }
}

/** `interface` (or the older `endpoint_type`, with or without its URL suffix). */
function interfaceOf(where: string, c: Record<string, unknown>): Interface | undefined {
  const iface = str(c.interface) ?? str(c.endpoint_type);
  let interfaceName: Interface | undefined;
  if (iface) {
    const i = iface.replace(/URL$/, '');
    if (i !== 'public' && i !== 'internal' && i !== 'admin')
      throw bad(`${where}: interface "${iface}" is not one of public, internal, admin`);
    interfaceName = i;
  }
  return interfaceName;
}

/** TLS settings; the files they name are read now, relative to the working directory or ~. */
function tlsOf(
  where: string,
  c: Record<string, unknown>,
  o: LoadCloudOptions,
): { tls: TlsOptions; cacertFile?: string } {
  const tls: TlsOptions = {};
  const pathOf = (p: string): string => {
    const expanded = p.startsWith('~/') ? join(o.home ?? homedir(), p.slice(2)) : p;
    return isAbsolute(expanded) ? expanded : resolve(o.cwd ?? process.cwd(), expanded);
  };
  const readFile = (key: string, p: string): Buffer => {
    try {
      return readFileSync(pathOf(p));
    } catch (e) {
      throw bad(`${where}: ${key} ${p} cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  };
  const cacert = str(c.cacert);
  if (cacert) tls.ca = readFile('cacert', cacert);
  const verify = c.verify;
  if (verify === false || (typeof verify === 'string' && /^(false|no|0)$/i.test(verify))) tls.verify = false;
  if (str(c.cert)) tls.cert = readFile('cert', str(c.cert)!);
  if (str(c.key)) tls.key = readFile('key', str(c.key)!);
  return { tls, ...(cacert ? { cacertFile: pathOf(cacert) } : {}) };
}

function scopeOf(auth: Record<string, unknown>): AuthScope | undefined {
  const a = (k: string): string | undefined => str(auth[k]);
  const projectId = a('project_id') ?? a('tenant_id');
  const projectName = a('project_name') ?? a('tenant_name');
  const pdId = a('project_domain_id') ?? a('default_domain_id');
  const pdName = a('project_domain_name') ?? a('default_domain_name');
  if (projectId) return { project: { id: projectId } };
  if (projectName)
    return { project: { name: projectName, ...(pdId ? { domainId: pdId } : pdName ? { domainName: pdName } : {}) } };
  if (a('domain_id')) return { domain: { id: a('domain_id')! } };
  if (a('domain_name')) return { domain: { name: a('domain_name')! } };
  if (a('system_scope')) return { system: 'all' };
  return undefined;
}

/** Session options for a cloud (the caller may add timeouts, microversions, …). */
export function sessionOptionsFromCloud(c: CloudConfig): SessionOptions {
  return {
    auth: c.auth,
    cloudName: c.name,
    ...(c.region ? { region: c.region } : {}),
    ...(c.interface ? { interface: c.interface } : {}),
    endpointOverrides: c.endpointOverrides,
    tls: c.tls,
  };
}
