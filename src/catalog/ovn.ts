/**
 * OVN: the northbound and southbound databases (RAFT clusters as StatefulSets), northd, and on
 * every compute node Open vSwitch plus ovn-controller (host-network DaemonSets). With the
 * kube-ovn backend the cluster's own OVN is reused and only the compute agents are added.
 */
import type { CatalogContext } from './context.js';
import { rowsEnv, SCRIPT_PRELUDE } from './script-input.js';
import { hostExternalGateway, hostHasDatapath, hostOvnController, hostOvsdbServer, hostVswitchd } from './ovs-host.js';
import type { ComponentDef, ServiceDef } from './types.js';

/**
 * Open vSwitch on a compute node (privileged, host network): start it, the integration bridge,
 * and one bridge per provider network with the host interface as its port.
 * OVS_BRIDGE_PORTS: two lines per provider network: the bridge, then the host interface.
 * OVS_DATAPATH: system (the kernel module) or netdev (userspace: ovs-ctl would load the kernel
 * module before it starts ovs-vswitchd, so the script starts ovs-vswitchd itself; every bridge
 * gets the datapath type; userspace-tso-enable completes the checksums that guests' virtio NICs
 * leave to the host, see ovs-host.ts).
 */
const OPENVSWITCH_SCRIPT = `set -eu
${SCRIPT_PRELUDE}
PATH="$PATH:/usr/share/openvswitch/scripts"
datapath="\${OVS_DATAPATH:-system}"
case "$datapath" in
  system) ovs-ctl start --system-id=random --no-monitor ;;
  netdev)
    ovs-ctl start --system-id=random --no-monitor --no-ovs-vswitchd
    ovs-vsctl --no-wait set Open_vSwitch . other_config:userspace-tso-enable=true
    ovs-vswitchd --pidfile --detach --log-file ;;
  *) echo "refusing OVS_DATAPATH $datapath: system or netdev" >&2; exit 2 ;;
esac
ovs-vsctl --may-exist add-br br-int -- set Bridge br-int fail_mode=secure "datapath_type=$datapath"
while IFS= read -r bridge && IFS= read -r iface; do
  [ -n "$bridge$iface" ] || continue
  osk_arg bridge "$bridge"
  osk_arg interface "$iface"
  ovs-vsctl --may-exist add-br "$bridge" -- set Bridge "$bridge" "datapath_type=$datapath" -- --may-exist add-port "$bridge" "$iface"
done <<EOF
\${OVS_BRIDGE_PORTS:-}
EOF
exec tail -F /var/log/openvswitch/ovs-vswitchd.log`;

/**
 * ovn-controller: the chassis joins the SB database with its Geneve tunnel endpoint on the node
 * IP, with the bridges' datapath type (OVS_DATAPATH). On one host (ovs-host.ts) OVS_RUNDIR and
 * OVN_RUNDIR name the cloud's own directories and OVN_CHASSIS_NAME the chassis (a pod's
 * openvswitch gets a random system-id from ovs-ctl). OVN_SB_REMOTE: the SB connection; OVN_BRIDGE_MAPPINGS: two lines per provider network,
 * the physnet, then its bridge. Values are written as OVSDB quoted strings (ovsdb_string), so no
 * value can end its own and add another column or key.
 */
const OVN_CONTROLLER_SCRIPT = `set -eu
${SCRIPT_PRELUDE}
ovsdb_string() { printf '"%s"' "$(printf '%s' "$1" | sed 's/[\\\\"]/\\\\&/g')"; }
mappings=""
while IFS= read -r physnet && IFS= read -r bridge; do
  [ -n "$physnet$bridge" ] || continue
  mappings="\${mappings:+$mappings,}$physnet:$bridge"
done <<EOF
\${OVN_BRIDGE_MAPPINGS:-}
EOF
set -- "external-ids:ovn-remote=$(ovsdb_string "$OVN_SB_REMOTE")" external-ids:ovn-encap-type=geneve "external-ids:ovn-encap-ip=$(ovsdb_string "$NODE_IP")"
case "\${OVS_DATAPATH:-system}" in
  system|netdev) set -- "$@" "external-ids:ovn-bridge-datapath-type=\${OVS_DATAPATH:-system}" ;;
  *) echo "refusing OVS_DATAPATH $OVS_DATAPATH: system or netdev" >&2; exit 2 ;;
esac
if [ -n "$mappings" ]; then set -- "$@" "external-ids:ovn-bridge-mappings=$(ovsdb_string "$mappings")"; fi
if [ -n "\${OVN_CHASSIS_NAME:-}" ]; then
  set -- "$@" "external-ids:system-id=$(ovsdb_string "$OVN_CHASSIS_NAME")" "external-ids:hostname=$(ovsdb_string "$OVN_CHASSIS_NAME")"
fi
ovs-vsctl set open . "$@" external-ids:ovn-cms-options=enable-chassis-as-gw
exec ovn-controller "--pidfile=\${OVN_RUNDIR:-/var/run/ovn}/ovn-controller.pid" "unix:\${OVS_RUNDIR:-/run/openvswitch}/db.sock" -vconsole:info -vfile:off`;

export function ovnNbConnection(ctx: CatalogContext): string {
  return ovnConnection(ctx, 'ovn-nb', 6641);
}
export function ovnSbConnection(ctx: CatalogContext): string {
  return ovnConnection(ctx, 'ovn-sb', 6642);
}
function ovnConnection(ctx: CatalogContext, id: string, port: number): string {
  const n = ctx.spec.infra?.ovn?.replicas ?? (ctx.ha ? 3 : 1);
  return Array.from({ length: n }, (_, i) => `tcp:${ctx.topology.podHost(id, i)}:${port}`).join(',');
}

/**
 * Ready = this server is a member of its RAFT cluster and knows a leader. `cluster/status`
 * answers (exit 0) also while a server is still joining ("Status: joining cluster") or has lost
 * the leader ("Leader: unknown"), so the answer alone says nothing about the cluster. With this,
 * "no ready member" means "no writable database", which the OvnDbLeaderLost alert watches
 * through kube-state-metrics. The headless Service publishes not-ready addresses, so members
 * still find each other while none is ready.
 */
export function raftReadyCommand(ctl: string, db: string): string {
  return `s=$(ovs-appctl -t ${ctl} cluster/status ${db}) && printf '%s\\n' "$s" | grep -q '^Status: cluster member' && ! printf '%s\\n' "$s" | grep -q '^Leader: unknown'`;
}

function dbServer(ctx: CatalogContext, which: 'nb' | 'sb'): ComponentDef {
  const user = ctx.spec.infra?.ovn;
  const settings = ctx.settings(user, 'controlPlane', { cpu: '100m', memory: '256Mi', memoryLimit: '1Gi' });
  const id = `ovn-${which}`;
  const port = which === 'nb' ? 6641 : 6642;
  const raft = which === 'nb' ? 6643 : 6644;
  const db = which === 'nb' ? 'OVN_Northbound' : 'OVN_Southbound';
  // Pod 0 creates the RAFT cluster; the others join it. ovn-ctl keeps an existing database.
  // Host names come from the environment (they contain the namespace); `which` and the ports
  // are osk's own constants.
  const cmd = [
    'set -eu',
    `set -- "--db-${which}-cluster-local-addr=$(hostname).$OVN_DB_PEER_DOMAIN" --db-${which}-cluster-local-proto=tcp --db-${which}-cluster-local-port=${raft} --db-${which}-create-insecure-remote=yes --db-${which}-port=${port}`,
    `case $(hostname) in *-0) ;; *) set -- "$@" "--db-${which}-cluster-remote-addr=$OVN_DB_FIRST" --db-${which}-cluster-remote-proto=tcp --db-${which}-cluster-remote-port=${raft} ;; esac`,
    `/usr/share/ovn/scripts/ovn-ctl run_${which}_ovsdb "$@"`,
  ].join('\n');
  return {
    id,
    service: 'ovn',
    part: `${which}-db`,
    workload: 'StatefulSet',
    image: 'ovn',
    command: ['sh', '-c', cmd],
    env: [
      { name: 'OVN_DB_PEER_DOMAIN', value: `${id}-headless.${ctx.namespace}.svc.cluster.local` },
      { name: 'OVN_DB_FIRST', value: ctx.topology.podHost(id, 0) },
    ],
    ports: [
      { name: 'ovsdb', port },
      { name: 'raft', port: raft },
    ],
    service_: { ports: [{ name: 'ovsdb', port }], headless: true },
    readiness: {
      exec: { command: ['sh', '-c', raftReadyCommand(`/var/run/ovn/ovn${which}_db.ctl`, db)] },
      initialDelaySeconds: 5,
      periodSeconds: 10,
      timeoutSeconds: 5,
    },
    liveness: { tcp: { port }, initialDelaySeconds: 30, periodSeconds: 20 },
    volumeClaim: {
      name: 'data',
      mountPath: '/var/lib/ovn',
      size: user?.storage?.size ?? '1Gi',
      ...ctx.storageClass(user?.storage?.storageClass),
    },
    emptyDirs: [{ name: 'run', mountPath: '/var/run/ovn' }],
    nodeRole: 'controlPlane',
    settings,
    ...(ctx.machine ? { host: hostDbServer(ctx, which, port) } : {}),
  };
}

/** One standalone ovsdb-server per database on the host, created from the packaged schema once. */
function hostDbServer(ctx: CatalogContext, which: 'nb' | 'sb', port: number): NonNullable<ComponentDef['host']> {
  const run = ctx.machine!.runDir;
  const db = `${ctx.dataDir('ovn')}/ovn${which}_db.db`;
  return {
    kind: 'process',
    command: [
      'ovsdb-server',
      `--remote=ptcp:${port}:${ctx.topology.bindAddress}`,
      `--remote=punix:${run}/ovn${which}_db.sock`,
      `--unixctl=${run}/ovn${which}_db.ctl`,
      '-vconsole:info',
      '-vfile:off',
      db,
    ],
    packages: ['ovn-central', 'openvswitch-common'],
    dirs: [ctx.dataDir('ovn')],
    ports: [port],
    prepare: [{ command: ['ovsdb-tool', 'create', db, `/usr/share/ovn/ovn-${which}.ovsschema`], unlessExists: db }],
    ready: { tcp: port },
  };
}

/**
 * What the node scripts read (see OPENVSWITCH_SCRIPT and OVN_CONTROLLER_SCRIPT): the provider
 * networks' bridges with their ports, and the physnet-to-bridge mappings.
 */
function bridgeEnv(ctx: CatalogContext) {
  const providers = ctx.spec.network?.providerNetworks ?? [];
  const bridges = providers.map((p) => ({
    physnet: p.name,
    bridge: p.bridge ?? `br-${p.name}`.slice(0, 15),
    iface: p.interface,
  }));
  const field = (i: number, key: string) => `spec.network.providerNetworks[${i}].${key}`;
  const bridgeField = (i: number) => (providers[i]!.bridge === undefined ? field(i, 'name') : field(i, 'bridge'));
  // What the node scripts read (see OPENVSWITCH_SCRIPT and OVN_CONTROLLER_SCRIPT).
  const bridgePorts = rowsEnv(
    bridges.map((b, i) => [
      { where: bridgeField(i), value: b.bridge },
      { where: field(i, 'interface'), value: b.iface },
    ]),
  );
  const bridgeMappings = rowsEnv(
    bridges.map((b, i) => [
      { where: field(i, 'name'), value: b.physnet },
      { where: bridgeField(i), value: b.bridge },
    ]),
  );
  return { bridgePorts, bridgeMappings };
}
type BridgeEnv = ReturnType<typeof bridgeEnv>;

function northd(ctx: CatalogContext): ComponentDef {
  const user = ctx.spec.infra?.ovn;
  const nb = ovnNbConnection(ctx);
  const sb = ovnSbConnection(ctx);
  return {
    id: 'ovn-northd',
    service: 'ovn',
    part: 'northd',
    workload: 'Deployment',
    image: 'ovn',
    command: [
      'ovn-northd',
      '--pidfile=/var/run/ovn/ovn-northd.pid',
      `--ovnnb-db=${nb}`,
      `--ovnsb-db=${sb}`,
      '-vconsole:info',
      '-vfile:off',
    ],
    readiness: {
      exec: {
        command: ['sh', '-c', 'ovs-appctl -t /var/run/ovn/ovn-northd.$(cat /var/run/ovn/ovn-northd.pid).ctl status'],
      },
      periodSeconds: 15,
      timeoutSeconds: 5,
    },
    liveness: {
      exec: {
        command: ['sh', '-c', 'ovs-appctl -t /var/run/ovn/ovn-northd.$(cat /var/run/ovn/ovn-northd.pid).ctl status'],
      },
      initialDelaySeconds: 30,
      periodSeconds: 30,
      timeoutSeconds: 5,
    },
    emptyDirs: [{ name: 'run', mountPath: '/var/run/ovn' }],
    refs: [
      ctx.needs('ovn-nb', 6641, `--ovnnb-db ${ctx.topology.podHost('ovn-nb', 0)}`),
      ctx.needs('ovn-sb', 6642, `--ovnsb-db ${ctx.topology.podHost('ovn-sb', 0)}`),
    ],
    nodeRole: 'controlPlane',
    // Active/standby through the SB database lock: 2 in ha is enough.
    settings: ctx.settings(user?.northd, 'controlPlane', {
      cpu: '100m',
      memory: '128Mi',
      memoryLimit: '1Gi',
      haReplicas: 2,
    }),
    ...(ctx.machine
      ? {
          host: {
            kind: 'process' as const,
            command: [
              'ovn-northd',
              `--ovnnb-db=${nb}`,
              `--ovnsb-db=${sb}`,
              `--unixctl=${ctx.machine.runDir}/ovn-northd.ctl`,
              '-vconsole:info',
              '-vfile:off',
            ],
            packages: ['ovn-central'],
            ready: { exec: ['ovn-appctl', '-t', `${ctx.machine.runDir}/ovn-northd.ctl`, 'status'] },
          },
        }
      : {}),
  };
}

/** The Open vSwitch datapath of the compute nodes (spec.network.datapath). */
function datapath(ctx: CatalogContext): 'system' | 'netdev' {
  return ctx.spec.network?.datapath ?? 'system';
}

/** Where a node DaemonSet of one role runs: its id suffix, and GPU nodes kept out of plain compute. */
function placement(ctx: CatalogContext, role: 'compute' | 'gpu') {
  const suffix = role === 'gpu' ? '-gpu' : '';
  const avoid = role === 'compute' ? ctx.spec.nodes?.gpu?.selector : undefined;
  return { suffix, role, avoid };
}
type Placement = ReturnType<typeof placement>;

function openvswitch(
  ctx: CatalogContext,
  { suffix, role, avoid }: Placement,
  { bridgePorts }: BridgeEnv,
): ComponentDef {
  return {
    id: `openvswitch${suffix}`,
    service: 'ovn',
    part: 'openvswitch',
    workload: 'DaemonSet',
    image: 'openvswitch',
    command: ['sh', '-c', OPENVSWITCH_SCRIPT],
    ...(hostHasDatapath(ctx)
      ? {
          after: [
            { target: 'ovsdb-server', why: "ovs-vswitchd reads its bridges from the cloud's Open_vSwitch database" },
          ],
        }
      : {}),
    env: [
      { name: 'OVS_DATAPATH', value: datapath(ctx) },
      ...(bridgePorts ? [{ name: 'OVS_BRIDGE_PORTS', value: bridgePorts }] : []),
    ],
    readiness: { exec: { command: ['ovs-vsctl', '--timeout=5', 'show'] }, periodSeconds: 15, timeoutSeconds: 10 },
    liveness: {
      exec: { command: ['ovs-appctl', '-t', 'ovs-vswitchd', 'version'] },
      initialDelaySeconds: 30,
      periodSeconds: 30,
      timeoutSeconds: 10,
    },
    hostNetwork: true,
    privileged: true,
    hostPaths: [
      {
        name: 'run-openvswitch',
        path: '/run/openvswitch',
        mountPath: '/run/openvswitch',
        type: 'DirectoryOrCreate',
      },
      {
        name: 'etc-openvswitch',
        path: '/var/lib/openvswitch',
        mountPath: '/etc/openvswitch',
        type: 'DirectoryOrCreate',
      },
      // The kernel datapath's module; the userspace one loads none (and its nodes may have no /lib/modules).
      ...(datapath(ctx) === 'system'
        ? [{ name: 'lib-modules', path: '/lib/modules', mountPath: '/lib/modules', type: 'Directory' as const }]
        : []),
    ],
    nodeRole: role,
    ...(avoid ? { avoidNodeLabels: avoid } : {}),
    settings: ctx.settings(undefined, role, { cpu: '100m', memory: '256Mi', memoryLimit: '2Gi' }),
    ...(ctx.machine
      ? { host: hostHasDatapath(ctx) ? hostVswitchd(ctx) : { kind: 'skip' as const, why: FAKE_DATAPATH_WHY } }
      : {}),
  };
}

/**
 * On one host with a real hypervisor, ovn-controller on the cloud's datapath (ovs-host.ts); with
 * the fake hypervisor a registered chassis stands in for it (nothing is plugged, ports only bind).
 */
function controllerHost(ctx: CatalogContext, env: Record<string, string>) {
  if (hostHasDatapath(ctx)) return { host: hostOvnController(ctx, OVN_CONTROLLER_SCRIPT, env) };
  return ctx.machine
    ? {
        host: {
          kind: 'builtin' as const,
          action: {
            ovnFakeChassis: {
              hostname: ctx.machine.hostname,
              sbSocket: `${ctx.machine.runDir}/ovnsb_db.sock`,
            },
          },
          packages: ['ovn-common'],
        },
      }
    : {};
}

/** The Multus networks the controller pods attach to, when spec.network.multus declares them. */
function multusNetworks(ctx: CatalogContext) {
  return ctx.spec.network?.multus?.networks.length
    ? {
        networks: ctx.spec.network.multus.networks.map((m) => ({
          name: m.name,
          ...(m.namespace ? { namespace: m.namespace } : {}),
          ...(m.interface ? { interface: m.interface } : {}),
        })),
      }
    : {};
}

function ovnController(
  ctx: CatalogContext,
  { suffix, role, avoid }: Placement,
  { bridgeMappings }: BridgeEnv,
  ownOvn: boolean,
): ComponentDef {
  const user = ctx.spec.infra?.ovn;
  const sb = ovnSbConnection(ctx);
  return {
    id: `ovn-controller${suffix}`,
    service: 'ovn',
    part: 'controller',
    workload: 'DaemonSet',
    image: 'ovn',
    command: ['sh', '-c', OVN_CONTROLLER_SCRIPT],
    env: [
      { name: 'NODE_IP', fieldPath: 'status.hostIP' },
      { name: 'OVN_SB_REMOTE', value: sb },
      { name: 'OVS_DATAPATH', value: datapath(ctx) },
      ...(bridgeMappings ? [{ name: 'OVN_BRIDGE_MAPPINGS', value: bridgeMappings }] : []),
    ],
    readiness: {
      exec: {
        command: [
          'sh',
          '-c',
          'ovs-appctl -t /var/run/ovn/ovn-controller.$(cat /var/run/ovn/ovn-controller.pid).ctl connection-status | grep -q "^connected"',
        ],
      },
      periodSeconds: 15,
      timeoutSeconds: 5,
    },
    liveness: {
      exec: {
        command: [
          'sh',
          '-c',
          'ovs-appctl -t /var/run/ovn/ovn-controller.$(cat /var/run/ovn/ovn-controller.pid).ctl version',
        ],
      },
      initialDelaySeconds: 30,
      periodSeconds: 30,
      timeoutSeconds: 5,
    },
    hostNetwork: true,
    privileged: true,
    hostPaths: [
      {
        name: 'run-openvswitch',
        path: '/run/openvswitch',
        mountPath: '/run/openvswitch',
        type: 'DirectoryOrCreate',
      },
      { name: 'run-ovn', path: '/run/ovn', mountPath: '/var/run/ovn', type: 'DirectoryOrCreate' },
    ],
    refs: ownOvn ? [ctx.needs('ovn-sb', 6642, `external-ids:ovn-remote ${ctx.topology.podHost('ovn-sb', 0)}`)] : [],
    after: [
      {
        target: `openvswitch${suffix}`,
        why: 'ovn-controller programs the local Open vSwitch through /run/openvswitch/db.sock',
      },
    ],
    nodeRole: role,
    ...(avoid ? { avoidNodeLabels: avoid } : {}),
    settings: ctx.settings(user?.controller, role, { cpu: '100m', memory: '128Mi', memoryLimit: '1Gi' }),
    // One host: the userspace datapath always (no kernel module is loaded there).
    ...controllerHost(ctx, {
      OVN_SB_REMOTE: sb,
      OVS_DATAPATH: 'netdev',
      ...(bridgeMappings ? { OVN_BRIDGE_MAPPINGS: bridgeMappings } : {}),
    }),
    ...multusNetworks(ctx),
  };
}

export function ovn(ctx: CatalogContext): ServiceDef {
  const ownOvn = (ctx.spec.network?.backend ?? 'ovn') !== 'kube-ovn';
  const env = bridgeEnv(ctx);
  const roles = ['compute', ...(ctx.spec.nodes?.gpu ? ['gpu' as const] : [])] as const;
  const components: ComponentDef[] = [
    ...(ownOvn ? [dbServer(ctx, 'nb'), dbServer(ctx, 'sb'), northd(ctx)] : []),
    ...(hostHasDatapath(ctx) ? [hostOvsdbServer(ctx), hostExternalGateway(ctx)] : []),
    ...roles.flatMap((role) => {
      const where = placement(ctx, role);
      return [openvswitch(ctx, where, env), ovnController(ctx, where, env, ownOvn)];
    }),
  ];
  return { name: 'ovn', secrets: [], configs: [], components };
}

const FAKE_DATAPATH_WHY =
  'the fake hypervisor plugs no interfaces, so no Open vSwitch datapath is needed; ports bind to a registered chassis';
