/**
 * The Ceph cluster of one all-in-one cloud whose storage backend is Ceph: one monitor, one
 * manager and one OSD, supervised like every other program of the cloud, on loopback, with all
 * their files in the state directory. The OSD is BlueStore on a sparse file (bluestore_block_path
 * inside its data directory): no LVM, no device-mapper and no loop device, which many hosts, this
 * project's CI among them, do not have (ceph-volume needs LVM, so osk prepares the OSD with
 * ceph-osd --mkfs itself). Pure, like ovs-host.ts: the catalog makes components, targets/local
 * runs them.
 *
 * Keys: the monitor's, client.admin's and the cloud's client user's are cephx keys osk generates
 * into its secret store (config/secrets.ts), so they are backed up and never change; the
 * manager's and the OSD's are made by the monitor on their first start and kept in their data
 * directories, as Ceph does. Keys reach the scripts as files osk writes (mode 0600) or, for a
 * one-off step, in the environment; keyrings are written by printf, a shell builtin, so no key is
 * ever on a command line. The fsid is no credential: it is an argument. Every value of the cloud file a script uses (the pools, the user) is an argument.
 */
import { SIZES } from './common.js';
import type { CatalogContext } from './context.js';
import type { AfterDef, ComponentDef, ConfigBundleDef, HostDef } from './types.js';
import type { SecretDef } from '../config/secrets.js';
import { withBindMounts } from './host-mounts.js';
import { confLines } from './text-files.js';

/** Where the monitor listens and which network the daemons and clients share. */
export interface CephNet {
  /** The monitor's addresses as a monitor map has them: [v2:ip:3300,v1:ip:6789]. */
  monAddrs: string;
  publicNetwork: string;
}

/** The cloud's cluster: msgr2 and the legacy protocol on loopback (one cloud per host, like its API ports). */
const LOOPBACK: CephNet = { monAddrs: '[v2:127.0.0.1:3300,v1:127.0.0.1:6789]', publicNetwork: '127.0.0.0/8' };
/** The daemons' ids: one of each, named after osk rather than the host (a host name may hold dots). */
const DAEMON_ID = 'osk';
/**
 * The OSD's file: sparse, so it takes on disk what the volumes hold, up to this. 20 GiB is room
 * for a few guests' volumes, snapshots and backups on a development or test host.
 */
const OSD_FILE_BYTES = 20 * 1024 ** 3;
/**
 * The least BlueStore accepts as its memory target (896 MiB): its caches shrink to it. The OSD
 * of a test cloud holds little data, and the default (4 GiB) would be most of a small host.
 */
const OSD_MEMORY_TARGET = 896 * 1024 ** 2;
/**
 * Manager modules never loaded: the ones that are neither always on nor used by RBD (dashboard,
 * exporters, orchestrators, NFS, CephFS tools). Loading them all costs ~160 MiB more.
 */
const MGR_DISABLED_MODULES = [
  'alerts',
  'diskprediction_local',
  'influx',
  'insights',
  'iostat',
  'localpool',
  'mirroring',
  'nfs',
  'osd_perf_query',
  'osd_support',
  'prometheus',
  'restful',
  'selftest',
  'snap_schedule',
  'stats',
  'telegraf',
  'test_orchestrator',
  'zabbix',
];

export const HOST_CEPH_SECRETS = {
  fsid: { name: 'ceph-fsid', kind: 'uuid', description: "The one-host Ceph cluster's fsid" },
  mon: { name: 'ceph-mon-key', kind: 'cephx-key', description: "The one-host Ceph monitors' key (mon.)" },
  admin: { name: 'ceph-admin-key', kind: 'cephx-key', description: "The one-host Ceph's client.admin key" },
  client: {
    name: 'ceph-client-key',
    kind: 'cephx-key',
    description: "The key of the one-host Ceph's user for Cinder, Glance and Nova (spec.storage.ceph.user)",
  },
} as const;

/** The SecretDefs: a store entry each; the Kubernetes Secret names are unused (one host only). */
export function hostCephSecretDefs(): SecretDef[] {
  return Object.values(HOST_CEPH_SECRETS).map((s) => ({ ...s, k8sSecret: `osk-${s.name}`, key: 'value' }));
}

export interface HostCephLayout {
  /** The cluster's /etc/ceph: ceph.conf and the keyring os-brick reads (hostCephEtcBind). */
  etc: string;
  conf: string;
  /** The cloud user's keyring, where os-brick looks for it: /etc/ceph/ceph.client.<user>.keyring. */
  clientKeyring: string;
  /** The key files: the monitors' (read once, by mkfs), and the `keyfile`s of client.admin and the cloud's user. */
  monKey: string;
  adminKey: string;
  clientKey: string;
  data: string;
  run: string;
}

export function hostCephLayout(ctx: CatalogContext, user: string): HostCephLayout {
  const etc = ctx.configDir('ceph', '/etc/ceph');
  return {
    etc,
    conf: `${etc}/ceph.conf`,
    clientKeyring: `${etc}/ceph.client.${user}.keyring`,
    monKey: `${ctx.dataDir('ceph')}/keys/mon.key`,
    adminKey: `${ctx.dataDir('ceph')}/keys/client.admin.key`,
    clientKey: `${ctx.dataDir('ceph')}/keys/client.${user}.key`,
    data: ctx.dataDir('ceph'),
    run: `${ctx.machine!.runDir}/ceph`,
  };
}

/**
 * ceph.conf of the one-host cluster: every path in the state directory, nothing from /etc/ceph.
 * Also the conf of the Ceph cluster the real-node e2e runs for its pods (test/cluster/ceph.ts),
 * on an address they reach.
 */
export function hostCephConf(l: HostCephLayout, fsid: string, user: string, net: CephNet = LOOPBACK): string {
  const daemonLogs = ['log_to_file = false', 'log_to_stderr = true', 'err_to_stderr = true'];
  return confLines('ceph.conf', [
    '# Written by osk: the Ceph cluster of one all-in-one cloud (src/catalog/ceph-host.ts).',
    '[global]',
    `fsid = ${fsid}`,
    `mon_host = ${net.monAddrs}`,
    `public_network = ${net.publicNetwork}`,
    'auth_cluster_required = cephx',
    'auth_service_required = cephx',
    'auth_client_required = cephx',
    'auth_allow_insecure_global_id_reclaim = false',
    '# One OSD: one copy of each object, placed on the one host.',
    'osd_pool_default_size = 1',
    'osd_pool_default_min_size = 1',
    'osd_crush_chooseleaf_type = 0',
    'mon_allow_pool_size_one = true',
    'mon_warn_on_pool_no_redundancy = false',
    `run_dir = ${l.run}`,
    `admin_socket = ${l.run}/$cluster-$name.asok`,
    `mon_data = ${l.data}/mon/$cluster-$id`,
    `mgr_data = ${l.data}/mgr/$cluster-$id`,
    `osd_data = ${l.data}/osd/$cluster-$id`,
    '# The monitor shares the host disk with everything else: warn when 10% is left, not 30%.',
    'mon_data_avail_warn = 10',
    '',
    '[mon]',
    ...daemonLogs,
    '',
    '[mgr]',
    ...daemonLogs,
    `mgr_disabled_modules = ${MGR_DISABLED_MODULES.join(',')}`,
    '',
    '[osd]',
    ...daemonLogs,
    'osd_objectstore = bluestore',
    'bluestore_block_create = true',
    `bluestore_block_size = ${OSD_FILE_BYTES}`,
    `osd_memory_target = ${OSD_MEMORY_TARGET}`,
    '',
    '[client.admin]',
    `keyfile = ${l.adminKey}`,
    '',
    `[client.${user}]`,
    `keyfile = ${l.clientKey}`,
    '',
  ]);
}

/**
 * The monitor: on first start (no data directory) a keyring of mon. and client.admin from their
 * key files and a monitor map of one monitor, then `ceph-mon --mkfs`; then the monitor in the
 * foreground. A half-made directory (no `osk-made` marker) is made again: it holds no data yet.
 */
const MON_SCRIPT = `set -eu
conf=$1 id=$2 dir=$3 addrs=$4 fsid=$5 mon_keyfile=$6 admin_keyfile=$7
if [ ! -e "$dir/osk-made" ]; then
  rm -rf "$dir"
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  umask 077
  mon_key=$(cat "$mon_keyfile")
  admin_key=$(cat "$admin_keyfile")
  printf '[mon.]\\n\\tkey = %s\\n\\tcaps mon = "allow *"\\n[client.admin]\\n\\tkey = %s\\n\\tcaps mon = "allow *"\\n\\tcaps osd = "allow *"\\n\\tcaps mgr = "allow *"\\n\\tcaps mds = "allow *"\\n' "$mon_key" "$admin_key" > "$tmp/keyring"
  monmaptool --create --addv "$id" "$addrs" --fsid "$fsid" "$tmp/monmap" >/dev/null
  ceph-mon --conf "$conf" --mkfs -i "$id" --monmap "$tmp/monmap" --keyring "$tmp/keyring"
  : > "$dir/osk-made"
  rm -rf "$tmp"
  trap - EXIT
fi
exec ceph-mon -f --conf "$conf" -i "$id"`;

/** The manager: its key from the monitor on first start, kept in its data directory. */
const MGR_SCRIPT = `set -eu
conf=$1 id=$2 dir=$3
mkdir -p "$dir"
if [ ! -s "$dir/keyring" ]; then
  ceph --conf "$conf" --name client.admin auth get-or-create "mgr.$id" mon 'allow profile mgr' osd 'allow *' mds 'allow *' -o "$dir/keyring.new"
  mv "$dir/keyring.new" "$dir/keyring"
fi
exec ceph-mgr -f --conf "$conf" -i "$id"`;

/**
 * The OSD: on first start a UUID kept beside its directory, `ceph osd new` (which gives the same
 * id for the same UUID, so a start that failed half-way picks up its id), its key from the
 * monitor, then `ceph-osd --mkfs` on the sparse file; the directory counts as made once mkfs
 * wrote `mkfs_done`, and its key is fetched until it is there (a start that stopped between the
 * two gets it). Then the OSD in the foreground; it adds itself to the CRUSH map at start.
 */
const OSD_SCRIPT = `set -eu
conf=$1 base=$2
mkdir -p "$base"
[ -s "$base/osd-uuid" ] || cat /proc/sys/kernel/random/uuid > "$base/osd-uuid"
uuid=$(cat "$base/osd-uuid")
id=$(ceph --conf "$conf" --name client.admin osd new "$uuid")
case $id in ''|*[!0-9]*) echo "osk: ceph osd new gave $id, not an OSD id" >&2; exit 1 ;; esac
dir="$base/ceph-$id"
if [ ! -e "$dir/mkfs_done" ]; then
  rm -rf "$dir"
  mkdir -p "$dir"
  ceph-osd --conf "$conf" -i "$id" --mkfs --osd-uuid "$uuid" --no-mon-config
fi
[ -s "$dir/keyring" ] || ceph --conf "$conf" --name client.admin auth get-or-create "osd.$id" mon 'allow profile osd' mgr 'allow profile osd' osd 'allow *' -o "$dir/keyring"
exec ceph-osd -f --conf "$conf" -i "$id"`;

/**
 * The pools (made once, each initialised for RBD) and the cloud's user, imported with the key of
 * osk's store and RBD's capabilities on exactly these pools (`auth import` sets both, so a rerun
 * repairs them); then the user's keyring for os-brick.
 */
const POOLS_SCRIPT = `set -eu
conf=$1 user=$2 keyring=$3
shift 3
caps=
for pool in "$@"; do
  ceph --conf "$conf" --name client.admin osd pool create "$pool" 8 8 >/dev/null
  rbd --conf "$conf" --name client.admin pool init "$pool"
  caps="$caps\${caps:+, }profile rbd pool=$pool"
done
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
chmod 600 "$tmp"
printf '[client.%s]\\n\\tkey = %s\\n\\tcaps mon = "profile rbd"\\n\\tcaps osd = "%s"\\n\\tcaps mgr = "profile rbd"\\n' "$user" "$CLIENT_KEY" "$caps" > "$tmp"
ceph --conf "$conf" --name client.admin auth import -i "$tmp"
# The same key without its capabilities: the keyring os-brick reads (cinder-volume, cinder-backup).
umask 077
printf '[client.%s]\\n\\tkey = %s\\n' "$user" "$CLIENT_KEY" > "$keyring.new"
mv "$keyring.new" "$keyring"`;

/** `ceph` as client.admin on the cloud's cluster, for readiness probes. */
function admin(l: HostCephLayout, ...args: string[]): string[] {
  return ['ceph', '--conf', l.conf, '--name', 'client.admin', '--connect-timeout', '10', ...args];
}

interface HostCephSettings {
  user: string;
  pools: { volumes: string; images: string; backups: string; vms: string };
}

/**
 * Each program and step of a one-monitor cluster (argv, and the check that says it is ready): the
 * catalog's host programs below, and the real-node e2e's cluster (test/cluster/ceph.ts), which
 * runs the same scripts on an address its pods reach. The pools step reads the user's key from
 * CLIENT_KEY in its environment.
 */
export function cephClusterCommands(l: HostCephLayout, fsid: string, ceph: HostCephSettings, net: CephNet = LOOPBACK) {
  const osdUp = '"$@" osd stat -f json | grep -q \'"num_up_osds":[1-9]\'';
  const mgrUp = '"$@" mgr stat | grep -q \'"available": true\'';
  return {
    mon: {
      command: [
        ...['sh', '-c', MON_SCRIPT, 'osk-ceph-mon', l.conf, DAEMON_ID, `${l.data}/mon/ceph-${DAEMON_ID}`],
        ...[net.monAddrs, fsid, l.monKey, l.adminKey],
      ],
      ready: admin(l, 'mon', 'stat'),
    },
    mgr: {
      command: ['sh', '-c', MGR_SCRIPT, 'osk-ceph-mgr', l.conf, DAEMON_ID, `${l.data}/mgr/ceph-${DAEMON_ID}`],
      ready: ['sh', '-c', mgrUp, 'osk-ceph-mgr-ready', ...admin(l)],
    },
    osd: {
      command: ['sh', '-c', OSD_SCRIPT, 'osk-ceph-osd', l.conf, `${l.data}/osd`],
      ready: ['sh', '-c', osdUp, 'osk-ceph-osd-ready', ...admin(l)],
    },
    pools: [
      ...['sh', '-c', POOLS_SCRIPT, 'osk-ceph-pools', l.conf, ceph.user, l.clientKeyring],
      ...new Set(Object.values(ceph.pools)),
    ],
  };
}
type ClusterCommands = ReturnType<typeof cephClusterCommands>;

const PACKAGES = ['ceph-common'];

/** A program or step of the cluster as a component: it exists on one host only. */
function cephComponent(ctx: CatalogContext, id: string, host: HostDef, after: AfterDef[] = []): ComponentDef {
  return {
    id,
    service: 'ceph',
    part: id.slice('ceph-'.length),
    workload: 'Deployment',
    image: 'openstack-client',
    command: host.kind === 'process' || host.kind === 'step' ? host.command : [],
    configs: ['ceph'],
    nodeRole: 'controlPlane',
    settings: ctx.settings(undefined, 'controlPlane', SIZES.worker),
    after,
    host,
  };
}

function monHost(l: HostCephLayout, c: ClusterCommands): HostDef {
  const s = HOST_CEPH_SECRETS;
  return {
    kind: 'process',
    command: c.mon.command,
    packages: [...PACKAGES, 'ceph-mon'],
    dirs: [l.data, `${l.data}/mon`, `${l.data}/keys`, l.run],
    files: [
      { path: l.monKey, secret: s.mon.name, mode: 0o600 },
      { path: l.adminKey, secret: s.admin.name, mode: 0o600 },
    ],
    ports: [3300, 6789],
    ready: { exec: c.mon.ready },
  };
}

function mgrHost(l: HostCephLayout, c: ClusterCommands): HostDef {
  return {
    kind: 'process',
    command: c.mgr.command,
    packages: [...PACKAGES, 'ceph-mgr'],
    dirs: [`${l.data}/mgr`],
    ready: { exec: c.mgr.ready },
  };
}

function osdHost(l: HostCephLayout, c: ClusterCommands): HostDef {
  return {
    kind: 'process',
    command: c.osd.command,
    packages: [...PACKAGES, 'ceph-osd'],
    dirs: [`${l.data}/osd`],
    ready: { exec: c.osd.ready },
  };
}

function poolsHost(l: HostCephLayout, c: ClusterCommands): HostDef {
  const client = HOST_CEPH_SECRETS.client.name;
  return {
    kind: 'step',
    command: c.pools,
    secretEnv: { CLIENT_KEY: client },
    packages: PACKAGES,
    files: [{ path: l.clientKey, secret: client, mode: 0o600 }],
  };
}

/** mon, mgr, osd and the pools step of the one-host cluster, in that order. */
export function hostCephComponents(ctx: CatalogContext, ceph: HostCephSettings): ComponentDef[] {
  const l = hostCephLayout(ctx, ceph.user);
  const c = cephClusterCommands(l, ctx.secret(HOST_CEPH_SECRETS.fsid.name), ceph);
  return [
    cephComponent(ctx, 'ceph-mon', monHost(l, c)),
    cephComponent(ctx, 'ceph-mgr', mgrHost(l, c), [
      { target: 'ceph-mon', why: 'the manager gets its key from the monitor and reports to it' },
    ]),
    cephComponent(ctx, 'ceph-osd', osdHost(l, c), [
      { target: 'ceph-mon', why: 'the OSD gets its id and key from the monitor' },
    ]),
    cephComponent(ctx, 'ceph-pools', poolsHost(l, c), [
      { target: 'ceph-osd', why: 'a pool is usable once an OSD holds its placement groups' },
      { target: 'ceph-mgr', why: 'rbd pool init and pool statistics go through the manager' },
    ]),
  ];
}

export function hostCephBundle(ctx: CatalogContext, user: string): ConfigBundleDef {
  const l = hostCephLayout(ctx, user);
  return {
    name: 'ceph',
    dir: ctx.configDir('ceph', '/etc/ceph'),
    files: [{ name: 'ceph.conf', text: hostCephConf(l, ctx.secret(HOST_CEPH_SECRETS.fsid.name), user) }],
  };
}

/**
 * os-brick, which Cinder's volume and backup services use to open a volume themselves (backups,
 * image uploads, migrations), reads the user's key only from /etc/ceph/<cluster>.client.<user>.keyring:
 * a path it cannot be told (Cinder removed rbd_keyring_conf, OSSN-0085). Those programs run with
 * the cluster's directory over /etc/ceph in a mount namespace of their own; the host's /etc/ceph
 * is never written.
 */
export function withHostCephEtc(ctx: CatalogContext, user: string, program: string[]): string[] {
  return withBindMounts('osk-ceph-etc', [{ own: hostCephLayout(ctx, user).etc, host: '/etc/ceph' }], program);
}
