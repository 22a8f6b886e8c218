/** Keystone: identity API, its schema, fernet/credential keys from the store, and bootstrap. */
import type { CatalogContext } from './context.js';
import { apiProcesses, dbInitJob, dbSyncJob, password, SIZES, uwsgiIni } from './common.js';
import type { SecretDef, ServiceDef } from './types.js';

export function keystone(ctx: CatalogContext): ServiceDef {
  const user = ctx.spec.services?.keystone;
  const token = { provider: 'fernet', expiration: 3600, cacheTime: 300, maxActiveKeys: 3, ...(user?.token ?? {}) };
  const internal = ctx.keystoneInternalUrl();
  const conf = ctx.ini('keystone.conf');
  conf.section('DEFAULT', { log_dir: '', use_stderr: true, max_token_size: 255 });
  conf.section('database', { connection: ctx.dbConnection('keystone', 'keystone', 'keystone-db-password', 'keystone-db-init'), ...ctx.dbSettings() });
  conf.section('token', { provider: token.provider, expiration: token.expiration, cache_time: token.cacheTime, caching: true });
  conf.section('fernet_tokens', { key_repository: '/etc/keystone/fernet-keys', max_active_keys: token.maxActiveKeys });
  conf.section('fernet_receipts', { key_repository: '/etc/keystone/fernet-keys', max_active_keys: token.maxActiveKeys });
  conf.section('credential', { key_repository: '/etc/keystone/credential-keys' });
  conf.section('cache', { enabled: true, backend: 'oslo_cache.memcache_pool', memcache_servers: ctx.memcachedServers() });
  conf.section('identity', { driver: 'sql' });
  conf.section('oslo_middleware', { enable_proxy_headers_parsing: true });
  conf.section('oslo_policy', { enforce_new_defaults: true, enforce_scope: true });

  // Key repositories: fernet keys 0 (staged) … n-1 (primary); credential keys 0 and 1.
  const fernet: SecretDef[] = Array.from({ length: token.maxActiveKeys }, (_, i) => ({
    name: `keystone-fernet-key-${i}`,
    kind: 'fernet-key' as const,
    k8sSecret: 'keystone-fernet-keys',
    key: String(i),
    description: `Keystone fernet key ${i}`,
  }));
  const credential: SecretDef[] = [0, 1].map((i) => ({ name: `keystone-credential-key-${i}`, kind: 'fernet-key' as const, k8sSecret: 'keystone-credential-keys', key: String(i), description: `Keystone credential encryption key ${i}` }));

  const keys = [
    { k8sSecret: 'keystone-fernet-keys', mountPath: '/etc/keystone/fernet-keys' },
    { k8sSecret: 'keystone-credential-keys', mountPath: '/etc/keystone/credential-keys' },
  ];
  const configArgs = ['--config-file', '/etc/keystone/keystone.conf', '--config-dir', '/etc/keystone/keystone.conf.d'];

  return {
    name: 'keystone',
    catalog: { type: 'identity', component: 'keystone-api', register: 'keystone-bootstrap' },
    secrets: [
      password('keystone-db-password', 'keystone-db', 'keystone-db-init', 'MariaDB password of user keystone'),
      password('keystone-admin-password', 'keystone-admin', 'keystone-bootstrap', 'Password of the cloud administrator (user admin)'),
      ...fernet,
      ...credential,
    ],
    configs: [
      {
        name: 'keystone',
        dir: '/etc/keystone',
        files: [
          { name: 'keystone.conf', ini: conf, validate: 'keystone.conf' },
          uwsgiIni('keystone-api-uwsgi.ini', 5000, { script: '/var/lib/openstack/bin/keystone-wsgi-public' }, apiProcesses(ctx)),
        ],
      },
    ],
    components: [
      dbInitJob(ctx, 'keystone', ['keystone']),
      dbSyncJob(ctx, 'keystone', 'keystone', ['keystone-manage', ...configArgs, 'db_sync'], 'keystone'),
      {
        id: 'keystone-bootstrap',
        service: 'keystone',
        part: 'bootstrap',
        workload: 'Job',
        image: 'keystone',
        command: [
          'sh',
          '-c',
          `exec keystone-manage ${configArgs.join(' ')} bootstrap --bootstrap-username admin --bootstrap-password "$ADMIN_PASSWORD" --bootstrap-project-name admin --bootstrap-role-name admin --bootstrap-service-name keystone --bootstrap-region-id "$REGION" --bootstrap-admin-url "$INTERNAL_URL" --bootstrap-internal-url "$INTERNAL_URL" --bootstrap-public-url "$PUBLIC_URL"`,
        ],
        env: [
          { name: 'ADMIN_PASSWORD', secret: 'keystone-admin-password' },
          { name: 'REGION', value: ctx.region },
          { name: 'INTERNAL_URL', value: `${internal}/v3` },
          { name: 'PUBLIC_URL', value: `${ctx.publicUrl('identity', internal)}/v3` },
        ],
        configs: ['keystone'],
        readsSections: ['DEFAULT', 'database', 'token', 'fernet_tokens', 'fernet_receipts', 'credential', 'identity'],
        secretFiles: keys,
        after: [{ target: 'keystone-db-sync', why: 'bootstrap writes into the schema that keystone-db-sync creates' }],
        nodeRole: 'controlPlane',
        settings: ctx.settings(undefined, 'controlPlane', { cpu: '100m', memory: '128Mi', memoryLimit: '512Mi', haReplicas: 1 }),
        backoffLimit: 6,
      },
      {
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
        readiness: { http: { path: '/v3', port: 5000 }, periodSeconds: 10, timeoutSeconds: 5 },
        liveness: { http: { path: '/v3', port: 5000 }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 10, failureThreshold: 5 },
        configs: ['keystone'],
        secretFiles: keys,
        after: [{ target: 'keystone-db-sync', why: 'the API serves from the schema keystone-db-sync brings to head' }],
        runAsUser: 42424,
        nodeRole: 'controlPlane',
        settings: ctx.settings(user?.api, 'controlPlane', SIZES.api),
      },
    ],
  };
}
