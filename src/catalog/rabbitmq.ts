/**
 * RabbitMQ: a StatefulSet whose users, vhosts and permissions come from a definitions file
 * (in a Secret) imported at boot, so no Job has to create them and no pod needs the
 * Kubernetes API (peers are listed statically: classic_config discovery, no RBAC).
 */
import { createHash } from 'node:crypto';
import type { CatalogContext } from './context.js';
import { password } from './common.js';
import { confLines } from './text-files.js';
import type { ComponentDef, ResolvedSettings, ServiceDef } from './types.js';

/** Services that talk to the broker; each gets a user and a vhost of its own. */
const RABBIT_USERS = ['nova', 'neutron', 'cinder'] as const;

/**
 * RabbitMQ's rabbit_password_hashing_sha256: base64(salt ++ sha256(salt ++ password)).
 * The salt is derived from user and password, so re-rendering gives byte-identical output.
 */
function rabbitPasswordHash(user: string, pw: string): string {
  const salt = createHash('sha256').update(`osk:${user}:${pw}`).digest().subarray(0, 4);
  const digest = createHash('sha256')
    .update(Buffer.concat([salt, Buffer.from(pw, 'utf8')]))
    .digest();
  return Buffer.concat([salt, digest]).toString('base64');
}

/** rabbitmq.conf: listeners, peers, partition handling, queue type and the definitions import. */
function rabbitConf(ctx: CatalogContext, n: number, defsDir: string): string {
  const user = ctx.spec.infra?.rabbitmq;
  const quorum = (user?.queueType ?? (ctx.ha ? 'quorum' : 'classic')) === 'quorum';
  const nodes = Array.from({ length: n }, (_, i) => `rabbit@${ctx.topology.podHost('rabbitmq', i)}`);
  const m = ctx.machine;
  return confLines('rabbitmq.conf', [
    // One host: every listener on loopback, and no peers to discover.
    ...(m
      ? [
          `listeners.tcp.1 = ${ctx.topology.bindAddress}:5672`,
          `management.tcp.ip = ${ctx.topology.bindAddress}`,
          'management.tcp.port = 15672',
          `prometheus.tcp.ip = ${ctx.topology.bindAddress}`,
          'prometheus.tcp.port = 15692',
        ]
      : [
          'listeners.tcp.default = 5672',
          'management.tcp.port = 15672',
          'prometheus.tcp.port = 15692',
          'cluster_formation.peer_discovery_backend = classic_config',
          ...nodes.map((node, i) => `cluster_formation.classic_config.nodes.${i + 1} = ${node}`),
        ]),
    `cluster_partition_handling = ${n > 1 ? 'pause_minority' : 'ignore'}`,
    `vm_memory_high_watermark.relative = ${user?.memoryHighWatermark ?? 0.4}`,
    'disk_free_limit.absolute = 1GB',
    // Classic is the default anyway, and RabbitMQ before 3.13 (Debian 12 has 3.10) rejects the key.
    ...(quorum ? ['default_queue_type = quorum'] : []),
    ...(quorum && user?.quorumInitialGroupSize
      ? [`quorum_queue.initial_cluster_size = ${user.quorumInitialGroupSize}`]
      : []),
    // skip_if_unchanged needs the explicit import backend (RabbitMQ 3.10 refuses it otherwise).
    'definitions.import_backend = local_filesystem',
    `definitions.local.path = ${defsDir}/definitions.json`,
    'definitions.skip_if_unchanged = true',
    'log.console = true',
    'log.console.level = info',
    'log.file = false',
    '',
  ]);
}

/** The definitions file imported at boot: the admin and one user and vhost per service. */
function definitions(ctx: CatalogContext) {
  const users = RABBIT_USERS.filter((s) => ctx.enabled(s));
  return {
    users: [
      {
        name: 'admin',
        password_hash: rabbitPasswordHash('admin', ctx.secret('rabbitmq-admin-password')),
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: ['administrator'],
      },
      ...users.map((u) => ({
        name: u,
        password_hash: rabbitPasswordHash(u, ctx.secret(`rabbitmq-${u}-password`)),
        hashing_algorithm: 'rabbit_password_hashing_sha256',
        tags: [] as string[],
      })),
    ],
    vhosts: [{ name: '/' }, ...users.map((u) => ({ name: u }))],
    permissions: [
      { user: 'admin', vhost: '/', configure: '.*', write: '.*', read: '.*' },
      ...users.map((u) => ({ user: u, vhost: u, configure: '.*', write: '.*', read: '.*' })),
    ],
    policies: [] as unknown[],
  };
}

/** On one host: the broker and its own epmd on loopback, its files under the state directory. */
function hostBroker(ctx: CatalogContext, etc: string) {
  const m = ctx.machine;
  const data = ctx.dataDir('rabbitmq');
  return m
    ? {
        host: {
          kind: 'process' as const,
          // Our own epmd, on loopback and in the same process group, so stopping the broker
          // stops it too (rabbitmq-server would otherwise start a detached one).
          command: ['sh', '-c', 'epmd -address "$ERL_EPMD_ADDRESS" & exec /usr/lib/rabbitmq/bin/rabbitmq-server'],
          env: {
            HOME: data,
            RABBITMQ_NODENAME: 'rabbit@localhost',
            RABBITMQ_NODE_IP_ADDRESS: ctx.topology.bindAddress,
            RABBITMQ_DIST_PORT: '25672',
            ERL_EPMD_ADDRESS: ctx.topology.bindAddress,
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS: '-kernel inet_dist_use_interface {127,0,0,1}',
            RABBITMQ_CONFIG_FILE: `${etc}/rabbitmq.conf`,
            RABBITMQ_ENABLED_PLUGINS_FILE: `${etc}/enabled_plugins`,
            RABBITMQ_CONF_ENV_FILE: `${etc}/rabbitmq-env.conf`,
            RABBITMQ_MNESIA_BASE: `${data}/mnesia`,
            RABBITMQ_LOG_BASE: `${data}/log`,
            RABBITMQ_PID_FILE: `${m.runDir}/rabbitmq.pid`,
          },
          packages: ['rabbitmq-server'],
          files: [
            { path: `${data}/.erlang.cookie`, secret: 'rabbitmq-erlang-cookie', mode: 0o400 },
            { path: `${etc}/rabbitmq-env.conf`, text: '# osk: settings come from the environment\n' },
          ],
          ports: [5672, 15672, 25672],
          ready: { tcp: 5672 },
        },
      }
    : {};
}

function server(ctx: CatalogContext, settings: ResolvedSettings, etc: string): ComponentDef {
  const user = ctx.spec.infra?.rabbitmq;
  const n = settings.replicas;
  return {
    id: 'rabbitmq',
    service: 'rabbitmq',
    part: 'server',
    workload: 'StatefulSet',
    // The nodes find each other only when all are up: they start together, not one by one.
    startTogether: true,
    image: 'rabbitmq',
    // The cookie must be a private file owned by rabbitmq; Secret volumes are read-only and
    // root-owned, so copy it into the data dir before starting. rabbitmq-server by name: the
    // official image has it on PATH (/opt/rabbitmq/sbin), Debian's package in /usr/sbin (a
    // wrapper that runs the server as is for the rabbitmq account, the pods' uid). The official
    // image's docker-entrypoint.sh only switches from root to that account, which the pods are.
    command: [
      'sh',
      '-c',
      'install -m 0400 /etc/rabbitmq/cookie/.erlang.cookie /var/lib/rabbitmq/.erlang.cookie && exec rabbitmq-server',
    ],
    env: [
      // Where the Erlang cookie is read (the official image sets it; Debian's account has it as home).
      { name: 'HOME', value: '/var/lib/rabbitmq' },
      { name: 'RABBITMQ_USE_LONGNAME', value: 'true' },
      { name: 'RABBITMQ_CONFIG_FILES', value: '/etc/rabbitmq/rabbitmq.conf' },
      { name: 'RABBITMQ_ENABLED_PLUGINS_FILE', value: '/etc/rabbitmq/enabled_plugins' },
    ],
    ports: [
      { name: 'amqp', port: 5672 },
      { name: 'management', port: 15672 },
      { name: 'prometheus', port: 15692 },
      ...(n > 1
        ? [
            { name: 'epmd', port: 4369 },
            { name: 'dist', port: 25672 },
          ]
        : []),
    ],
    service_: {
      ports: [
        { name: 'amqp', port: 5672 },
        { name: 'management', port: 15672 },
        { name: 'prometheus', port: 15692 },
      ],
      headless: true,
    },
    readiness: {
      exec: { command: ['rabbitmq-diagnostics', '-q', 'check_port_connectivity'] },
      initialDelaySeconds: 10,
      periodSeconds: 15,
      timeoutSeconds: 10,
    },
    liveness: {
      exec: { command: ['rabbitmq-diagnostics', '-q', 'ping'] },
      initialDelaySeconds: 60,
      periodSeconds: 30,
      timeoutSeconds: 15,
      failureThreshold: 5,
    },
    configs: ['rabbitmq', 'rabbitmq-definitions'],
    secretFiles: [{ k8sSecret: 'rabbitmq-erlang-cookie', mountPath: '/etc/rabbitmq/cookie' }],
    volumeClaim: {
      name: 'data',
      mountPath: '/var/lib/rabbitmq',
      size: user?.storage?.size ?? (ctx.ha ? '10Gi' : '2Gi'),
      ...ctx.storageClass(user?.storage?.storageClass),
    },
    runAsUser: 999,
    nodeRole: 'controlPlane',
    settings,
    ...hostBroker(ctx, etc),
  };
}

export function rabbitmq(ctx: CatalogContext): ServiceDef {
  const user = ctx.spec.infra?.rabbitmq;
  const settings = ctx.settings(user, 'controlPlane', {
    cpu: '250m',
    memory: '512Mi',
    memoryLimit: ctx.ha ? '2Gi' : '1Gi',
  });
  const etc = ctx.configDir('rabbitmq', '/etc/rabbitmq');
  const defsDir = ctx.configDir('rabbitmq-definitions', '/etc/rabbitmq/definitions');
  const conf = rabbitConf(ctx, settings.replicas, defsDir);
  return {
    name: 'rabbitmq',
    secrets: [
      password('rabbitmq-admin-password', 'rabbitmq-admin', undefined, 'RabbitMQ administrator password'),
      {
        name: 'rabbitmq-erlang-cookie',
        kind: 'token',
        k8sSecret: 'rabbitmq-erlang-cookie',
        key: '.erlang.cookie',
        description: 'Erlang distribution cookie shared by the RabbitMQ nodes',
      },
    ],
    configs: [
      {
        name: 'rabbitmq',
        dir: etc,
        files: [
          { name: 'rabbitmq.conf', text: conf },
          { name: 'enabled_plugins', text: '[rabbitmq_management,rabbitmq_prometheus].\n' },
        ],
      },
      {
        name: 'rabbitmq-definitions',
        dir: defsDir,
        files: [{ name: 'definitions.json', text: `${JSON.stringify(definitions(ctx), null, 2)}\n`, secret: true }],
      },
    ],
    components: [server(ctx, settings, etc)],
  };
}
