/**
 * A program of one host that must find the cloud's files at a fixed path it cannot be told
 * (libvirtd's /run/openvswitch, os-brick's /etc/ceph keyring) runs in a mount namespace of its
 * own where the cloud's directory is bound over that path: the host's directory is never
 * written, and two clouds never see each other's.
 */

/** A fixed path a program uses, and the cloud's directory mounted over it. */
export interface Bind {
  host: string;
  own: string;
}

/**
 * Mounts each directory pair ("own" over "host") and replaces itself with the program after
 * `--`. A host mount point that is missing (/run/libvirt exists only once a libvirtd ran) is made
 * empty (0755) and left there: an empty directory changes nothing for the host. A constant: the
 * paths are its arguments, always expanded quoted.
 */
const MOUNT_AND_EXEC =
  'set -eu; while [ "$1" != -- ]; do [ -d "$2" ] || mkdir -m 0755 -p "$2"; mount --bind "$1" "$2"; shift 2; done; shift; exec "$@"';

/**
 * The command that runs `program` with `binds` in a new mount namespace. unshare replaces itself
 * with sh, sh with the program: the PID a supervisor records is the program's. Mounts the host
 * makes later still reach the namespace (slave propagation); none made inside leave it.
 */
export function withBindMounts(label: string, binds: Bind[], program: string[]): string[] {
  return [
    ...['unshare', '--mount', '--propagation', 'slave', '--'],
    ...['sh', '-c', MOUNT_AND_EXEC, label],
    ...binds.flatMap((b) => [b.own, b.host]),
    '--',
    ...program,
  ];
}
