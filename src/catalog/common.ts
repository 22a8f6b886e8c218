/**
 * The parts every OpenStack service repeats: its database Job, schema Job, Keystone user and
 * catalog registration Jobs, and the uwsgi file of its API. Each returns catalog declarations.
 * The database, user and registration Jobs run `osk bootstrap <task>` from the osk image: the
 * code the all-in-one runs (src/bootstrap/tasks.ts lists the environment each task reads).
 */
import type { Ref } from '../config/ini.js';
import type { CatalogContext } from './context.js';
import type { ImageKey } from '../spec/image-keys.js';
import { confLines } from './text-files.js';
import type { ComponentDef, ConfigFileDef } from './types.js';
import type { SecretDef } from '../config/secrets.js';

const JOB_SIZING = { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi', haReplicas: 1 };

/** What `osk bootstrap <task>` does (src/bootstrap/tasks.ts): the Jobs of both targets' one implementation. */
export const BOOTSTRAP_TASKS = ['db-init', 'ks-user', 'ks-register', 'volume-types'] as const;
export type BootstrapTask = (typeof BOOTSTRAP_TASKS)[number];

/** The command of a bootstrap Job: one task of `osk bootstrap`, its inputs in the Job's env. */
export function bootstrapCommand(task: BootstrapTask): string[] {
  return ['osk', 'bootstrap', task];
}

export function password(
  name: string,
  k8sSecret: string,
  createdBy: string | undefined,
  description: string,
  key = 'password',
): SecretDef {
  return createdBy === undefined
    ? { name, kind: 'password', k8sSecret, key, description }
    : { name, kind: 'password', k8sSecret, key, createdBy, description };
}

/** Credentials of a service that has a database and a Keystone user. */
export function serviceSecrets(
  service: string,
  opts: { db?: boolean; rabbit?: boolean; authtoken?: boolean } = {},
): SecretDef[] {
  const out: SecretDef[] = [];
  if (opts.db !== false)
    out.push(
      password(`${service}-db-password`, `${service}-db`, `${service}-db-init`, `MariaDB password of user ${service}`),
    );
  out.push(
    password(
      `keystone-${service}-password`,
      `${service}-keystone`,
      `${service}-ks-user`,
      `Keystone password of service user ${service}`,
    ),
  );
  if (opts.rabbit)
    out.push(
      password(
        `rabbitmq-${service}-password`,
        `${service}-rabbitmq`,
        'rabbitmq',
        `RabbitMQ password of user ${service}`,
      ),
    );
  if (opts.authtoken !== false)
    out.push({
      name: `${service}-memcache-secret-key`,
      kind: 'token',
      k8sSecret: `${service}-memcache`,
      key: 'key',
      description: `keystonemiddleware memcache encryption key of ${service}`,
    });
  return out;
}

/** A database user other than the service's own (its id, name, password and extra grants). */
interface DbUserOptions {
  /** Component id (default `<service>-db-init`). */
  id?: string;
  /** MariaDB user (default: the service name). */
  user?: string;
  /** Store name of its password (default `<service>-db-password`). */
  passwordSecret?: string;
  /** Extra grants, one "privileges ON object" each (db-init's DB_GRANTS). */
  grants?: readonly string[];
  maxConnections?: number;
}

/** db-init: create the databases and the user, and keep the password in sync with the store. */
export function dbInitJob(
  ctx: CatalogContext,
  service: string,
  databases: string[],
  o: DbUserOptions = {},
): ComponentDef {
  const host = ctx.mariadbHost();
  const user = o.user ?? service;
  const passwordSecret = o.passwordSecret ?? `${service}-db-password`;
  return {
    id: o.id ?? `${service}-db-init`,
    service,
    part: 'db-init',
    workload: 'Job',
    image: 'osk',
    command: bootstrapCommand('db-init'),
    env: [
      { name: 'DB_HOST', value: host, refs: [ctx.needs('mariadb', 3306, `host ${host}`)] },
      { name: 'DB_NAMES', value: databases.join(' ') },
      { name: 'DB_USER', value: user },
      ...(o.grants?.length ? [{ name: 'DB_GRANTS', value: o.grants.join('\n') }] : []),
      ...(o.maxConnections ? [{ name: 'DB_MAX_CONNECTIONS', value: String(o.maxConnections) }] : []),
      { name: 'DB_PASSWORD', secret: passwordSecret },
      { name: 'MARIADB_ROOT_PASSWORD', secret: 'mariadb-root-password' },
    ],
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', JOB_SIZING),
    backoffLimit: 6,
    // The host's builtin makes databases and a user, not extra grants: users with grants are
    // Kubernetes-only (the exporters) and get no host action.
    ...(o.grants?.length
      ? {}
      : { host: { kind: 'builtin' as const, action: { dbInit: { databases, user, passwordSecret } } } }),
  };
}

/** db-sync: bring the schema to the release's head; the API waits for it. */
const SCHEMA_SECTIONS = ['DEFAULT', 'database', 'api_database', 'placement_database'];

export function dbSyncJob(
  ctx: CatalogContext,
  service: string,
  image: ImageKey,
  command: string[],
  bundle: string,
  refs: Ref[] = [],
  host?: { command: string[]; packages: string[] },
): ComponentDef {
  return {
    ...(host ? { host: { kind: 'step' as const, ...host } } : {}),
    id: `${service}-db-sync`,
    service,
    part: 'db-sync',
    workload: 'Job',
    image,
    command,
    configs: [bundle],
    readsSections: SCHEMA_SECTIONS,
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', { ...JOB_SIZING, memoryLimit: '1Gi' }),
    refs,
    backoffLimit: 6,
  };
}

/** The cloud administrator's credentials for Jobs that call the OpenStack APIs. */
export function adminEnv(ctx: CatalogContext): NonNullable<ComponentDef['env']> {
  const url = `${ctx.keystoneInternalUrl()}/v3`;
  return [
    { name: 'OS_AUTH_URL', value: url, refs: [ctx.keystoneRef(`host ${ctx.topology.host('keystone-api')}`)] },
    { name: 'OS_IDENTITY_API_VERSION', value: '3' },
    { name: 'OS_REGION_NAME', value: ctx.region },
    { name: 'OS_INTERFACE', value: 'internal' },
    { name: 'OS_PROJECT_NAME', value: 'admin' },
    { name: 'OS_PROJECT_DOMAIN_NAME', value: 'Default' },
    { name: 'OS_USERNAME', value: 'admin' },
    { name: 'OS_USER_DOMAIN_NAME', value: 'Default' },
    {
      name: 'OS_PASSWORD',
      secret: 'keystone-admin-password',
      refs: [{ target: 'keystone-bootstrap', kind: 'needs', via: 'admin user created by keystone-bootstrap' }],
    },
  ];
}

/** ks-user: the service's Keystone user with the admin and service roles in project "service". */
export function ksUserJob(ctx: CatalogContext, service: string): ComponentDef {
  return {
    id: `${service}-ks-user`,
    service,
    part: 'ks-user',
    workload: 'Job',
    image: 'osk',
    command: bootstrapCommand('ks-user'),
    env: [
      ...adminEnv(ctx),
      { name: 'SERVICE_USER', value: service },
      { name: 'SERVICE_PASSWORD', secret: `keystone-${service}-password` },
    ],
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', JOB_SIZING),
    backoffLimit: 6,
    host: {
      kind: 'builtin',
      action: { keystoneUser: { user: service, passwordSecret: `keystone-${service}-password` } },
    },
  };
}

/**
 * ks-register: the catalog entry (service + public/internal/admin endpoints in the region), and
 * the roles the service's policy names, so that an administrator can grant them.
 */
export function ksRegisterJob(
  ctx: CatalogContext,
  service: string,
  type: string,
  name: string,
  internalUrl: string,
  publicHost: string,
  roles: readonly string[] = [],
): ComponentDef {
  return {
    id: `${service}-ks-register`,
    service,
    part: 'ks-register',
    workload: 'Job',
    image: 'osk',
    command: bootstrapCommand('ks-register'),
    env: [
      ...adminEnv(ctx),
      { name: 'SERVICE_TYPE', value: type },
      { name: 'SERVICE_NAME', value: name },
      // The admin endpoint is the internal URL (bootstrap.ts ensureEndpoint).
      { name: 'ENDPOINT_INTERNAL', value: internalUrl },
      { name: 'ENDPOINT_PUBLIC', value: publicEndpoint(ctx, publicHost, internalUrl) },
      ...(roles.length ? [{ name: 'SERVICE_ROLES', value: roles.join(' ') }] : []),
    ],
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', JOB_SIZING),
    backoffLimit: 6,
    host: {
      kind: 'builtin',
      action: {
        keystoneEndpoint: {
          type,
          name,
          internalUrl,
          publicUrl: publicEndpoint(ctx, publicHost, internalUrl),
          ...(roles.length ? { roles: [...roles] } : {}),
        },
      },
    },
  };
}

/**
 * The public endpoint: the Ingress host or the NodePort with the internal URL's path, or the
 * internal URL itself when the cloud publishes neither (publicUrl() then returns the whole
 * internal URL, path included, so appending the path again would double it).
 */
function publicEndpoint(ctx: CatalogContext, publicHost: string, internalUrl: string): string {
  return ctx.hasPublicEndpoints ? ctx.publicUrl(publicHost, internalUrl) + publicSuffix(internalUrl) : internalUrl;
}

/** The path part of an internal URL (e.g. "/v3/%(project_id)s"), kept on the public URL. */
function publicSuffix(internalUrl: string): string {
  const m = /^https?:\/\/[^/]+(\/.*)?$/.exec(internalUrl);
  return m?.[1] ?? '';
}

/**
 * uwsgi serving a WSGI app: `module` where the release has one, else the LOCI wsgi script.
 * `argv` becomes the app's sys.argv (uwsgi's pyargv): apps that parse it for their oslo files
 * (Neutron's) read only their defaults without it, not the files osk mounts beside them.
 */
export function uwsgiIni(
  name: string,
  port: number,
  app: { module: string } | { script: string },
  processes: number,
  env: Record<string, string> = {},
  argv: readonly string[] = [],
): ConfigFileDef {
  const lines = [
    '[uwsgi]',
    `http-socket = 0.0.0.0:${port}`,
    'master = true',
    `processes = ${processes}`,
    'threads = 1',
    'lazy-apps = true',
    'die-on-term = true',
    'need-app = true',
    'enable-threads = true',
    'buffer-size = 65535',
    'thunder-lock = true',
    // Without it, keep-alive sockets get reset between requests under uwsgi's http-socket.
    'add-header = Connection: close',
    'exit-on-reload = false',
    'hook-master-start = unix_signal:15 gracefully_kill_them_all',
    'plugins-dir = /usr/lib/uwsgi/plugins',
    'module' in app ? `module = ${app.module}` : `wsgi-file = ${app.script}`,
    ...Object.entries(env).map(([k, v]) => `env = ${k}=${v}`),
    ...(argv.length ? [`pyargv = ${argv.join(' ')}`] : []),
    '',
  ];
  return { name, text: confLines(name, lines), kubernetesOnly: true };
}

export function apiProcesses(ctx: CatalogContext): number {
  // One host runs every service on a few cores: one worker each keeps memory near 2.5 GiB.
  if (ctx.machine) return 1;
  return ctx.ha ? 4 : 2;
}

/** The oslo file of a bundle as a host process reads it (one merged 0600 file, no overlay). */
export function hostConfigArgs(
  ctx: CatalogContext,
  bundle: string,
  containerDir: string,
  ...files: string[]
): string[] {
  return files.flatMap((f) => ['--config-file', `${ctx.configDir(bundle, containerDir)}/${f}`]);
}

/**
 * A WSGI app under Debian's uwsgi on the host: the python3 plugin, loopback only, and
 * `Connection: close`, without which keep-alive clients get resets from uwsgi's http-socket.
 * `argv`: the app's own arguments, for WSGI scripts that read their config files from sys.argv
 * (uwsgi splits --pyargv at whitespace, so osk up refuses a state directory with whitespace).
 */
export function hostUwsgi(
  ctx: CatalogContext,
  port: number,
  wsgiFile: string,
  env: Record<string, string>,
  packages: string[],
  argv: string[] = [],
): { command: string[]; env: Record<string, string>; packages: string[] } {
  return {
    command: [
      'uwsgi',
      '--plugin',
      'python3',
      '--http-socket',
      `${ctx.topology.bindAddress}:${port}`,
      '--wsgi-file',
      wsgiFile,
      '--master',
      '--processes',
      String(apiProcesses(ctx)),
      '--threads',
      '4',
      '--enable-threads',
      '--lazy-apps',
      '--die-on-term',
      // On SIGTERM uwsgi waits for each worker to exit, 60 s by default: cinder-api's worker
      // never did (threads of its RPC client), and `osk down` waited 22 s before the supervisor
      // killed it. 5 s, then uwsgi kills the worker itself: an API keeps no state to finish.
      '--worker-reload-mercy',
      '5',
      '--need-app',
      '--buffer-size',
      '65535',
      '--add-header',
      'Connection: close',
      ...(argv.length ? ['--pyargv', argv.join(' ')] : []),
    ],
    env,
    packages: ['uwsgi-core', 'uwsgi-plugin-python3', ...packages],
  };
}

export const SIZES = {
  api: { cpu: '250m', memory: '256Mi', memoryLimit: '1Gi' },
  worker: { cpu: '100m', memory: '192Mi', memoryLimit: '768Mi' },
  agent: { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi', haReplicas: 1 },
  /** A one-shot Job of the control plane (cell setup, keystone bootstrap, volume types). */
  job: { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi', haReplicas: 1 },
} as const;

/**
 * The probes of an HTTP API behind uWSGI: ready when it answers, restarted only after it has
 * not answered for 100 s (five misses 20 s apart, after 30 s to start).
 */
export function apiProbes(path: string, port: number): Pick<ComponentDef, 'readiness' | 'liveness'> {
  return {
    readiness: { http: { path, port }, periodSeconds: 10, timeoutSeconds: 5 },
    liveness: {
      http: { path, port },
      initialDelaySeconds: 30,
      periodSeconds: 20,
      timeoutSeconds: 10,
      failureThreshold: 5,
    },
  };
}
