/**
 * The MariaDB pods' scripts (constants: values arrive as environment variables). They use only
 * what both the official image (docker.io/library/mariadb) and Debian's mariadb-server have:
 * mariadbd, mariadb-install-db, mariadb-admin, mariadb and mariadb-upgrade, with osk.cnf as the
 * only option file (--defaults-file), so neither image's own my.cnf (Debian's binds to
 * 127.0.0.1) changes what the server does. Run with bash: the Galera start probes its peers
 * through /dev/tcp, which dash (the images' sh) does not have.
 */

/** Where the ConfigMap mounts the scripts and osk.cnf. */
const MARIADB_ETC = '/etc/mysql/conf.d';
export const MARIADB_DATA = '/var/lib/mysql';
/** The server's socket: in the data directory, the one place the pods' uid may write in both images. */
export const MARIADB_SOCKET = `${MARIADB_DATA}/mysqld.sock`;

/**
 * Start: an empty data directory gets its system tables (mariadb-install-db) and root's password
 * from MARIADB_ROOT_PASSWORD (root@localhost and root@'%', which the db-init Jobs and the
 * backups use over TCP) from a server without networking and without Galera, and the account
 * of the pods' uid by socket with what mariadb-backup needs (Galera's mariabackup SST runs as
 * it); a data directory
 * of an older MariaDB (major.minor of mysql_upgrade_info) is upgraded the same way
 * (MARIADB_AUTO_UPGRADE). Then Galera's start: join when a peer is up; otherwise pod 0
 * bootstraps a new cluster if its state is safe to bootstrap (fresh data dir, or grastate says
 * so). Anything else waits and says why, instead of guessing and losing writes. GALERA_NODES:
 * the cluster size; GALERA_PEERS: the host names of its members, one per line.
 */
export const MARIADB_START = `#!/bin/bash
set -eu
cnf=${MARIADB_ETC}/osk.cnf data=${MARIADB_DATA}
: "\${MARIADB_ROOT_PASSWORD:?}" "\${GALERA_NODES:?}"
unset MYSQL_PWD
# A server only this script reaches (no TCP, no Galera), for the first start and upgrades.
private_server() {
  sock=$data/osk-private.sock
  mariadbd --defaults-file="$cnf" --skip-networking --wsrep-on=OFF --socket="$sock" &
  pid=$!
  for _ in $(seq 60); do
    mariadb-admin --no-defaults --socket="$sock" -uroot ping >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || { echo "mariadbd exited while starting privately" >&2; exit 1; }
    sleep 1
  done
  echo "mariadbd did not answer on its private socket in 60 s" >&2
  exit 1
}
stop_private() {
  mariadb-admin --no-defaults --socket="$sock" -uroot shutdown
  wait "$pid"
}
if [ ! -d "$data/mysql" ]; then
  echo "empty data directory: system tables, root's password"
  # --force: a pod's host name need not resolve (install-db refuses otherwise); its long
  # advice is printed only when it fails (it prints errors on stdout).
  out=$(mariadb-install-db --defaults-file="$cnf" --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve --force 2>&1) ||
    { printf '%s\n' "$out" >&2; exit 1; }
  private_server
  # The password as an SQL string literal: backslash and quote escaped; it stays data. The
  # accounts install-db made for this host name, 127.0.0.1 and ::1 have no password and would
  # match TCP logins before root@'%': only the localhost ones stay (as the official image does).
  pw=$(printf '%s' "$MARIADB_ROOT_PASSWORD" | sed -e 's/\\\\/\\\\\\\\/g' -e "s/'/\\\\\\\\'/g")
  mariadb --no-defaults --socket="$sock" -uroot <<SQL
SET @@SESSION.SQL_LOG_BIN=0;
DELETE FROM mysql.global_priv WHERE host <> 'localhost';
DELETE FROM mysql.proxies_priv WHERE host <> 'localhost';
FLUSH PRIVILEGES;
ALTER USER 'root'@'localhost' IDENTIFIED BY '$pw';
CREATE USER 'root'@'%' IDENTIFIED BY '$pw';
GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;
CREATE USER IF NOT EXISTS 'mysql'@'localhost' IDENTIFIED VIA unix_socket;
GRANT RELOAD, PROCESS, LOCK TABLES, BINLOG MONITOR ON *.* TO 'mysql'@'localhost';
SQL
  MYSQL_PWD=$MARIADB_ROOT_PASSWORD stop_private
elif [ "\${MARIADB_AUTO_UPGRADE:-}" = 1 ] && [ -f "$data/mysql_upgrade_info" ]; then
  had=$(sed -n 's/^\\([0-9]*\\.[0-9]*\\)\\..*/\\1/p' "$data/mysql_upgrade_info")
  now=$(mariadbd --version | sed -n 's/.* Ver \\([0-9]*\\.[0-9]*\\)\\..*/\\1/p')
  if [ -n "$had" ] && [ "$had" != "$now" ]; then
    echo "data directory of MariaDB $had, server $now: mariadb-upgrade"
    export MYSQL_PWD=$MARIADB_ROOT_PASSWORD
    private_server
    mariadb-upgrade --no-defaults --socket="$sock" -uroot
    stop_private
    unset MYSQL_PWD
  fi
fi
start() { exec mariadbd --defaults-file="$cnf" "$@"; }
ord=\${HOSTNAME##*-}
if [ "$GALERA_NODES" = 1 ]; then start; fi
while IFS= read -r peer; do
  case $peer in ''|"$HOSTNAME".*) continue ;; esac
  if (echo > "/dev/tcp/$peer/4567") 2>/dev/null; then echo "joining cluster via $peer"; start; fi
done <<PEERS
\${GALERA_PEERS:-}
PEERS
state=$data/grastate.dat
if [ "$ord" = 0 ] && { [ ! -f "$state" ] || grep -q '^safe_to_bootstrap: 1' "$state"; }; then
  echo "no peer answers; bootstrapping a new cluster from $HOSTNAME"
  start --wsrep-new-cluster
fi
echo "no peer answers and $HOSTNAME is not safe to bootstrap; waiting for the most advanced node"
start
`;

/**
 * The probes (what the official image's healthcheck.sh checked): root connects on the socket,
 * InnoDB is initialised and, with the argument galera, this node is Synced (wsrep_local_state 4).
 */
export const MARIADB_PROBE = `#!/bin/sh
set -eu
export MYSQL_PWD="$MARIADB_ROOT_PASSWORD"
q() { mariadb --no-defaults --socket=${MARIADB_SOCKET} -uroot --connect-timeout=3 -N -B -e "$1"; }
q 'SELECT 1' >/dev/null || { echo "root cannot connect on the socket" >&2; exit 1; }
[ "$(q "SELECT 1 FROM information_schema.ENGINES WHERE ENGINE='InnoDB' AND SUPPORT IN ('YES','DEFAULT','ENABLED')")" = 1 ] || { echo "InnoDB is not initialised" >&2; exit 1; }
if [ "\${1:-}" = galera ]; then
  s=$(q "SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS WHERE VARIABLE_NAME='WSREP_LOCAL_STATE'")
  [ "$s" = 4 ] || { echo "Galera node not Synced (wsrep_local_state: \${s:-none})" >&2; exit 1; }
fi
`;
