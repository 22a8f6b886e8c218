/**
 * `-o FORMAT` means the same on every verb: text for people, json or yaml for machines (the same
 * document in both). A verb with output takes all three.
 */
import { Option } from '@commander-js/extra-typings';
import { stringify } from 'yaml';

export const outputOption = () =>
  new Option('-o, --output <format>', 'output format')
    .choices(['text', 'json', 'yaml'] as const)
    .default('text' as const);

export function machine(doc: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : stringify(doc, { lineWidth: 0 });
}
