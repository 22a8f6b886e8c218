/**
 * How values of the cloud file reach the shell that Jobs and DaemonSets run: never as script
 * text. A script is a constant; it reads its inputs from environment variables (Kubernetes
 * passes `env` values to the process as data) and quotes every expansion ("$VAR"). A list is one
 * variable with one row per line, fields separated by a tab, which the script reads with
 * `while IFS="$tab" read -r …`.
 *
 * Load-time validation (src/spec) refuses bad values with their file position; the checks here
 * are the second line: a value that slipped through can still not add a row, a field or a line
 * to what a script or a generated file reads. They throw the user-facing OskError (exit 2) that
 * names the field, never a stack trace.
 */
import { oneLine } from '../config/one-line.js';

export { oneLine };

/** A list for a script: rows of fields, tab-separated, one row per line. */
export function rowsEnv(rows: { where: string; value: string }[][]): string {
  return rows.map((row) => row.map((f) => oneLine(f.where, f.value)).join('\t')).join('\n');
}

/**
 * Shell every script sources first: `tab`, and `osk_arg`, which refuses an empty value or one
 * that starts with "-" (it would be read as an option by the command it is passed to).
 */
export const SCRIPT_PRELUDE = `tab=$(printf '\\t')
osk_arg() {
  case $2 in
    ''|-*) printf 'osk: refusing %s %s: empty or starting with "-"\\n' "$1" "$2" >&2; exit 2 ;;
  esac
}`;
