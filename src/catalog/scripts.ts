/**
 * Shell run by the bootstrap Jobs (mounted from the `osk-scripts` ConfigMap). Every script is
 * idempotent: a rerun after an interruption converges, and a password in the store is always
 * re-applied so the store stays the single source of truth. Passwords come from the environment
 * (secretKeyRefs), never from the command line, so they do not show in `ps` or in the Job spec.
 */
import { SCRIPT_PRELUDE } from './script-input.js';
import type { ServiceDef } from './types.js';

const DB_INIT = `#!/bin/sh
# Create databases and their user; re-apply the password from the store on every run.
# DB_GRANTS (optional): more grants of the user, one "privileges ON object" per line (the
# metrics user's server-wide monitoring privileges); DB_MAX_CONNECTIONS caps its connections.
set -eu
export MYSQL_PWD="$MARIADB_ROOT_PASSWORD"
until mariadb -h "$DB_HOST" -u root -e 'SELECT 1' >/dev/null 2>&1; do
  echo "waiting for MariaDB at $DB_HOST"; sleep 2
done
sql=""
for db in $DB_NAMES; do
  sql="$sql CREATE DATABASE IF NOT EXISTS \\\`$db\\\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;"
  sql="$sql GRANT ALL PRIVILEGES ON \\\`$db\\\`.* TO '$DB_USER'@'%';"
done
if [ -n "\${DB_GRANTS:-}" ]; then
  sql="$sql $(printf '%s\\n' "$DB_GRANTS" | while IFS= read -r g; do [ -z "$g" ] || printf "GRANT %s TO '%s'@'%%'; " "$g" "$DB_USER"; done)"
fi
limit=""
if [ -n "\${DB_MAX_CONNECTIONS:-}" ]; then limit=" WITH MAX_USER_CONNECTIONS $DB_MAX_CONNECTIONS"; fi
mariadb -h "$DB_HOST" -u root <<SQL
CREATE USER IF NOT EXISTS '$DB_USER'@'%' IDENTIFIED BY '$DB_PASSWORD';
ALTER USER '$DB_USER'@'%' IDENTIFIED BY '$DB_PASSWORD'$limit;
$sql
FLUSH PRIVILEGES;
SQL
echo "\${DB_NAMES:+databases $DB_NAMES }ready for user $DB_USER"
`;

const KS_USER = `#!/bin/sh
# Service user in project "service" with roles admin and service; password re-applied each run.
set -eu
openstack project show service >/dev/null 2>&1 || openstack project create --domain Default --description "Service project" service >/dev/null 2>&1 || openstack project show service >/dev/null
openstack role show service >/dev/null 2>&1 || openstack role create service >/dev/null 2>&1 || true
if openstack user show --domain Default "$SERVICE_USER" >/dev/null 2>&1; then
  openstack user set --password "$SERVICE_PASSWORD" "$SERVICE_USER"
else
  openstack user create --domain Default --password "$SERVICE_PASSWORD" "$SERVICE_USER" >/dev/null
fi
openstack role add --project service --user "$SERVICE_USER" admin
openstack role add --project service --user "$SERVICE_USER" service
echo "keystone user $SERVICE_USER ready"
`;

const KS_REGISTER = `#!/bin/sh
# Catalog entry: one service of SERVICE_TYPE and its three endpoints in OS_REGION_NAME.
set -eu
sid=$(openstack service list -f value -c ID -c Type | awk -v t="$SERVICE_TYPE" '$2 == t { print $1; exit }')
if [ -z "$sid" ]; then
  sid=$(openstack service create --name "$SERVICE_NAME" -f value -c id "$SERVICE_TYPE")
fi
for iface in public internal admin; do
  case $iface in public) url=$ENDPOINT_PUBLIC ;; internal) url=$ENDPOINT_INTERNAL ;; admin) url=$ENDPOINT_ADMIN ;; esac
  eid=$(openstack endpoint list --service "$sid" --interface "$iface" --region "$OS_REGION_NAME" -f value -c ID | head -n 1)
  if [ -z "$eid" ]; then
    openstack endpoint create --region "$OS_REGION_NAME" "$sid" "$iface" "$url" >/dev/null
  else
    openstack endpoint set --url "$url" "$eid"
  fi
done
echo "$SERVICE_TYPE registered in $OS_REGION_NAME"
`;

const VOLUME_TYPES = `#!/bin/sh
# Cinder volume types, one per backend, and their QoS specs (consumer front-end, associated).
# VOLUME_TYPES: two lines per type: its name, then its volume_backend_name.
# VOLUME_QOS (optional): two lines per QoS property: the type name, then "<key>=<value>"; the
# spec of a type is named "<type name>-qos".
set -eu
${SCRIPT_PRELUDE}
printf '%s\\n' "$VOLUME_TYPES" | while IFS= read -r vtype && IFS= read -r backend; do
  [ -n "$vtype$backend" ] || continue
  osk_arg 'volume type' "$vtype"
  if ! openstack volume type show "$vtype" >/dev/null 2>&1; then
    openstack volume type create --property "volume_backend_name=$backend" "$vtype" >/dev/null
  fi
  echo "volume type $vtype ready (backend $backend)"
done
printf '%s\\n' "\${VOLUME_QOS:-}" | while IFS= read -r vtype && IFS= read -r property; do
  [ -n "$vtype$property" ] || continue
  osk_arg 'volume type' "$vtype"
  if ! openstack volume qos show "$vtype-qos" >/dev/null 2>&1; then
    openstack volume qos create --consumer front-end "$vtype-qos" >/dev/null
  fi
  openstack volume qos set --property "$property" "$vtype-qos"
  openstack volume qos associate "$vtype-qos" "$vtype" 2>/dev/null || true
  echo "QoS $property of volume type $vtype ready"
done
`;

/** The scripts bundle; not a service of the cloud, only files. */
export function oskScripts(): ServiceDef {
  return {
    name: 'osk',
    components: [],
    secrets: [],
    configs: [
      {
        name: 'osk-scripts',
        dir: '/opt/osk/bin',
        files: [
          { name: 'db-init.sh', text: DB_INIT },
          { name: 'ks-user.sh', text: KS_USER },
          { name: 'ks-register.sh', text: KS_REGISTER },
          { name: 'volume-types.sh', text: VOLUME_TYPES },
        ],
      },
    ],
  };
}
