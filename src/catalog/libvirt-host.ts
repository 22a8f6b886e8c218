/**
 * The private libvirtd and virtlogd of one all-in-one cloud, as data: the directories, the three
 * config files and the commands that start each daemon in its own mount namespace. Pure, so
 * that the catalog can make them components of the cloud (`host` programs of `nova.ts`, their
 * files a config bundle hashed like any other) while the catalog still imports nothing of
 * `targets/local/`; `targets/local/libvirt.ts` builds the same layout from a cloud's state
 * paths and does the I/O (the host's mount points, virsh, waiting for a socket).
 *
 * Run as root, libvirt's daemons are "privileged" and their paths are fixed when libvirt is
 * built: qemu.conf and the persistent domain XML in /etc/libvirt, sockets and the QEMU driver's
 * state in /run/libvirt (virtlogd's socket too, where the QEMU driver looks for it), capability
 * caches, logs and images under /var. No option moves them. So each daemon starts in a mount
 * namespace of its own (`unshare --mount`) in which those five directories are bind mounts of
 * directories of the cloud's state dir: the host's /etc/libvirt (and the default network
 * Debian's package puts there) is never read, nothing is written outside the state dir, and two
 * clouds never share a file. Both daemons get the same mounts, so virtlogd writes the files the
 * QEMU driver names. Propagation is `slave`: on a host whose mounts are shared, mounts the host
 * makes later still reach the daemons, and theirs never leave.
 *
 * Clients (virsh, nova-compute) reach libvirtd outside the namespace by the socket's real path:
 * `qemu+unix:///system?socket=<state>/run/libvirt/libvirt-sock`.
 */
import { OskError } from '../errors.js';
import { withBindMounts } from './host-mounts.js';
import { SIZES } from './common.js';
import type { CatalogContext } from './context.js';
import { hostHasDatapath, hostOvsLayout } from './ovs-host.js';
import type { ComponentDef, ConfigBundleDef, HostDef } from './types.js';
import type { Bind } from './host-mounts.js';

export interface LibvirtLayout {
  /** Over /etc/libvirt: osk's libvirtd.conf, qemu.conf, virtlogd.conf; libvirt's domain XML. */
  etc: string;
  /** Over /run/libvirt: the sockets, PID files, the QEMU driver's state (a guest's PID file). */
  run: string;
  /** Over /var/log/libvirt: QEMU's own log of each guest (qemu/<name>.log, written by virtlogd). */
  log: string;
  /** Over /var/lib/libvirt and /var/cache/libvirt. */
  lib: string;
  cache: string;
  binds: Bind[];
  /** The URI of this libvirtd for virsh and nova.conf's [libvirt] connection_uri. */
  uri: string;
  /** virtlogd's admin URI (virt-admin), its readiness. */
  logdUri: string;
  config: { libvirtd: string; qemu: string; virtlogd: string };
}

/**
 * The cloud's five directories, each mounted over one of libvirt's; and, when the cloud runs its
 * own Open vSwitch (ovs-host.ts), its run directory over /run/openvswitch: libvirtd plugs a
 * guest's tap into br-int with ovs-vsctl, which looks for the database only there.
 */
export function libvirtLayoutOf(d: {
  etc: string;
  run: string;
  log: string;
  lib: string;
  cache: string;
  ovsRun?: string;
}): LibvirtLayout {
  // libvirt unescapes the query's values: any byte of the path survives.
  const socketParam = (name: string) => encodeURIComponent(`${d.run}/${name}`).replaceAll('%2F', '/');
  return {
    ...d,
    binds: [
      { host: '/etc/libvirt', own: d.etc },
      { host: '/run/libvirt', own: d.run },
      { host: '/var/lib/libvirt', own: d.lib },
      { host: '/var/log/libvirt', own: d.log },
      { host: '/var/cache/libvirt', own: d.cache },
      ...(d.ovsRun ? [{ host: '/run/openvswitch', own: d.ovsRun }] : []),
    ],
    uri: `qemu+unix:///system?socket=${socketParam('libvirt-sock')}`,
    logdUri: `virtlogd:///system?socket=${socketParam('virtlogd-admin-sock')}`,
    config: {
      libvirtd: `${d.etc}/libvirtd.conf`,
      qemu: `${d.etc}/qemu.conf`,
      virtlogd: `${d.etc}/virtlogd.conf`,
    },
  };
}

/** A string in libvirt's config syntax: quoted, with no escapes, so a quote or a line break cannot be written. */
function confString(value: string): string {
  if (/["\\\x00-\x1f\x7f]/.test(value))
    throw new OskError(
      `a libvirt config value cannot hold quotes, backslashes or control characters: ${JSON.stringify(value)}`,
      {
        hint: 'choose a state directory (OSK_STATE_DIR) whose path has none',
      },
    );
  return `"${value}"`;
}

/** The three config files (file name in `etc` → text). Each setting says why it is there. */
export function libvirtConfigTexts(l: LibvirtLayout): { libvirtd: string; qemu: string; virtlogd: string } {
  const libvirtd = [
    '# Written by osk: the private libvirtd of one cloud (src/catalog/libvirt-host.ts).',
    "# Sockets in the cloud's run directory, root only; no polkit (no D-Bus on this host), so",
    '# the socket permissions are the whole access control.',
    `unix_sock_dir = ${confString(l.run)}`,
    'unix_sock_rw_perms = "0700"',
    'unix_sock_ro_perms = "0700"',
    'unix_sock_admin_perms = "0700"',
    'auth_unix_rw = "none"',
    'auth_unix_ro = "none"',
    '# Warnings and errors to stderr: the supervisor keeps them in log/libvirtd.log.',
    'log_outputs = "3:stderr"',
    '',
  ];
  const qemu = [
    "# Written by osk: the QEMU driver of the cloud's private libvirtd.",
    "# QEMU runs as root: the disks live in the cloud's state directory (0700, root).",
    'user = "root"',
    'group = "root"',
    '# Never chown or label files: the cached guest image behind an overlay stays as it is.',
    'dynamic_ownership = 0',
    'remember_owner = 0',
    "# No AppArmor/SELinux profile knows the state directory's paths.",
    'security_driver = "none"',
    '# No cgroups: without systemd libvirt would make machine/ groups in every cgroup v1',
    '# hierarchy of the host (/sys/fs/cgroup/*/machine) and leave them there.',
    'cgroup_controllers = [ ]',
    "# QEMU's output and the guests' console logs go through virtlogd.",
    'stdio_handler = "logd"',
    '',
  ];
  const virtlogd = ["# Written by osk: the virtlogd of the cloud's private libvirtd.", 'log_outputs = "3:stderr"', ''];
  return { libvirtd: libvirtd.join('\n'), qemu: qemu.join('\n'), virtlogd: virtlogd.join('\n') };
}

function inNamespace(l: LibvirtLayout, program: string[]): string[] {
  return withBindMounts('osk-libvirt-mounts', l.binds, program);
}

export interface LibvirtDaemon {
  id: 'virtlogd' | 'libvirtd';
  /** unshare replaces itself with sh, sh with the daemon: the PID a supervisor records is the daemon's. */
  command: string[];
  /** The config files it reads (a change restarts it). */
  reads: string[];
  /** Succeeds once the daemon answers on its socket. */
  ready: string[];
}

/** virtlogd, then libvirtd (the QEMU driver hands every guest's output to virtlogd). */
export function libvirtDaemons(l: LibvirtLayout): LibvirtDaemon[] {
  return [
    {
      id: 'virtlogd',
      command: inNamespace(l, ['virtlogd', '-f', l.config.virtlogd, '-p', `${l.run}/virtlogd.pid`]),
      reads: [l.config.virtlogd],
      ready: ['virt-admin', '-c', l.logdUri, 'version'],
    },
    {
      id: 'libvirtd',
      command: inNamespace(l, ['libvirtd', '-f', l.config.libvirtd, '-p', `${l.run}/libvirtd.pid`]),
      // qemu.conf is read by libvirtd's QEMU driver: a change restarts libvirtd.
      reads: [l.config.libvirtd, l.config.qemu],
      ready: ['virsh', '-c', l.uri, 'version'],
    },
  ];
}

/** The cloud's libvirt directories from the host topology: the ones targets/local/libvirt.ts makes from the state paths. */
export function hostLibvirtLayout(ctx: CatalogContext): LibvirtLayout {
  const m = ctx.machine!;
  return libvirtLayoutOf({
    etc: ctx.configDir('libvirt', '/etc/libvirt'),
    run: `${m.runDir}/libvirt`,
    log: `${m.logDir}/libvirt`,
    lib: ctx.dataDir('libvirt'),
    cache: ctx.dataDir('libvirt-cache'),
    ...(hostHasDatapath(ctx) ? { ovsRun: hostOvsLayout(ctx).run } : {}),
  });
}

/**
 * On one host: the cloud's private libvirtd (or virtlogd), a supervised program in its own mount
 * namespace (libvirt-host.ts), with its config files as the bundle `libvirt`; skipped with the
 * fake driver.
 */
export function libvirtHost(ctx: CatalogContext, id: LibvirtDaemon['id']): HostDef {
  const m = ctx.machine;
  if (!m || m.hypervisor === 'fake') return { kind: 'skip', why: 'the fake hypervisor needs no libvirtd' };
  const layout = hostLibvirtLayout(ctx);
  const daemon = libvirtDaemons(layout).find((d) => d.id === id)!;
  return {
    kind: 'process',
    command: daemon.command,
    // libvirt-clients: virsh and virt-admin, the readiness probes; qemu-system-x86: the one
    // emulator guests need (x86_64 under TCG or KVM).
    packages: ['libvirt-daemon-system', 'libvirt-clients', 'qemu-system-x86'],
    dirs: layout.binds.filter((b) => b.own !== layout.etc).map((b) => b.own),
    ready: { exec: daemon.ready },
  };
}

/** virtlogd: on Kubernetes the libvirt image's business; on one host a program of its own, before libvirtd. */
export function hostVirtlogd(ctx: CatalogContext): ComponentDef {
  const host = libvirtHost(ctx, 'virtlogd');
  return {
    id: 'virtlogd',
    service: 'nova',
    part: 'virtlogd',
    workload: 'DaemonSet',
    image: 'libvirt',
    command: host.kind === 'process' ? host.command : [],
    configs: ['libvirt'],
    nodeRole: 'compute',
    settings: ctx.settings(undefined, 'compute', SIZES.worker),
    host,
  };
}

/** The files of the cloud's libvirtd and virtlogd on one host (none elsewhere: the image has its own). */
export function libvirtBundle(ctx: CatalogContext): ConfigBundleDef[] {
  if (!ctx.machine || ctx.machine.hypervisor === 'fake') return [];
  const texts = libvirtConfigTexts(hostLibvirtLayout(ctx));
  return [
    {
      name: 'libvirt',
      dir: ctx.configDir('libvirt', '/etc/libvirt'),
      files: Object.entries(texts).map(([name, text]) => ({ name: `${name}.conf`, text })),
    },
  ];
}
