/**
 * Backups of a cloud on Kubernetes (spec.backup): the shell the backup and restore pods run.
 * The objects (CronJobs, the backup claim, the Velero Schedule, restore Jobs) are built in
 * render.ts, restore.ts and velero.ts beside this module; the scripts go in the ConfigMap
 * `osk-backup-config`. Backups are not part of the plan's graph: they run on their own schedule.
 *
 * A backup *set* is a directory `<root>/<kind>/<UTC stamp>/` (kind: mariadb or ovn) holding
 * gzip'd files and a `SHA256SUMS` manifest next to them. A set is written as
 * `<stamp>.partial` and renamed once its manifest verifies, so a half-written set is never
 * counted, kept, uploaded or restored. `LATEST` names the newest set. Retention keeps the
 * newest `COPIES` sets of each kind. Every run re-checks every kept set against its manifest and
 * fails (the Job fails, so it is seen) when one no longer matches.
 *
 * Credentials reach these scripts only as environment variables from Secrets; they are written
 * to a 0600 option file in the pod's /tmp, never to a command line.
 */
import { cloudSpecSchema } from '../../../spec/schema.js';
import type { CatalogContext } from '../../../catalog/context.js';

export const BACKUP_BUNDLE = 'osk-backup';
/** Where the scripts are mounted in the backup and restore pods. */
export const BACKUP_SCRIPTS_DIR = '/etc/osk-backup';
/** Where the backup claim is mounted. */
export const BACKUP_ROOT = '/backups';

type BackupSettings = NonNullable<CatalogContext['spec']['backup']>;

const DEFAULTS: BackupSettings = cloudSpecSchema.shape.backup.unwrap().parse({});

/** spec.backup with the schema's defaults when the cloud file has no backup section. */
export function backupSettings(ctx: CatalogContext): BackupSettings {
  return ctx.spec.backup ?? DEFAULTS;
}

/** Backups are rendered on Kubernetes only (osk up has its own), unless spec.backup.enabled is false. */
export function backupEnabled(ctx: CatalogContext): boolean {
  return !ctx.machine && ctx.spec.backup?.enabled !== false;
}

const LIB = `# osk backup library (POSIX sh): backup sets, their SHA256SUMS manifests, retention.
# Source it with BACKUP_ROOT set. Set names are UTC stamps (YYYYMMDDTHHMMSSZ): they sort in time order.

osk_log() { printf '%s osk-backup: %s\\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
osk_die() { osk_log "ERROR: $*"; exit 1; }

# osk_begin KIND: create an empty set being written; prints its path (<stamp>.partial).
osk_begin() {
  _base="$BACKUP_ROOT/$1"
  mkdir -p "$_base"
  _stamp=$(date -u +%Y%m%dT%H%M%SZ)
  [ ! -e "$_base/$_stamp" ] || osk_die "set $1/$_stamp already exists"
  rm -rf "$_base/$_stamp.partial"
  mkdir "$_base/$_stamp.partial"
  printf '%s\\n' "$_base/$_stamp.partial"
}

# osk_manifest DIR: write DIR/SHA256SUMS for every file of the (flat) set.
osk_manifest() {
  (
    _dir=$1
    cd "$_dir" || exit 1
    set -- $(ls -1 | grep -v '^SHA256SUMS$' | LC_ALL=C sort)
    [ "$#" -gt 0 ] || osk_die "set $_dir is empty"
    sha256sum -- "$@" > SHA256SUMS.tmp && mv SHA256SUMS.tmp SHA256SUMS
  )
}

# osk_check DIR: verify a set against its manifest (missing, changed or unlisted files fail).
osk_check() {
  [ -f "$1/SHA256SUMS" ] || { osk_log "no SHA256SUMS in $1"; return 1; }
  (
    cd "$1" || exit 1
    sha256sum -c --quiet --strict SHA256SUMS >&2 || exit 1
    for _f in *; do
      [ "$_f" = SHA256SUMS ] && continue
      awk '{print $2}' SHA256SUMS | grep -qxF -- "$_f" || { osk_log "$_f is not in SHA256SUMS"; exit 1; }
    done
  )
}

# osk_seal DIR.partial: manifest, verify, rename to DIR, record LATEST; prints DIR.
osk_seal() {
  _final=\${1%.partial}
  osk_manifest "$1"
  osk_check "$1" || osk_die "the new set $1 does not match its own manifest"
  mv "$1" "$_final"
  printf '%s\\n' "\${_final##*/}" > "\${_final%/*}/LATEST.tmp"
  mv "\${_final%/*}/LATEST.tmp" "\${_final%/*}/LATEST"
  osk_log "sealed \${_final#$BACKUP_ROOT/}: $(cat "$_final/SHA256SUMS" | wc -l) files, $(du -sk "$_final" | cut -f1) KiB"
  printf '%s\\n' "$_final"
}

# osk_sets KIND: complete sets of a kind, oldest first.
osk_sets() {
  ls -1 "$BACKUP_ROOT/$1" 2>/dev/null | grep -E '^[0-9]{8}T[0-9]{6}Z$' | LC_ALL=C sort
}

# osk_selector SELECTOR: refuse what is neither "latest" nor a set stamp (prefix) before it is used as a pattern.
osk_selector() {
  case $1 in latest) ;; ''|*[!0-9TZ]*) osk_die "a backup selector is 'latest' or a set stamp (prefix) such as 20250131T02, not '$1'" ;; esac
}

# osk_select KIND SELECTOR: the newest complete set named SELECTOR or starting with it ("latest": newest).
osk_select() {
  osk_selector "$2"
  if [ "$2" = latest ]; then _sel=$(osk_sets "$1" | tail -n 1)
  else _sel=$(osk_sets "$1" | grep -E "^$2" | tail -n 1); fi
  [ -n "$_sel" ] || osk_die "no complete $1 backup set matches '$2' in $BACKUP_ROOT/$1 (have: $(osk_sets "$1" | tr '\\n' ' '))"
  printf '%s\\n' "$_sel"
}

# osk_prune KIND COPIES: delete the oldest complete sets beyond COPIES, and unfinished ones.
osk_prune() {
  _n=$(osk_sets "$1" | wc -l)
  _excess=$((_n - $2))
  if [ "$_excess" -gt 0 ]; then
    for _s in $(osk_sets "$1" | head -n "$_excess"); do
      osk_log "retention: removing $1/$_s (keeping $2)"
      rm -rf "\${BACKUP_ROOT:?}/$1/$_s"
    done
  fi
  for _p in "$BACKUP_ROOT/$1"/*.partial; do
    [ -e "$_p" ] || continue
    osk_log "removing unfinished set \${_p#$BACKUP_ROOT/}"
    rm -rf "$_p"
  done
}

# osk_verify KIND: check every complete set; non-zero (and the corrupt sets named) if any fails.
osk_verify() {
  _bad=0; _all=0
  for _s in $(osk_sets "$1"); do
    _all=$((_all + 1))
    if ! osk_check "$BACKUP_ROOT/$1/$_s"; then osk_log "CORRUPT: $1/$_s does not match its SHA256SUMS"; _bad=$((_bad + 1)); fi
  done
  if [ "$_bad" -gt 0 ]; then osk_log "$_bad of $_all $1 sets are corrupt"; return 1; fi
  osk_log "verified $_all $1 sets"
}
`;

const MARIADB_BACKUP = `#!/bin/sh
# MariaDB: a consistent physical backup with mariadb-backup (BACKUP STAGE locks, no downtime),
# taken from one Galera node that must be Synced, streamed (xbstream), gzip'd, checksummed.
# Runs beside that node (its data volume is mounted read-only at DATADIR).
# Env: MARIADB_HOST, MARIADB_ROOT_PASSWORD (from a Secret), COPIES, BACKUP_ROOT; MARIADB_PORT,
# DATADIR, VERIFY_ALL (1: check every kept set at the end).
set -eu
. "\${OSK_BACKUP_LIB:-${BACKUP_SCRIPTS_DIR}/lib.sh}"
: "\${MARIADB_HOST:?}" "\${MARIADB_ROOT_PASSWORD:?}" "\${COPIES:?}" "\${BACKUP_ROOT:?}"
MARIADB_PORT=\${MARIADB_PORT:-3306}
DATADIR=\${DATADIR:-/var/lib/mysql}
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The password goes to a 0600 option file, never onto a command line.
printf '[client]\\nuser=root\\npassword="%s"\\nhost=%s\\nport=%s\\nprotocol=tcp\\n' "$MARIADB_ROOT_PASSWORD" "$MARIADB_HOST" "$MARIADB_PORT" > "$tmp/my.cnf"
sql() { mariadb --defaults-extra-file="$tmp/my.cnf" -N -B -e "$1"; }

version=$(sql 'SELECT VERSION()') || osk_die "cannot connect to $MARIADB_HOST:$MARIADB_PORT"
wsrep=$(sql 'SELECT @@GLOBAL.wsrep_on' 2>/dev/null || echo 0)
galera=""
if [ "$wsrep" = 1 ]; then
  state=$(sql "SHOW GLOBAL STATUS LIKE 'wsrep_local_state_comment'" | cut -f2)
  [ "$state" = Synced ] || osk_die "$MARIADB_HOST is not a synced Galera node (state: \${state:-unknown}); no backup taken from it"
  galera=--galera-info
fi

set_dir=$(osk_begin mariadb)
osk_log "mariadb-backup of $MARIADB_HOST ($version, datadir $DATADIR) into $set_dir"
umask 027
mkdir "$tmp/xb"
{ mariadb-backup --defaults-extra-file="$tmp/my.cnf" --backup --stream=xbstream --datadir="$DATADIR" --target-dir="$tmp/xb" $galera 2> "$tmp/log"; echo $? > "$tmp/rc"; } | gzip -c > "$set_dir/mariadb.xbstream.gz"
rc=$(cat "$tmp/rc")
if [ "$rc" != 0 ] || ! tail -n 1 "$tmp/log" | grep -q 'completed OK!'; then
  tail -n 30 "$tmp/log" >&2
  osk_die "mariadb-backup failed (exit $rc)"
fi
gzip -t "$set_dir/mariadb.xbstream.gz"
printf 'host=%s\\nversion=%s\\ngalera=%s\\ntaken=%s\\n' "$MARIADB_HOST" "$version" "$wsrep" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" > "$set_dir/info.txt"
osk_seal "$set_dir" > /dev/null
osk_prune mariadb "$COPIES"
if [ "\${VERIFY_ALL:-1}" = 1 ]; then osk_verify mariadb; fi
`;

const OVN_BACKUP = `#!/bin/sh
# OVN: atomic snapshots of the NB and SB databases with ovsdb-client backup. For a RAFT cluster
# the remotes are every member (comma-separated): ovsdb-client finds the leader itself.
# Output is a standalone database file (ovsdb-tool reads it; ovsdb-client restore takes it).
# Env: OVN_NB_REMOTES, OVN_SB_REMOTES, COPIES, BACKUP_ROOT; VERIFY_ALL.
set -eu
. "\${OSK_BACKUP_LIB:-${BACKUP_SCRIPTS_DIR}/lib.sh}"
: "\${OVN_NB_REMOTES:?}" "\${OVN_SB_REMOTES:?}" "\${COPIES:?}" "\${BACKUP_ROOT:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
set_dir=$(osk_begin ovn)
for db in nb sb; do
  if [ "$db" = nb ]; then name=OVN_Northbound; remotes=$OVN_NB_REMOTES; else name=OVN_Southbound; remotes=$OVN_SB_REMOTES; fi
  osk_log "ovsdb-client backup $name from $remotes"
  ovsdb-client --timeout=\${OVSDB_TIMEOUT:-300} backup "$remotes" "$name" > "$tmp/ovn\${db}_db.db" || osk_die "ovsdb-client backup of $name failed"
  # The snapshot must be a readable database of the right name before it counts.
  got=$(ovsdb-tool db-name "$tmp/ovn\${db}_db.db") || osk_die "the $name snapshot is not a database"
  [ "$got" = "$name" ] || osk_die "the snapshot is of $got, not $name"
  printf '%s schema %s\\n' "$name" "$(ovsdb-tool db-version "$tmp/ovn\${db}_db.db")" >> "$tmp/info.txt"
  gzip -c "$tmp/ovn\${db}_db.db" > "$set_dir/ovn\${db}_db.db.gz"
done
mv "$tmp/info.txt" "$set_dir/info.txt"
osk_seal "$set_dir" > /dev/null
osk_prune ovn "$COPIES"
if [ "\${VERIFY_ALL:-1}" = 1 ]; then osk_verify ovn; fi
`;

const OFFSITE = `#!/bin/sh
# Offsite copy (3-2-1): upload the newest set of KIND to OFFSITE_URL/KIND/<stamp>/, check that
# every file arrived with its size, then check every local set against its manifest.
# Offsite retention is the bucket's lifecycle rule: nothing is deleted remotely from here, so a
# lost or wiped claim can never empty the offsite copies.
# Env: KIND, OFFSITE_URL (s3://bucket/prefix), BACKUP_ROOT; S3_ENDPOINT (S3-compatible
# service); AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (+ AWS_DEFAULT_REGION) from the Secret.
set -eu
. "\${OSK_BACKUP_LIB:-${BACKUP_SCRIPTS_DIR}/lib.sh}"
: "\${KIND:?}" "\${OFFSITE_URL:?}" "\${BACKUP_ROOT:?}" "\${AWS_ACCESS_KEY_ID:?}" "\${AWS_SECRET_ACCESS_KEY:?}"
export AWS_DEFAULT_REGION="\${AWS_DEFAULT_REGION:-us-east-1}"
s3() { if [ -n "\${S3_ENDPOINT:-}" ]; then aws --endpoint-url "$S3_ENDPOINT" s3 "$@"; else aws s3 "$@"; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
latest=$(cat "$BACKUP_ROOT/$KIND/LATEST") || osk_die "no $KIND set to upload"
src="$BACKUP_ROOT/$KIND/$latest"
osk_check "$src" || osk_die "$KIND/$latest does not match its manifest; not uploading it"
dest="\${OFFSITE_URL%/}/$KIND/$latest/"
osk_log "uploading $KIND/$latest to $dest"
s3 cp --recursive --only-show-errors "$src/" "$dest"
(cd "$src" && for f in *; do printf '%s %s\\n' "$f" "$(wc -c < "$f" | tr -d ' ')"; done) | LC_ALL=C sort > "$tmp/local"
s3 ls "$dest" | awk '{print $4, $3}' | LC_ALL=C sort > "$tmp/remote"
if ! cmp -s "$tmp/local" "$tmp/remote"; then
  osk_log "offsite listing differs from the local set:"; diff "$tmp/local" "$tmp/remote" >&2 || true
  osk_die "offsite copy of $KIND/$latest is incomplete"
fi
osk_log "offsite copy of $KIND/$latest complete ($(wc -l < "$tmp/local") files)"
osk_verify "$KIND"
`;

const FETCH_OFFSITE = `#!/bin/sh
# Restore side of the offsite copy: download the newest set of each KIND matching SELECTOR
# ("latest" or a stamp prefix) from OFFSITE_URL into the claim, then check it.
# Env: KINDS ("mariadb ovn"), SELECTOR, OFFSITE_URL, BACKUP_ROOT, S3_ENDPOINT, AWS_* from the Secret.
set -eu
. "\${OSK_BACKUP_LIB:-${BACKUP_SCRIPTS_DIR}/lib.sh}"
: "\${KINDS:?}" "\${SELECTOR:?}" "\${OFFSITE_URL:?}" "\${BACKUP_ROOT:?}"
osk_selector "$SELECTOR"
export AWS_DEFAULT_REGION="\${AWS_DEFAULT_REGION:-us-east-1}"
s3() { if [ -n "\${S3_ENDPOINT:-}" ]; then aws --endpoint-url "$S3_ENDPOINT" s3 "$@"; else aws s3 "$@"; fi; }
for kind in $KINDS; do
  sets=$(s3 ls "\${OFFSITE_URL%/}/$kind/" | awk '$1 == "PRE" {sub("/$", "", $2); print $2}' | grep -E '^[0-9]{8}T[0-9]{6}Z$' | LC_ALL=C sort)
  if [ "$SELECTOR" = latest ]; then pick=$(printf '%s\\n' "$sets" | tail -n 1); else pick=$(printf '%s\\n' "$sets" | grep -E "^$SELECTOR" | tail -n 1); fi
  [ -n "$pick" ] || osk_die "no offsite $kind set matches '$SELECTOR' under \${OFFSITE_URL%/}/$kind/"
  mkdir -p "$BACKUP_ROOT/$kind"
  rm -rf "$BACKUP_ROOT/$kind/$pick.partial"
  osk_log "downloading $kind/$pick"
  s3 cp --recursive --only-show-errors "\${OFFSITE_URL%/}/$kind/$pick/" "$BACKUP_ROOT/$kind/$pick.partial/"
  osk_check "$BACKUP_ROOT/$kind/$pick.partial" || osk_die "the offsite $kind/$pick does not match its manifest"
  rm -rf "\${BACKUP_ROOT:?}/$kind/$pick"
  mv "$BACKUP_ROOT/$kind/$pick.partial" "$BACKUP_ROOT/$kind/$pick"
  osk_log "$kind/$pick is on the claim and verified"
done
`;

const VERIFY_SETS = `#!/bin/sh
# Check the sets a restore would use (SELECTOR: "latest" or a stamp prefix) before anything stops.
# Env: KINDS, SELECTOR, BACKUP_ROOT.
set -eu
. "\${OSK_BACKUP_LIB:-${BACKUP_SCRIPTS_DIR}/lib.sh}"
: "\${KINDS:?}" "\${SELECTOR:?}" "\${BACKUP_ROOT:?}"
for kind in $KINDS; do
  s=$(osk_select "$kind" "$SELECTOR")
  osk_check "$BACKUP_ROOT/$kind/$s" || osk_die "$kind/$s does not match its SHA256SUMS"
  osk_log "$kind/$s verified: $(tr '\\n' ' ' < "$BACKUP_ROOT/$kind/$s/info.txt")"
done
`;

const MARIADB_RESTORE = `#!/bin/sh
# Restore MariaDB from a set: unpack (mbstream), mariadb-backup --prepare, then --copy-back into
# the EMPTIED data directory of the node that bootstraps the cluster. The Galera state files
# are removed so that node starts a new cluster from the restored data and the others copy it.
# Env: SELECTOR ("latest" or a stamp prefix), BACKUP_ROOT, DATADIR, WORK (scratch directory).
set -eu
. "\${OSK_BACKUP_LIB:-${BACKUP_SCRIPTS_DIR}/lib.sh}"
: "\${SELECTOR:?}" "\${BACKUP_ROOT:?}"
DATADIR=\${DATADIR:-/var/lib/mysql}
WORK=\${WORK:-$BACKUP_ROOT/.restore-mariadb}
s=$(osk_select mariadb "$SELECTOR")
src="$BACKUP_ROOT/mariadb/$s"
osk_check "$src" || osk_die "mariadb/$s does not match its SHA256SUMS; refusing to restore it"
osk_log "restoring mariadb/$s ($(tr '\\n' ' ' < "$src/info.txt")) into $DATADIR"
rm -rf "$WORK"; mkdir -p "$WORK"
gzip -dc "$src/mariadb.xbstream.gz" | mbstream -x -C "$WORK"
mariadb-backup --prepare --target-dir="$WORK"
find "$DATADIR" -mindepth 1 -delete
mariadb-backup --copy-back --target-dir="$WORK" --datadir="$DATADIR"
rm -f "$DATADIR/grastate.dat" "$DATADIR/gvwstate.dat"
rm -rf "$WORK"
osk_log "mariadb/$s restored into $DATADIR"
`;

const OVN_RESTORE = `#!/bin/sh
# Restore the OVN NB and SB databases from a set with ovsdb-client restore: one atomic
# transaction per database against the running cluster (RAFT replicates it); ovn-northd must be
# stopped. The schema must match (same OVN version); row UUIDs change, names do not.
# Env: SELECTOR, BACKUP_ROOT, OVN_NB_REMOTES, OVN_SB_REMOTES.
set -eu
. "\${OSK_BACKUP_LIB:-${BACKUP_SCRIPTS_DIR}/lib.sh}"
: "\${SELECTOR:?}" "\${BACKUP_ROOT:?}" "\${OVN_NB_REMOTES:?}" "\${OVN_SB_REMOTES:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
s=$(osk_select ovn "$SELECTOR")
src="$BACKUP_ROOT/ovn/$s"
osk_check "$src" || osk_die "ovn/$s does not match its SHA256SUMS; refusing to restore it"
for db in nb sb; do
  if [ "$db" = nb ]; then name=OVN_Northbound; remotes=$OVN_NB_REMOTES; else name=OVN_Southbound; remotes=$OVN_SB_REMOTES; fi
  gzip -dc "$src/ovn\${db}_db.db.gz" > "$tmp/$db.db"
  osk_log "ovsdb-client restore $name from ovn/$s"
  ovsdb-client --timeout=\${OVSDB_TIMEOUT:-300} restore "$remotes" "$name" < "$tmp/$db.db" || osk_die "restore of $name failed"
done
osk_log "ovn/$s restored"
`;

/** The scripts by file name (tests run them against real servers). */
export function backupScripts(): Record<string, string> {
  return {
    'lib.sh': LIB,
    'mariadb-backup.sh': MARIADB_BACKUP,
    'ovn-backup.sh': OVN_BACKUP,
    'offsite-upload.sh': OFFSITE,
    'offsite-fetch.sh': FETCH_OFFSITE,
    'verify-sets.sh': VERIFY_SETS,
    'mariadb-restore.sh': MARIADB_RESTORE,
    'ovn-restore.sh': OVN_RESTORE,
  };
}
