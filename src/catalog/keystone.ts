/** Keystone: identity API, its schema, fernet/credential keys from the store, and bootstrap. */
import type { IniDoc } from '../config/ini.js';
import { CREDENTIAL_KEYS } from '../config/credential-rotation.js';
import { everySeconds } from '../config/key-rotation.js';
import type { CatalogContext } from './context.js';
import {
  apiProbes,
  apiProcesses,
  dbInitJob,
  dbSyncJob,
  hostConfigArgs,
  hostUwsgi,
  password,
  SIZES,
  uwsgiIni,
} from './common.js';
import type { SecretDef } from '../config/secrets.js';
import type { ComponentDef, ServiceDef } from './types.js';

function tokenSettings(ctx: CatalogContext) {
  const user = ctx.spec.services?.keystone;
  return { provider: 'fernet', expiration: 3600, cacheTime: 300, maxActiveKeys: 3, ...(user?.token ?? {}) };
}
type Token = ReturnType<typeof tokenSettings>;

function keystoneConf(ctx: CatalogContext, token: Token, etc: string): IniDoc {
  const user = ctx.spec.services?.keystone;
  const conf = ctx.ini('keystone.conf');
  conf.section('DEFAULT', { log_dir: '', use_stderr: true, max_token_size: 255 });
  conf.section('database', {
    connection: ctx.dbConnection('keystone', 'keystone', 'keystone-db-password', 'keystone-db-init'),
    ...ctx.dbSettings(),
  });
  // With rotation, a key validates for every × (maxActiveKeys − 2) after it stops signing; an
  // expired token (accepted with a service token during long operations) can only be honoured
  // while its key is there, so Keystone's window says no more than the keys allow.
  const rotation =
    user?.keyRotation?.enabled === false || token.provider !== 'fernet'
      ? undefined
      : everySeconds(user?.keyRotation?.every ?? '24h') * (token.maxActiveKeys - 2);
  conf.section('token', {
    provider: token.provider,
    expiration: token.expiration,
    cache_time: token.cacheTime,
    caching: true,
    ...(rotation ? { allow_expired_window: Math.max(0, rotation - token.expiration) } : {}),
  });
  conf.section('fernet_tokens', { key_repository: `${etc}/fernet-keys`, max_active_keys: token.maxActiveKeys });
  conf.section('fernet_receipts', { key_repository: `${etc}/fernet-keys`, max_active_keys: token.maxActiveKeys });
  conf.section('credential', { key_repository: `${etc}/credential-keys` });
  conf.section('cache', {
    enabled: true,
    backend: 'oslo_cache.memcache_pool',
    memcache_servers: ctx.memcachedServers(),
  });
  conf.section('identity', { driver: 'sql' });
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  // The cloud's admin is project-scoped (clouds.yaml, the openstack CLI, osk's bootstrap). Zed's
  // new defaults give identity management (GET/DELETE /v3/projects/{id}, …) to system-scoped
  // tokens only, so with them enforced the admin could not show or delete a project by id.
  // Until osk hands out a system-scoped admin as well, the legacy admin rules stay in force.
  conf.section('oslo_policy', { enforce_new_defaults: false, enforce_scope: false });
  return conf;
}

// Key repositories: fernet keys 0 (staged) … n-1 (primary); credential keys 0 … 2, Keystone's
// fixed size of that repository (staged, old primary kept until the stored credentials are
// re-encrypted, primary). Both rotate on their own schedules; credential keys only with a
// migration of the stored credentials in between (config/credential-rotation.ts).
function keySecrets(token: Token): { fernet: SecretDef[]; credential: SecretDef[] } {
  const fernet: SecretDef[] = Array.from({ length: token.maxActiveKeys }, (_, i) => ({
    name: `keystone-fernet-key-${i}`,
    kind: 'fernet-key' as const,
    k8sSecret: 'keystone-fernet-keys',
    key: String(i),
    description: `Keystone fernet key ${i}`,
    // Rotated on the schedule of keyRotation (one host: the supervisor; Kubernetes: a CronJob).
    rotates: 'fernet' as const,
  }));
  const credential: SecretDef[] = Array.from({ length: CREDENTIAL_KEYS }, (_, i) => ({
    name: `keystone-credential-key-${i}`,
    kind: 'fernet-key' as const,
    k8sSecret: 'keystone-credential-keys',
    key: String(i),
    description: `Keystone credential encryption key ${i}`,
    // Rotated on the schedule of credentialKeyRotation, with credential_migrate.
    rotates: 'credential' as const,
  }));
  return { fernet, credential };
}

/** The key repositories bootstrap and the API read: as Secret mounts, and as files on a host. */
function keyMounts(etc: string, keys: SecretDef[]) {
  return {
    secretFiles: [
      { k8sSecret: 'keystone-fernet-keys', mountPath: `${etc}/fernet-keys` },
      { k8sSecret: 'keystone-credential-keys', mountPath: `${etc}/credential-keys` },
    ],
    // On a host the key repositories are files written from the store (never keystone-manage
    // fernet_setup, which would mint keys the store does not know).
    // Keystone rereads the repositories on every token operation: a rotated key needs no restart.
    keyFiles: keys.map((d) => ({
      path: `${etc}/${d.k8sSecret === 'keystone-fernet-keys' ? 'fernet-keys' : 'credential-keys'}/${d.key}`,
      secret: d.name,
      live: true,
    })),
  };
}
type KeyMounts = ReturnType<typeof keyMounts>;

const CONFIG_ARGS = ['--config-file', '/etc/keystone/keystone.conf', '--config-dir', '/etc/keystone/keystone.conf.d'];

function bootstrap(ctx: CatalogContext, { secretFiles, keyFiles }: KeyMounts): ComponentDef {
  const internal = ctx.keystoneInternalUrl();
  const hostArgs = hostConfigArgs(ctx, 'keystone', '/etc/keystone', 'keystone.conf');
  return {
    id: 'keystone-bootstrap',
    service: 'keystone',
    part: 'bootstrap',
    workload: 'Job',
    image: 'keystone',
    command: [
      'sh',
      '-c',
      `exec keystone-manage ${CONFIG_ARGS.join(' ')} bootstrap --bootstrap-username admin --bootstrap-password "$ADMIN_PASSWORD" --bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-service-name keystone --bootstrap-region-id "$REGION" --bootstrap-admin-url "$INTERNAL_URL" --bootstrap-internal-url "$INTERNAL_URL" --bootstrap-public-url "$PUBLIC_URL"`,
    ],
    env: [
      { name: 'ADMIN_PASSWORD', secret: 'keystone-admin-password' },
      { name: 'REGION', value: ctx.region },
      { name: 'INTERNAL_URL', value: `${internal}/v3` },
      { name: 'PUBLIC_URL', value: `${ctx.publicUrl('identity', internal)}/v3` },
    ],
    configs: ['keystone'],
    readsSections: ['DEFAULT', 'database', 'token', 'fernet_tokens', 'fernet_receipts', 'credential', 'identity'],
    secretFiles,
    after: [{ target: 'keystone-db-sync', why: 'bootstrap writes into the schema that keystone-db-sync creates' }],
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', SIZES.job),
    backoffLimit: 6,
    host: {
      kind: 'step',
      // keystone-manage bootstrap reads the password from OS_BOOTSTRAP_PASSWORD: not on a command line.
      command: [
        'keystone-manage',
        ...hostArgs,
        'bootstrap',
        '--bootstrap-username',
        'admin',
        '--bootstrap-project-name',
        'admin',
        '--bootstrap-role-name',
        'admin',
        '--bootstrap-service-name',
        'keystone',
        '--bootstrap-region-id',
        ctx.region,
        '--bootstrap-admin-url',
        `${internal}/v3`,
        '--bootstrap-internal-url',
        `${internal}/v3`,
        '--bootstrap-public-url',
        `${ctx.publicUrl('identity', internal)}/v3`,
      ],
      secretEnv: { OS_BOOTSTRAP_PASSWORD: 'keystone-admin-password' },
      packages: ['keystone'],
      files: keyFiles,
    },
  };
}

function keystoneApi(ctx: CatalogContext, etc: string, { secretFiles, keyFiles }: KeyMounts): ComponentDef {
  const user = ctx.spec.services?.keystone;
  return {
    id: 'keystone-api',
    service: 'keystone',
    part: 'api',
    workload: 'Deployment',
    image: 'keystone',
    command: ['uwsgi', '--ini', '/etc/keystone/keystone-api-uwsgi.ini'],
    ports: [{ name: 'http', port: 5000 }],
    service_: { ports: [{ name: 'http', port: 5000 }] },
    publicHost: 'identity',
    publicPort: 5000,
    ...apiProbes('/v3', 5000),
    configs: ['keystone'],
    secretFiles,
    after: [{ target: 'keystone-db-sync', why: 'the API serves from the schema keystone-db-sync brings to head' }],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    settings: ctx.settings(user?.api, 'controlPlane', SIZES.api),
    host: {
      kind: 'process',
      ...hostUwsgi(
        ctx,
        5000,
        '/usr/bin/keystone-wsgi-public',
        { OS_KEYSTONE_CONFIG_DIR: etc, OS_KEYSTONE_CONFIG_FILES: 'keystone.conf' },
        ['keystone'],
      ),
      files: keyFiles,
      ports: [5000],
      ready: { http: { port: 5000, path: '/v3' } },
    },
  };
}

export function keystone(ctx: CatalogContext): ServiceDef {
  const token = tokenSettings(ctx);
  const etc = ctx.configDir('keystone', '/etc/keystone');
  const conf = keystoneConf(ctx, token, etc);
  const { fernet, credential } = keySecrets(token);
  const keys = keyMounts(etc, [...fernet, ...credential]);
  const hostArgs = hostConfigArgs(ctx, 'keystone', '/etc/keystone', 'keystone.conf');

  return {
    name: 'keystone',
    catalog: { type: 'identity', component: 'keystone-api', register: 'keystone-bootstrap' },
    secrets: [
      password('keystone-db-password', 'keystone-db', 'keystone-db-init', 'MariaDB password of user keystone'),
      password(
        'keystone-admin-password',
        'keystone-admin',
        'keystone-bootstrap',
        'Password of the cloud administrator (user admin)',
      ),
      ...fernet,
      ...credential,
    ],
    configs: [
      {
        name: 'keystone',
        dir: etc,
        files: [
          { name: 'keystone.conf', ini: conf, validate: 'keystone.conf' },
          uwsgiIni(
            'keystone-api-uwsgi.ini',
            5000,
            { script: '/var/lib/openstack/bin/keystone-wsgi-public' },
            apiProcesses(ctx),
          ),
        ],
      },
    ],
    components: [
      dbInitJob(ctx, 'keystone', ['keystone']),
      dbSyncJob(ctx, 'keystone', 'keystone', ['keystone-manage', ...CONFIG_ARGS, 'db_sync'], 'keystone', [], {
        command: ['keystone-manage', ...hostArgs, 'db_sync'],
        packages: ['keystone'],
      }),
      bootstrap(ctx, keys),
      keystoneApi(ctx, etc, keys),
    ],
  };
}
