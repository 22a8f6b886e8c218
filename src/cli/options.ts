/**
 * The options several verbs share. Declaring a verb loads only these and commander: the help,
 * the usage errors and `--version` need nothing of what the verbs do (see main.ts).
 */
import { Option, type Command } from '@commander-js/extra-typings';

export const fileOption = () =>
  new Option('-f, --filename <file>', 'cloud file ("-" reads standard input)').makeOptionMandatory();

/**
 * `-o FORMAT` means the same on every verb: text for people, json or yaml for machines (the same
 * document in both, output.ts). A verb with output takes all three.
 */
export const outputOption = () =>
  new Option('-o, --output <format>', 'output format')
    .choices(['text', 'json', 'yaml'] as const)
    .default('text' as const);

export const cloudOption = () =>
  new Option('--cloud <name>', 'the all-in-one cloud (default: the only one on this host)');

// biome-ignore lint/suspicious/noExplicitAny: any command, whatever its arguments and options
export function kubeOptions<T extends Command<any, any, any>>(cmd: T): T {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current one)') as T;
}
