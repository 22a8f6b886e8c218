/** The shell scripts of Nova's Jobs and steps (nova.ts); nova-cell-setup.script.test.ts runs the cell setup's. */

/** API and cell schemas, cell0 and cell1 mapped; "$@" are nova-manage's config arguments. */
export const NOVA_DB_SYNC = [
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
