/**
 * The guest's own files: busybox init's table and the scripts it runs. Constants: nothing of a
 * cloud or a user is written into them. What OpenStack says (metadata, DHCP options, user data)
 * reaches them at boot as data: files read by awk, variables expanded quoted. Every line they
 * print starts with `osk-guest:` on /dev/console (the serial port: Nova's console.log), so a
 * test or a user reads the boot from `openstack console log show`.
 */

/** busybox init: the boot steps, then the SSH server (restarted if it dies) and the user data. */
const INITTAB = `::sysinit:/etc/osk/boot
::respawn:/usr/sbin/dropbear -F -E -s -p 22 -r /etc/dropbear/dropbear_ed25519_host_key
::once:/etc/osk/user-data
::ctrlaltdel:/bin/reboot
::shutdown:/bin/umount -a -r
`;

/**
 * udhcpc's hook: the lease onto the interface. Classless static routes (option 121, which
 * Neutron uses for the metadata address) replace the router option when given (RFC 3442); a
 * route via 0.0.0.0 is on the link. The MTU comes from option 26 (Neutron's overlay MTU).
 */
const UDHCPC = `#!/bin/sh
set -f
case $1 in
deconfig)
  ip -4 addr flush dev "$interface"
  ip link set "$interface" up
  ;;
bound | renew)
  if [ -n "$mtu" ]; then ip link set "$interface" mtu "$mtu"; fi
  ip -4 addr flush dev "$interface"
  ip -4 addr add "$ip/$mask" dev "$interface"
  set -- $staticroutes
  if [ $# -ge 2 ]; then
    while [ $# -ge 2 ]; do
      if [ "$2" = 0.0.0.0 ]; then ip route replace "$1" dev "$interface"; else ip route replace "$1" via "$2" dev "$interface"; fi
      shift 2
    done
  else
    for r in $router; do
      ip route replace default via "$r" dev "$interface"
      break
    done
  fi
  : >/etc/resolv.conf
  for s in $dns; do echo "nameserver $s" >>/etc/resolv.conf; done
  mkdir -p /run/osk
  echo "$ip" >"/run/osk/address.$interface"
  echo "osk-guest: dhcp $interface address $ip/$mask router \${router:-none} mtu \${mtu:-default}" >/dev/console
  ;;
esac
exit 0
`;

/**
 * OpenStack's meta_data.json → lines \`hostname <value>\` and \`key <value>\` (the values of the
 * public_keys object). A small JSON reader in POSIX awk (busybox has no JSON tool): strings with
 * their escapes; control characters and \\u escapes become spaces or '?', so one value is one line.
 */
export const METADATA_AWK = `function str(   out, c) {
  pos++
  out = ""
  while (pos <= n) {
    c = substr(s, pos, 1)
    if (c == "\\"") { pos++; break }
    if (c == "\\\\") {
      pos++
      c = substr(s, pos, 1)
      if (c == "u") { c = "?"; pos += 4 }
      else if (c != "\\"" && c != "\\\\" && c != "/") c = " "
    }
    out = out c
    pos++
  }
  gsub(/[\\001-\\037\\177]/, " ", out)
  return out
}
{ s = s $0 "\\n" }
END {
  n = length(s)
  pos = 1
  depth = 0
  while (pos <= n) {
    c = substr(s, pos, 1)
    if (c == "{" || c == "[") { depth++; type[depth] = c; want[depth] = (c == "{"); k[depth] = ""; pos++; continue }
    if (c == "}" || c == "]") { depth--; pos++; continue }
    if (c == ",") { if (type[depth] == "{") want[depth] = 1; pos++; continue }
    if (c == ":") { want[depth] = 0; pos++; continue }
    if (c == "\\"") {
      v = str()
      if (type[depth] == "{" && want[depth]) k[depth] = v
      else if (depth == 1 && k[1] == "hostname") print "hostname " v
      else if (depth == 2 && k[1] == "public_keys" && type[2] == "{") print "key " v
      continue
    }
    pos++
  }
}
`;

/** Runs the user data when it is a script (#!), as cloud-init does, and prints what it prints. */
const USER_DATA = `#!/bin/sh
f=/run/osk/metadata/user_data
[ -s "$f" ] || exit 0
if [ "$(head -c 2 "$f")" != '#!' ]; then
  echo "osk-guest: user data is not a script (#!): not run" >/dev/console
  exit 0
fi
cp "$f" /run/osk/user-data.run
chmod 700 /run/osk/user-data.run
{
  /run/osk/user-data.run </dev/null 2>&1
  echo "exited with $?"
} | while IFS= read -r l; do echo "osk-guest: user-data: $l"; done >/dev/console
`;

/**
 * busybox init's sysinit: file systems, drivers (a module list in load order: /etc/osk/modules),
 * DHCP on the first interface that gets a lease, then the metadata: a config drive first (any
 * read-only file system with openstack/latest/meta_data.json: Nova's ISO 9660 labelled config-2
 * on a CD-ROM, or its vfat variant on a disk), else the metadata service at 169.254.169.254.
 * The host name and SSH keys come from there; the SSH host key is made here, each boot, and
 * printed between cloud-init's markers, which tools that read console logs know. wget runs under
 * timeout: Debian 12's busybox wget crashes (SIGSEGV) when given its own -T.
 */
const BOOT = `#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
say() { echo "osk-guest: $*" >/dev/console; }
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /run /tmp /mnt
mount -t devpts devpts /dev/pts
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /tmp
mkdir -p /run/osk/metadata
say "kernel $(uname -r) up after $(cut -d' ' -f1 /proc/uptime) s"
while read -r m; do insmod "/lib/modules/$m" 2>/dev/null; done </etc/osk/modules
hostname localhost
ip link set lo up

nics=
tries=0
while [ -z "$nics" ] && [ $tries -lt 20 ]; do
  for d in /sys/class/net/*; do
    case \${d##*/} in lo | '*') ;; *) nics="$nics \${d##*/}" ;; esac
  done
  [ -n "$nics" ] || sleep 0.5
  tries=$((tries + 1))
done
address=
for n in $nics; do
  ip link set "$n" up
  if udhcpc -i "$n" -s /etc/osk/udhcpc -O staticroutes -O mtu -t 10 -T 2 -A 5 -n -p "/run/udhcpc.$n.pid" >/dev/null 2>&1; then
    address=$(cat "/run/osk/address.$n")
    break
  fi
done
[ -n "$address" ] || say "dhcp: no lease on:\${nics:- no network interface}"

md=/run/osk/metadata
source=
for dev in /dev/sr[0-9]* /dev/vd[a-z]* /dev/sd[a-z]* /dev/hd[a-z]*; do
  [ -b "$dev" ] || continue
  mount -r "$dev" /mnt 2>/dev/null || continue
  if [ -f /mnt/openstack/latest/meta_data.json ]; then
    cp /mnt/openstack/latest/meta_data.json "$md/"
    if [ -f /mnt/openstack/latest/user_data ]; then cp /mnt/openstack/latest/user_data "$md/"; fi
    source="config-drive:$dev"
  fi
  umount /mnt
  [ -z "$source" ] || break
done
if [ -z "$source" ] && [ -n "$address" ]; then
  url=http://169.254.169.254/openstack/latest
  tries=0
  while [ $tries -lt 10 ]; do
    if timeout 10 wget -q -O "$md/meta_data.json" "$url/meta_data.json" 2>/dev/null; then
      timeout 10 wget -q -O "$md/user_data" "$url/user_data" 2>/dev/null || rm -f "$md/user_data"
      source=metadata-service
      break
    fi
    tries=$((tries + 1))
    sleep 2
  done
fi

mkdir -p /root/.ssh
chmod 700 /root/.ssh
: >/root/.ssh/authorized_keys
chmod 600 /root/.ssh/authorized_keys
keys=0
name=
if [ -n "$source" ]; then
  awk -f /etc/osk/metadata.awk "$md/meta_data.json" >"$md/values"
  while IFS= read -r line; do
    case $line in
    "hostname "*) [ -n "$name" ] || name=\${line#hostname } ;;
    "key "*)
      printf '%s\\n' "\${line#key }" >>/root/.ssh/authorized_keys
      keys=$((keys + 1))
      ;;
    esac
  done <"$md/values"
  name=$(printf '%s' "$name" | tr -cd 'A-Za-z0-9.-')
  name=$(printf '%s' "\${name%%.*}" | cut -c1-63)
  say "metadata from $source: hostname \${name:-none}, $keys ssh keys"
else
  say "metadata: no config drive and no metadata service"
fi
if [ -n "$name" ]; then
  hostname "$name"
  echo "$name" >/etc/hostname
  echo "127.0.1.1 $name" >>/etc/hosts
fi

mkdir -p /etc/dropbear
dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
echo "-----BEGIN SSH HOST KEY KEYS-----" >/dev/console
dropbearkey -y -f /etc/dropbear/dropbear_ed25519_host_key 2>/dev/null | grep '^ssh-' >/dev/console
echo "-----END SSH HOST KEY KEYS-----" >/dev/console
say "ready hostname=$(hostname) address=\${address:-none} ssh=22 metadata=\${source:-none} uptime=$(cut -d' ' -f1 /proc/uptime)s"
`;

/** The accounts: root only, with no password (SSH keys only: dropbear runs with -s). */
export const ETC_FILES: Record<string, string> = {
  'etc/passwd': 'root:x:0:0:root:/root:/bin/sh\n',
  'etc/shadow': 'root:*:19000:0:99999:7:::\n',
  'etc/group': 'root:x:0:\n',
  'etc/shells': '/bin/sh\n',
  'etc/nsswitch.conf': 'passwd: files\ngroup: files\nshadow: files\nhosts: files dns\n',
  'etc/hosts': '127.0.0.1 localhost\n',
  'etc/inittab': INITTAB,
  'etc/osk/metadata.awk': METADATA_AWK,
};

/** The guest's scripts, executable. */
export const SCRIPTS: Record<string, string> = {
  'etc/osk/boot': BOOT,
  'etc/osk/udhcpc': UDHCPC,
  'etc/osk/user-data': USER_DATA,
};
