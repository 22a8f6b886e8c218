/**
 * Nova: API, metadata, conductor, scheduler, noVNC proxy; nova-compute and libvirt as
 * DaemonSets on compute nodes (a second pair on GPU nodes when they are declared); jobs for the
 * schema and cells (cell0 and cell1) and for host discovery.
 */
import { cephAfter, cephMounts, cephTraffic, hostCephEnabled, libvirtCephSecret, RBD_PACKAGES } from './ceph.js';
import type { CatalogContext, HostHypervisor } from './context.js';
import { hostVirtlogd, libvirtBundle, libvirtHost } from './libvirt-host.js';
import { computeHypervisor } from './hypervisor.js';
import { hostHasDatapath } from './ovs-host.js';
import {
  apiProbes,
  apiProcesses,
  dbInitJob,
  dbSyncJob,
  hostConfigArgs,
  ksRegisterJob,
  ksUserJob,
  password,
  serviceSecrets,
  SIZES,
  uwsgiIni,
} from './common.js';
import { novaConf } from './nova-conf.js';
import type { ComponentDef, ServiceDef } from './types.js';

/** API and cell schemas, cell0 and cell1 mapped; "$@" are nova-manage's config arguments. */
const NOVA_DB_SYNC = [
  'set -e',
  'nova-manage "$@" api_db sync',
  'nova-manage "$@" cell_v2 map_cell0',
  `nova-manage "$@" cell_v2 list_cells | grep -q ' cell1 ' || nova-manage "$@" cell_v2 create_cell --name cell1 --verbose`,
  'nova-manage "$@" db sync',
  'nova-manage "$@" db online_data_migrations',
].join('\n');

/**
 * Host discovery on Kubernetes: nova-compute registers its service and compute node some seconds
 * after its process starts, and the process is all its readiness sees (it has no database to ask),
 * so one discover_hosts right after it would often map nothing, and servers would fail with "Host
 * is not mapped to any cell" until the scheduler's next periodic discovery. Discovers again
 * until at least one host is mapped: $1 tries, $2 seconds apart; the rest are nova-manage's
 * config arguments. (One host needs no loop: its nova-compute is ready once its row exists.)
 */
export const CELL_SETUP_SCRIPT = `set -eu
tries=$1 pause=$2
shift 2
i=0
while :; do
  nova-manage "$@" cell_v2 discover_hosts --verbose
  # list_hosts prints a table: its header row and one row per mapped host, each starting with |.
  rows=$(nova-manage "$@" cell_v2 list_hosts | grep -c '^|' || true)
  [ "$rows" -le 1 ] || exit 0
  i=$((i + 1))
  if [ "$i" -ge "$tries" ]; then
    echo "osk: no nova-compute has registered a host after $i discoveries: is a compute node labelled, and does nova-compute reach RabbitMQ and nova-conductor? (kubectl logs of its pods)" >&2
    exit 1
  fi
  sleep "$pause"
done`;

type NovaUser = NonNullable<NonNullable<CatalogContext['spec']['services']>['nova']>;

/** What the Nova components share: config arguments, sizes, readiness and the schema they wait for. */
function novaParts(ctx: CatalogContext) {
  const user = ctx.spec.services?.nova;
  const m = ctx.machine;
  return {
    ctx,
    user,
    m,
    args: ['--config-file', '/etc/nova/nova.conf', '--config-dir', '/etc/nova/nova.conf.d'],
    hostArgs: hostConfigArgs(ctx, 'nova', '/etc/nova', 'nova.conf'),
    hostComputeArgs: hostConfigArgs(ctx, 'nova-compute', '/etc/nova', 'nova.conf'),
    novaPackages: ['nova-api', 'nova-conductor', 'nova-scheduler'],
    // A service row that nova-<binary> refreshed within the last minute: what `openstack compute
    // service list` shows as "up" (report_interval is 10 s).
    serviceUp: (binary: string) => ({
      sql: {
        query: `SELECT COUNT(*) FROM nova.services WHERE \`binary\` = '${binary}' AND host = '${m?.hostname ?? ''}' AND deleted = 0 AND updated_at > UTC_TIMESTAMP() - INTERVAL 60 SECOND`,
        what: `${binary} reports as up in nova.services`,
      },
    }),
    skipOnHost: (why: string) => (m ? { host: { kind: 'skip' as const, why } } : {}),
    settings: (part: keyof NovaUser, size: typeof SIZES.api | typeof SIZES.worker | typeof SIZES.agent) =>
      ctx.settings(user?.[part] as never, 'controlPlane', size),
    schema: {
      target: 'nova-db-sync',
      why: 'nova-db-sync brings the API and cell schemas to head and maps cell0/cell1',
    },
  };
}
type NovaParts = ReturnType<typeof novaParts>;

/** The jobs of the schema, the cells and the Keystone user and endpoints. */
function novaJobs({ ctx, args, hostArgs, novaPackages }: NovaParts): ComponentDef[] {
  const internal = `http://${ctx.topology.host('nova-api')}:8774/v2.1`;
  return [
    dbInitJob(ctx, 'nova', ['nova_api', 'nova', 'nova_cell0']),
    // The config arguments are the script's positional parameters: on a host they hold the
    // state directory's path, which is data, not script text.
    dbSyncJob(ctx, 'nova', 'nova', ['sh', '-c', NOVA_DB_SYNC, 'nova-db-sync', ...args], 'nova', [], {
      command: ['sh', '-c', NOVA_DB_SYNC, 'nova-db-sync', ...hostArgs],
      packages: novaPackages,
    }),
    ksUserJob(ctx, 'nova'),
    ksRegisterJob(ctx, 'nova', 'compute', 'nova', internal, 'compute'),
  ];
}

function worker(
  { ctx, args, hostArgs, schema, settings, serviceUp }: NovaParts,
  part: 'conductor' | 'scheduler',
): ComponentDef {
  return {
    id: `nova-${part}`,
    service: 'nova',
    part,
    workload: 'Deployment',
    image: 'nova',
    command: [`nova-${part}`, ...args],
    readiness: {
      exec: { command: ['sh', '-c', `test -d /proc/1 && pgrep -f nova-${part} >/dev/null`] },
      periodSeconds: 30,
      timeoutSeconds: 10,
    },
    liveness: {
      exec: { command: ['sh', '-c', `pgrep -f nova-${part} >/dev/null`] },
      initialDelaySeconds: 60,
      periodSeconds: 60,
      timeoutSeconds: 10,
    },
    configs: ['nova'],
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/nova/tmp' }],
    after: [schema],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    settings: settings(part, SIZES.worker),
    host: {
      kind: 'process',
      command: [`nova-${part}`, ...hostArgs],
      packages: [`nova-${part}`],
      dirs: [`${ctx.dataDir('nova')}/tmp`],
      ready: serviceUp(`nova-${part}`),
    },
  };
}

function novaApi({ ctx, hostArgs, schema, settings }: NovaParts): ComponentDef {
  return {
    id: 'nova-api',
    service: 'nova',
    part: 'api',
    workload: 'Deployment',
    image: 'nova',
    command: ['uwsgi', '--ini', '/etc/nova/nova-api-uwsgi.ini'],
    ports: [{ name: 'http', port: 8774 }],
    service_: { ports: [{ name: 'http', port: 8774 }] },
    publicHost: 'compute',
    publicPort: 8774,
    ...apiProbes('/', 8774),
    configs: ['nova'],
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/nova/tmp' }],
    after: [schema],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    settings: settings('api', SIZES.api),
    // The eventlet nova-api, not uwsgi: under uwsgi's threads, calls that wait for an RPC reply
    // from nova-compute were seen to time out on this kind of host.
    host: {
      kind: 'process',
      command: ['nova-api', ...hostArgs],
      packages: ['nova-api'],
      dirs: [`${ctx.dataDir('nova')}/tmp`],
      ports: [8774],
      ready: { http: { port: 8774, path: '/' } },
    },
  };
}

function novaMetadata({ ctx, hostArgs, schema, settings, skipOnHost }: NovaParts): ComponentDef {
  return {
    id: 'nova-metadata',
    service: 'nova',
    part: 'metadata',
    workload: 'Deployment',
    image: 'nova',
    command: ['uwsgi', '--ini', '/etc/nova/nova-metadata-uwsgi.ini'],
    ports: [{ name: 'http', port: 8775 }],
    service_: { ports: [{ name: 'http', port: 8775 }] },
    readiness: { tcp: { port: 8775 }, periodSeconds: 10, timeoutSeconds: 5 },
    liveness: { tcp: { port: 8775 }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 10 },
    configs: ['nova'],
    emptyDirs: [{ name: 'tmp', mountPath: '/var/lib/nova/tmp' }],
    after: [schema],
    // The OVN metadata agents run on the host network of compute nodes.
    externalPorts: [8775],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    settings: settings('metadata', SIZES.api),
    // One host: served to the guests through the OVN metadata agent, so only with a datapath.
    // Debian 12 packages no nova-api-metadata: nova-api serves what enabled_apis lists, so a
    // second nova-api (eventlet, as the compute API here) with a last file that says metadata.
    ...(hostHasDatapath(ctx)
      ? {
          host: {
            kind: 'process' as const,
            command: ['nova-api', ...hostArgs, '--config-file', `${ctx.dataDir('nova')}/metadata-api.conf`],
            packages: ['nova-api'],
            dirs: [`${ctx.dataDir('nova')}/tmp`],
            files: [
              {
                path: `${ctx.dataDir('nova')}/metadata-api.conf`,
                text: '# Written by osk: this nova-api serves the metadata API only.\n[DEFAULT]\nenabled_apis = metadata\n',
              },
            ],
            ports: [8775],
            ready: { tcp: 8775 },
          },
        }
      : skipOnHost('the fake hypervisor runs no guest that would read metadata')),
  };
}

function novncProxy({ m, args, schema, settings, skipOnHost }: NovaParts): ComponentDef {
  return {
    id: 'nova-novncproxy',
    service: 'nova',
    part: 'novncproxy',
    workload: 'Deployment',
    image: 'nova',
    command: ['nova-novncproxy', ...args, '--web', '/usr/share/novnc'],
    ports: [{ name: 'vnc', port: 6080 }],
    service_: { ports: [{ name: 'vnc', port: 6080 }] },
    publicHost: 'novnc',
    publicPort: 6080,
    readiness: { tcp: { port: 6080 }, periodSeconds: 10, timeoutSeconds: 5 },
    liveness: { tcp: { port: 6080 }, initialDelaySeconds: 30, periodSeconds: 20, timeoutSeconds: 10 },
    configs: ['nova'],
    after: [schema],
    runAsUser: 42424,
    nodeRole: 'controlPlane',
    settings: settings('novncproxy', SIZES.worker),
    ...skipOnHost(
      m?.hypervisor === 'fake'
        ? 'consoles need a real hypervisor; the fake driver has none'
        : 'not run on one host yet, so guests get no VNC server; their serial console log is there (openstack console log show)',
    ),
  };
}

/** Where libvirt and nova-compute of one node role run, and the host paths they share. */
function computeNode({ ctx }: NovaParts, role: 'compute' | 'gpu') {
  const suffix = role === 'gpu' ? '-gpu' : '';
  const avoid = role === 'compute' ? ctx.spec.nodes?.gpu?.selector : undefined;
  const node = { nodeRole: role, ...(avoid ? { avoidNodeLabels: avoid } : {}) };
  const hostRun = {
    name: 'run-libvirt',
    path: '/run/libvirt',
    mountPath: '/run/libvirt',
    type: 'DirectoryOrCreate' as const,
  };
  const instances = {
    name: 'instances',
    path: '/var/lib/nova/instances',
    mountPath: '/var/lib/nova/instances',
    type: 'DirectoryOrCreate' as const,
  };
  return { role, suffix, node, hostRun, instances };
}
type ComputeNode = ReturnType<typeof computeNode>;

function libvirt({ ctx, user, m }: NovaParts, { role, suffix, node, hostRun, instances }: ComputeNode): ComponentDef {
  return {
    id: `libvirt${suffix}`,
    service: 'nova',
    part: 'libvirt',
    workload: 'DaemonSet',
    image: 'libvirt',
    command: ['sh', '-c', 'rm -f /run/libvirt/libvirtd.pid; exec libvirtd --listen'],
    readiness: {
      exec: { command: ['virsh', '-c', 'qemu:///system', 'version'] },
      periodSeconds: 15,
      timeoutSeconds: 10,
    },
    liveness: {
      exec: { command: ['virsh', '-c', 'qemu:///system', 'version'] },
      initialDelaySeconds: 30,
      periodSeconds: 30,
      timeoutSeconds: 10,
    },
    ...(m && m.hypervisor !== 'fake'
      ? {
          configs: ['libvirt'],
          after: [{ target: 'virtlogd', why: "libvirtd's QEMU driver hands every guest's output to virtlogd" }],
        }
      : {}),
    hostNetwork: true,
    privileged: true,
    hostPaths: [
      hostRun,
      instances,
      { name: 'dev', path: '/dev', mountPath: '/dev', type: 'Directory' },
      { name: 'lib-modules', path: '/lib/modules', mountPath: '/lib/modules', type: 'Directory' },
      { name: 'cgroup', path: '/sys/fs/cgroup', mountPath: '/sys/fs/cgroup', type: 'Directory' },
    ],
    ...node,
    // QEMU opens the instances' RBD disks itself, with the key of the libvirt secret that
    // nova.conf and cinder.conf name (rbd_secret_uuid): defined here when libvirtd starts.
    ...cephTraffic(ctx),
    ...libvirtCephSecret(ctx),
    settings: ctx.settings(user?.libvirt, role, { cpu: '100m', memory: '256Mi', memoryLimit: '2Gi' }),
    ...(m ? { host: libvirtHost(ctx, 'libvirtd') } : {}),
  };
}

function novaCompute(
  { ctx, user, m, args, hostComputeArgs }: NovaParts,
  { role, suffix, node, hostRun, instances }: ComputeNode,
  withLibvirt: boolean,
): ComponentDef {
  return {
    id: `nova-compute${suffix}`,
    service: 'nova',
    part: 'compute',
    workload: 'DaemonSet',
    image: 'nova',
    command: ['nova-compute', ...args],
    readiness: {
      exec: { command: ['sh', '-c', 'pgrep -f nova-compute >/dev/null'] },
      periodSeconds: 30,
      timeoutSeconds: 10,
    },
    liveness: {
      exec: { command: ['sh', '-c', 'pgrep -f nova-compute >/dev/null'] },
      initialDelaySeconds: 120,
      periodSeconds: 60,
      timeoutSeconds: 10,
    },
    configs: ['nova-compute'],
    // [libvirt] images_type = rbd: instance disks are RBD images in the vms pool.
    ...cephMounts(ctx, ['nova-compute']),
    hostNetwork: true,
    privileged: true,
    hostPaths: withLibvirt ? [hostRun, instances] : [instances],
    after: [
      ...(withLibvirt
        ? [
            {
              target: `libvirt${suffix}`,
              why: 'nova-compute drives the local libvirtd through /run/libvirt/libvirt-sock',
            },
          ]
        : []),
      {
        target: 'nova-conductor',
        why: 'nova-compute reaches the database only through nova-conductor (RPC) and waits for it at start',
      },
      ...(ctx.enabled('neutron')
        ? [{ target: `ovn-controller${suffix}`, why: 'instance ports are bound by the local ovn-controller' }]
        : []),
      ...cephAfter(ctx, { libvirt: true }),
    ],
    ...node,
    settings: ctx.settings(user?.compute, role, { cpu: '250m', memory: '512Mi', memoryLimit: '4Gi' }),
    ...(m
      ? {
          host: {
            kind: 'process' as const,
            command: ['nova-compute', ...hostComputeArgs],
            dirs: [`${ctx.dataDir('nova')}/tmp`, `${ctx.dataDir('nova')}/instances`],
            packages: ['nova-compute', ...computeFlavour(m.hypervisor), ...(hostCephEnabled(ctx) ? RBD_PACKAGES : [])],
            ready: {
              sql: {
                query: `SELECT COUNT(*) FROM nova.compute_nodes WHERE host = '${m.hostname}' AND deleted = 0`,
                what: `nova-compute registered compute node ${m.hostname}`,
              },
            },
          },
        }
      : {}),
  };
}

/**
 * The package that satisfies nova-compute's dependency on a hypervisor (nova-compute-kvm |
 * nova-compute-hypervisor). Each of them ships only /etc/nova/nova-compute.conf, which osk does
 * not read (nova-compute gets osk's own config files), so the choice is only about what they
 * pull in. Fake: nova-compute-ironic, the lightest. Libvirt, TCG or KVM alike:
 * nova-compute-kvm, which depends on qemu-system-x86; nova-compute-qemu depends on the
 * qemu-system metapackage, the emulators of every architecture (arm, mips, ppc, sparc, misc:
 * about 360 MB installed on Debian 12, per apt-cache), which an x86_64 guest under TCG never
 * uses. genisoimage: Nova writes config drives with it, and nova-compute does not depend on it.
 */
function computeFlavour(h: HostHypervisor): string[] {
  return h === 'fake' ? ['nova-compute-ironic'] : ['nova-compute-kvm', 'genisoimage'];
}

/** The hypervisor hosts' side, libvirt and nova-compute, for compute nodes and (when declared) GPU nodes. */
function computeComponents(p: NovaParts): ComponentDef[] {
  const roles = ['compute', ...(p.ctx.spec.nodes?.gpu ? ['gpu' as const] : [])] as const;
  // On Kubernetes the fake driver needs no libvirtd at all (one host lists it, skipped, so that
  // `osk status` says why it does not run).
  const withLibvirt = p.m !== undefined || computeHypervisor(p.ctx) !== 'fake';
  return [
    ...(p.m && p.m.hypervisor !== 'fake' ? [hostVirtlogd(p.ctx)] : []),
    ...roles.flatMap((role) => {
      const where = computeNode(p, role);
      return [...(withLibvirt ? [libvirt(p, where)] : []), novaCompute(p, where, withLibvirt)];
    }),
  ];
}

function cellSetup({ ctx, args, hostArgs, novaPackages }: NovaParts): ComponentDef {
  return {
    id: 'nova-cell-setup',
    service: 'nova',
    part: 'cell-setup',
    workload: 'Job',
    image: 'nova',
    // Up to five minutes for the first host.
    command: ['sh', '-c', CELL_SETUP_SCRIPT, 'nova-cell-setup', '60', '5', ...args],
    configs: ['nova'],
    readsSections: ['DEFAULT', 'database', 'api_database'],
    after: [{ target: 'nova-compute', why: 'host discovery maps the compute services that nova-compute registered' }],
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', SIZES.job),
    backoffLimit: 6,
    host: {
      kind: 'step',
      command: ['nova-manage', ...hostArgs, 'cell_v2', 'discover_hosts', '--verbose'],
      packages: novaPackages,
    },
  };
}

export function nova(ctx: CatalogContext): ServiceDef {
  const conf = novaConf(ctx, false);
  const computeConf = novaConf(ctx, true);
  const p = novaParts(ctx);
  const components: ComponentDef[] = [
    ...novaJobs(p),
    novaApi(p),
    novaMetadata(p),
    worker(p, 'conductor'),
    worker(p, 'scheduler'),
    novncProxy(p),
    ...computeComponents(p),
    cellSetup(p),
  ];

  return {
    name: 'nova',
    catalog: { type: 'compute', component: 'nova-api', register: 'nova-ks-register' },
    secrets: [
      ...serviceSecrets('nova', { rabbit: true }),
      password(
        'nova-metadata-secret',
        'nova-metadata',
        undefined,
        'Shared secret between the Neutron metadata agents and the Nova metadata API',
        'secret',
      ),
    ],
    configs: [
      {
        name: 'nova',
        dir: ctx.configDir('nova', '/etc/nova'),
        files: [
          { name: 'nova.conf', ini: conf, validate: 'nova.conf' },
          uwsgiIni('nova-api-uwsgi.ini', 8774, { module: 'nova.wsgi.osapi_compute:application' }, apiProcesses(ctx)),
          uwsgiIni('nova-metadata-uwsgi.ini', 8775, { module: 'nova.wsgi.metadata:application' }, apiProcesses(ctx)),
        ],
      },
      {
        name: 'nova-compute',
        dir: ctx.configDir('nova-compute', '/etc/nova'),
        files: [{ name: 'nova.conf', ini: computeConf, validate: 'nova.conf' }],
      },
      ...libvirtBundle(ctx),
    ],
    components,
  };
}
