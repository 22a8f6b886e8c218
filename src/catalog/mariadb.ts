/** MariaDB: one node, or a Galera cluster (odd size) as a StatefulSet with stable pod names. */
import type { CatalogContext } from './context.js';
import { password } from './common.js';
import { MARIADB_DATA, MARIADB_PROBE, MARIADB_SOCKET, MARIADB_START } from './mariadb-scripts.js';
import { rowsEnv } from './script-input.js';
import { confLines } from './text-files.js';
import type { ComponentDef, ResolvedSettings, ServiceDef } from './types.js';

/** The all-in-one MariaDB's socket; root connects through it (unix_socket authentication). */
export function hostMariadbSocket(runDir: string): string {
  return `${runDir}/mysqld.sock`;
}

/** osk.cnf: the server's tuning (spec.infra.mariadb or the profile's), and Galera when n > 1. */
function myCnf(ctx: CatalogContext, peers: string[]): string {
  const user = ctx.spec.infra?.mariadb;
  const galera = peers.length > 1;
  const tuning = {
    // One host shares its memory with every service: 128M holds an all-in-one cloud's data.
    innodb_buffer_pool_size: user?.innodbBufferPoolSize ?? (ctx.ha ? '1G' : ctx.machine ? '128M' : '256M'),
    innodb_io_capacity: user?.innodbIoCapacity ?? (ctx.ha ? 1000 : 200),
    innodb_flush_neighbors: user?.innodbFlushNeighbors ?? 0,
    thread_cache_size: user?.threadCacheSize ?? (ctx.ha ? 64 : 16),
    max_connections: user?.maxConnections ?? (ctx.ha ? 4096 : 500),
  };
  return confLines('osk.cnf', [
    '[mysqld]',
    // In a pod this file is the only option file (start.sh: --defaults-file), so it names the
    // data directory and socket itself; on a host, osk up passes both on the command line.
    ...(ctx.machine ? [] : [`datadir = ${MARIADB_DATA}`, `socket = ${MARIADB_SOCKET}`]),
    `bind-address = ${ctx.topology.bindAddress}`,
    'port = 3306',
    'skip-name-resolve',
    'character-set-server = utf8mb4',
    'collation-server = utf8mb4_general_ci',
    'default-storage-engine = InnoDB',
    'innodb_file_per_table = 1',
    'innodb_flush_log_at_trx_commit = 2',
    'innodb_autoinc_lock_mode = 2',
    'binlog_format = ROW',
    `innodb_buffer_pool_size = ${tuning.innodb_buffer_pool_size}`,
    `innodb_io_capacity = ${tuning.innodb_io_capacity}`,
    `innodb_flush_neighbors = ${tuning.innodb_flush_neighbors}`,
    `thread_cache_size = ${tuning.thread_cache_size}`,
    `max_connections = ${tuning.max_connections}`,
    'wait_timeout = 3600',
    '',
    '[galera]',
    `wsrep_on = ${galera ? 'ON' : 'OFF'}`,
    ...(galera
      ? [
          'wsrep_provider = /usr/lib/galera/libgalera_smm.so',
          `wsrep_cluster_name = ${ctx.name}`,
          `wsrep_cluster_address = gcomm://${peers.join(',')}`,
          'wsrep_sst_method = mariabackup',
          'wsrep_slave_threads = 4',
          'wsrep_provider_options = "gcache.size=512M; gcache.recover=yes"',
        ]
      : []),
    '',
  ]);
}

/** On one host: mariadbd under the state directory, its system tables made once, root by socket. */
function hostServer(ctx: CatalogContext, etc: string) {
  const m = ctx.machine;
  if (!m) return {};
  const data = ctx.dataDir('mysql');
  // As root, mariadbd must be told to stay root; the data directory belongs to the state dir.
  const hostArgs = [
    `--defaults-file=${etc}/osk.cnf`,
    `--datadir=${data}`,
    `--socket=${hostMariadbSocket(m.runDir)}`,
    ...(m.root ? ['--user=root'] : []),
  ];
  return {
    host: {
      kind: 'process' as const,
      command: ['mariadbd', ...hostArgs, `--pid-file=${m.runDir}/mysqld.pid`],
      packages: ['mariadb-server'],
      dirs: [data],
      ports: [3306],
      // Root connects through the socket (unix_socket authentication): no password to keep.
      prepare: [
        {
          command: ['mariadb-install-db', ...hostArgs, '--auth-root-authentication-method=socket', '--skip-test-db'],
          unlessExists: `${data}/mysql`,
        },
      ],
      ready: {
        exec: ['mariadb-admin', `--socket=${hostMariadbSocket(m.runDir)}`, '--connect-timeout=2', 'ping'],
      },
    },
  };
}

function server(ctx: CatalogContext, settings: ResolvedSettings, peers: string[], etc: string): ComponentDef {
  const user = ctx.spec.infra?.mariadb;
  const n = settings.replicas;
  const galera = n > 1;
  return {
    id: 'mariadb',
    service: 'mariadb',
    part: 'server',
    workload: 'StatefulSet',
    image: 'mariadb',
    // bash: start.sh probes the Galera peers through /dev/tcp (see mariadb-scripts.ts).
    command: ['bash', `${etc}/start.sh`],
    env: [
      { name: 'MARIADB_ROOT_PASSWORD', secret: 'mariadb-root-password' },
      { name: 'MARIADB_AUTO_UPGRADE', value: '1' },
      // What start.sh reads: the cluster size and its members' stable host names.
      { name: 'GALERA_NODES', value: String(n) },
      { name: 'GALERA_PEERS', value: rowsEnv(peers.map((p) => [{ where: 'metadata.namespace', value: p }])) },
    ],
    ports: [
      { name: 'mysql', port: 3306 },
      ...(galera
        ? [
            { name: 'galera', port: 4567 },
            { name: 'ist', port: 4568 },
            { name: 'sst', port: 4444 },
          ]
        : []),
    ],
    service_: { ports: [{ name: 'mysql', port: 3306 }], headless: true },
    readiness: {
      exec: { command: ['sh', `${etc}/probe.sh`, ...(galera ? ['galera'] : [])] },
      periodSeconds: 10,
      timeoutSeconds: 5,
    },
    liveness: {
      exec: { command: ['sh', `${etc}/probe.sh`] },
      initialDelaySeconds: 120,
      periodSeconds: 20,
      timeoutSeconds: 10,
      failureThreshold: 6,
    },
    configs: ['mariadb'],
    volumeClaim: {
      name: 'data',
      mountPath: MARIADB_DATA,
      size: user?.storage?.size ?? (ctx.ha ? '20Gi' : '5Gi'),
      ...ctx.storageClass(user?.storage?.storageClass),
    },
    runAsUser: 999,
    nodeRole: 'controlPlane',
    settings,
    ...hostServer(ctx, etc),
  };
}

export function mariadb(ctx: CatalogContext): ServiceDef {
  const user = ctx.spec.infra?.mariadb;
  const settings = ctx.settings(user, 'controlPlane', {
    cpu: '500m',
    memory: '1Gi',
    memoryLimit: ctx.ha ? '4Gi' : '2Gi',
  });
  const peers = Array.from({ length: settings.replicas }, (_, i) => ctx.topology.podHost('mariadb', i));
  const etc = ctx.configDir('mariadb', '/etc/mysql/conf.d');
  return {
    name: 'mariadb',
    secrets: [password('mariadb-root-password', 'mariadb-root', undefined, 'MariaDB root password')],
    configs: [
      {
        name: 'mariadb',
        dir: etc,
        files: [
          { name: 'osk.cnf', text: myCnf(ctx, peers) },
          { name: 'start.sh', text: MARIADB_START, kubernetesOnly: true },
          { name: 'probe.sh', text: MARIADB_PROBE, kubernetesOnly: true },
        ],
      },
    ],
    components: [server(ctx, settings, peers, etc)],
  };
}
