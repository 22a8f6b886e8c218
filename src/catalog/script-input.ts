/**
 * How values of the cloud file reach the shell that Jobs and DaemonSets run: never as script
 * text. A script is a constant; it reads its inputs from environment variables (Kubernetes
 * passes `env` values to the process as data) and quotes every expansion ("$VAR"). A list is one
 * variable with one value per line; a row of several fields is that many consecutive lines,
 * which the script reads with `while IFS= read -r a && IFS= read -r b; do …`. (Not a tab between
 * fields: YAML 1.1 readers such as kubectl's refuse a tab in a plain scalar.)
 *
 * Load-time validation (src/spec) refuses bad values with their file position; the checks here
 * are the second line: a value that slipped through can still not add a row, a field or a line
 * to what a script or a generated file reads. They throw the user-facing OskError (exit 2) that
 * names the field, never a stack trace.
 */
import { oneLine } from '../config/one-line.js';

/** A list for a script: every field of every row on a line of its own, rows one after another. */
export function rowsEnv(rows: { where: string; value: string }[][]): string {
  return rows.flatMap((row) => row.map((f) => oneLine(f.where, f.value))).join('\n');
}

/**
 * Shell every script starts with: `osk_arg`, which refuses an empty value or one that starts
 * with "-" (it would be read as an option by the command it is passed to).
 */
export const SCRIPT_PRELUDE = `osk_arg() {
  case $2 in
    ''|-*) printf 'osk: refusing %s %s: empty or starting with "-"\\n' "$1" "$2" >&2; exit 2 ;;
  esac
}`;
