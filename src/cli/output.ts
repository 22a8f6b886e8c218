/** What `-o json` and `-o yaml` print (options.ts): the same document in both. */
import { toPlainYaml } from '../plain-yaml.js';

export function machine(doc: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : toPlainYaml(doc);
}
