/**
 * The Open vSwitch datapath of one all-in-one cloud whose guests are real (hypervisor qemu or
 * kvm): its own ovsdb-server and ovs-vswitchd with the userspace datapath (`netdev`: it needs no
 * kernel module, which many hosts, this project's CI among them, do not have), and a real
 * ovn-controller as the host's chassis. Pure, like libvirt-host.ts: the catalog makes them
 * components, targets/local runs them.
 *
 * Every daemon is a foreground program of the supervisor (never `--detach`, which would leave
 * its process group) and finds the cloud's files through OVS_RUNDIR/OVS_DBDIR/OVN_RUNDIR, so
 * the host's own /run/openvswitch and /etc/openvswitch are never used and two clouds never
 * share a bridge. The only program that cannot be told where the database is, libvirtd's
 * ovs-vsctl, sees this directory as /run/openvswitch in libvirtd's mount namespace.
 */
import { SIZES } from './common.js';
import type { CatalogContext } from './context.js';
import type { ComponentDef, HostDef } from './types.js';

export interface OvsLayout {
  /** Sockets, control sockets and the bridges' OpenFlow management sockets (OVS_RUNDIR). */
  run: string;
  /** The Open_vSwitch database file. */
  db: string;
  /** The database's socket: ovs-vswitchd, ovn-controller, os-vif and the metadata agent use it. */
  dbSocket: string;
  /** ovn-controller's pid and control socket (OVN_RUNDIR). */
  ovnRun: string;
}

export function hostOvsLayout(ctx: CatalogContext): OvsLayout {
  const m = ctx.machine!;
  const run = `${m.runDir}/openvswitch`;
  return {
    run,
    db: `${ctx.dataDir('openvswitch')}/conf.db`,
    dbSocket: `${run}/db.sock`,
    ovnRun: `${m.runDir}/ovn-controller`,
  };
}

/** Whether this cloud runs a datapath of its own on the host: only for a real hypervisor. */
export function hostHasDatapath(ctx: CatalogContext): boolean {
  return ctx.machine !== undefined && ctx.machine.hypervisor !== 'fake';
}

function ovsEnv(l: OvsLayout): Record<string, string> {
  return { OVS_RUNDIR: l.run, OVS_DBDIR: l.run, OVS_LOGDIR: l.run };
}

/**
 * ovsdb-server with the Open_vSwitch schema: on Kubernetes the openvswitch pod's ovs-ctl starts
 * it, on one host it is a program of its own, before ovs-vswitchd.
 */
export function hostOvsdbServer(ctx: CatalogContext): ComponentDef {
  const l = hostOvsLayout(ctx);
  const host: HostDef = {
    kind: 'process',
    command: [
      'ovsdb-server',
      l.db,
      `--remote=punix:${l.dbSocket}`,
      '--remote=db:Open_vSwitch,Open_vSwitch,manager_options',
      `--unixctl=${l.run}/ovsdb-server.ctl`,
      '-vconsole:info',
      '-vfile:off',
    ],
    env: ovsEnv(l),
    packages: ['openvswitch-common'],
    dirs: [ctx.dataDir('openvswitch'), l.run],
    prepare: [
      { command: ['ovsdb-tool', 'create', l.db, '/usr/share/openvswitch/vswitch.ovsschema'], unlessExists: l.db },
    ],
    ready: { exec: ['ovsdb-client', 'list-dbs', `unix:${l.dbSocket}`] },
  };
  return {
    id: 'ovsdb-server',
    service: 'ovn',
    part: 'ovsdb-server',
    workload: 'DaemonSet',
    image: 'openvswitch',
    command: host.command,
    nodeRole: 'compute',
    settings: ctx.settings(undefined, 'compute', SIZES.worker),
    host,
  };
}

/**
 * ovs-vswitchd on the cloud's database. `init` writes the Open_vSwitch row a new database lacks
 * (ovs-ctl does the same before it starts the daemon); bridges get the netdev datapath from
 * ovn-controller (ovn-bridge-datapath-type), which creates br-int itself.
 *
 * userspace-tso-enable: a guest's virtio NIC leaves TCP and UDP checksums to the host (checksum
 * offload), and the userspace datapath reads the tap through a packet socket. Without virtio-net
 * headers on those sockets it forwards such packets with their checksum unfinished and the
 * receiver drops them: ping answers, SSH never connects (seen on this project's CI machine).
 * With it, netdev-linux reads and writes the headers and the offload is completed.
 */
export function hostVswitchd(ctx: CatalogContext): HostDef {
  const l = hostOvsLayout(ctx);
  return {
    kind: 'process',
    command: [
      'sh',
      '-c',
      'set -eu; ovs-vsctl --no-wait --timeout=20 init -- set Open_vSwitch . other_config:userspace-tso-enable=true; exec ovs-vswitchd "$@"',
      'osk-ovs-vswitchd',
      `unix:${l.dbSocket}`,
      `--unixctl=${l.run}/ovs-vswitchd.ctl`,
      '-vconsole:info',
      '-vfile:off',
    ],
    env: ovsEnv(l),
    packages: ['openvswitch-switch'],
    dirs: [l.run],
    ready: { exec: ['ovs-appctl', '-t', `${l.run}/ovs-vswitchd.ctl`, 'version'] },
  };
}

/**
 * ovn-controller as the host's chassis, started by the same script as the Kubernetes pod's
 * (ovn.ts), with the chassis named after the host (the name Nova reports and Neutron binds ports
 * to) and its tunnel endpoint on loopback: one host needs no tunnel.
 */
export function hostOvnController(ctx: CatalogContext, script: string, env: Record<string, string>): HostDef {
  const l = hostOvsLayout(ctx);
  return {
    kind: 'process',
    command: ['sh', '-c', script],
    env: {
      ...env,
      ...ovsEnv(l),
      OVN_RUNDIR: l.ovnRun,
      OVN_CHASSIS_NAME: ctx.machine!.hostname,
      NODE_IP: '127.0.0.1',
      // The physnet of the external network (HOST_EXTERNAL) on its bridge: rows of the script's format.
      OVN_BRIDGE_MAPPINGS: [env.OVN_BRIDGE_MAPPINGS, HOST_EXTERNAL.physnet, HOST_EXTERNAL.bridge]
        .filter(Boolean)
        .join('\n'),
    },
    packages: ['ovn-host'],
    dirs: [l.ovnRun],
    ready: {
      exec: [
        'sh',
        '-c',
        'ovn-appctl -t "$1/ovn-controller.$(cat "$1/ovn-controller.pid").ctl" connection-status | grep -q "^connected"',
        'osk-ovn-ready',
        l.ovnRun,
      ],
    },
  };
}

/**
 * The external network of a cloud on one host: a flat provider network (physnet `external`, on
 * the cloud's bridge br-ex) whose other side is a network namespace osk makes, holding the
 * gateway address. Floating IPs answer there, and nothing reaches the host's own networks or
 * leaves the machine. The names are fixed: one cloud runs on a host (they share the loopback
 * ports). 172.24.4.0/24 is the range DevStack users know for the same purpose.
 */
export const HOST_EXTERNAL = {
  physnet: 'external',
  bridge: 'br-ex',
  namespace: 'osk-external',
  /** The veth pair: one end a port of br-ex, the other in the namespace. */
  bridgeEnd: 'osk-ext-br',
  namespaceEnd: 'osk-ext-ns',
  cidr: '172.24.4.0/24',
  gateway: '172.24.4.1',
  prefix: 24,
  pool: { start: '172.24.4.10', end: '172.24.4.250' },
} as const;

/**
 * Makes the namespace and the veth pair, puts one end on br-ex, then waits; on SIGTERM (the
 * supervisor stopping it, `osk down`) it removes the namespace and the pair, so a stopped cloud
 * leaves nothing on the host. It starts by removing what a killed run left. A constant: the
 * names are its arguments.
 */
const EXTERNAL_GATEWAY_SCRIPT = `set -eu
ns=$1 br_end=$2 ns_end=$3 addr=$4 bridge=$5
cleanup() { ip netns del "$ns" 2>/dev/null || true; ip link del "$br_end" 2>/dev/null || true; }
cleanup
ip netns add "$ns"
ip link add "$br_end" type veth peer name "$ns_end" netns "$ns"
ip link set "$br_end" up
ip -n "$ns" link set lo up
ip -n "$ns" addr add "$addr" dev "$ns_end"
ip -n "$ns" link set "$ns_end" up
ovs-vsctl --timeout=20 --may-exist add-br "$bridge" -- set Bridge "$bridge" datapath_type=netdev -- --may-exist add-port "$bridge" "$br_end"
trap 'cleanup; exit 0' TERM INT
sleep infinity &
wait $!`;

/** The gateway side of the external network (HOST_EXTERNAL), a program of the host only. */
export function hostExternalGateway(ctx: CatalogContext): ComponentDef {
  const l = hostOvsLayout(ctx);
  const x = HOST_EXTERNAL;
  const host: HostDef = {
    kind: 'process',
    command: [
      ...['sh', '-c', EXTERNAL_GATEWAY_SCRIPT, 'osk-external-gateway'],
      ...[x.namespace, x.bridgeEnd, x.namespaceEnd, `${x.gateway}/${x.prefix}`, x.bridge],
    ],
    env: ovsEnv(l),
    packages: ['iproute2', 'openvswitch-switch'],
    ready: { exec: ['ip', '-n', x.namespace, 'address', 'show', 'dev', x.namespaceEnd, 'up'] },
  };
  return {
    id: 'external-gateway',
    service: 'ovn',
    part: 'external-gateway',
    workload: 'DaemonSet',
    image: 'openvswitch',
    command: host.command,
    after: [{ target: 'openvswitch', why: 'the gateway end of the external network is a port of br-ex' }],
    nodeRole: 'compute',
    settings: ctx.settings(undefined, 'compute', SIZES.worker),
    host,
  };
}
