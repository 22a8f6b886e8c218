/** What `-o json` and `-o yaml` print (options.ts): the same document in both. */
import { stringify } from 'yaml';

export function machine(doc: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 });
}
