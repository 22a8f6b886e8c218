/**
 * The order localeCompare gives names, without its cost: the first localeCompare of a process
 * builds ICU's collator and the set of locales it knows, about 8% of the CPU of a one-shot
 * `osk render` (issue 13). Names made only of lowercase letters, digits, `-` and `.`, which is
 * what Kubernetes names and osk's Secret keys are, collate as their code units order them
 * (`-` < `.` < digits < letters, a prefix first), so those are compared directly; any other
 * pair still goes through localeCompare, and the order stays what it was.
 */
const PLAIN_NAME = /^[a-z0-9.-]*$/;

export function byName(a: string, b: string): number {
  if (PLAIN_NAME.test(a) && PLAIN_NAME.test(b)) return a < b ? -1 : a > b ? 1 : 0;
  return a.localeCompare(b);
}
