/**
 * The verbs that need only the cloud file: validate, plan, render; and schema, the file's format.
 * What they do is in file-actions.ts, imported when one runs.
 */
import { InvalidArgumentError, Option, type Command } from '@commander-js/extra-typings';
import type { Io } from './io.js';
import { fileOption, outputOption } from './options.js';

const actions = () => import('./file-actions.js');

export function registerFileCommands(program: Command, io: Io): void {
  validateCommand(program, io);
  planCommand(program, io);
  renderCommand(program, io);
}

function validateCommand(program: Command, io: Io): void {
  program
    .command('validate')
    .description('check a cloud file: every problem with file:line:column, field and fix')
    .addOption(fileOption())
    .addOption(
      new Option(
        '-o, --output <format>',
        'output format (json and yaml print the problems of a bad file on stdout too)',
      )
        .choices(['text', 'json', 'yaml'] as const)
        .default('text' as const),
    )
    .action(async (opts) => (await actions()).validate(opts, io));
}

function planCommand(program: Command, io: Io): void {
  program
    .command('plan')
    .description('show the dependency graph: waves, and what each component waits for and why')
    .addOption(fileOption())
    .addOption(outputOption())
    .option('-v, --verbose', 'list every reference behind each edge')
    .action(async (opts) => (await actions()).plan(opts, io));
}

/** render's -o: yaml or json. */
function renderFormatOption() {
  const renderFormat = new Option('-o, --output <format>', 'output format: yaml (multi-document) or json (a List)')
    .choices(['yaml', 'json'] as const)
    .default('yaml' as const);
  // Before, render's -o named a directory: say where that moved rather than only listing formats.
  const formatOf = renderFormat.parseArg;
  renderFormat.parseArg = (<T>(value: string, previous: T): T => {
    try {
      return formatOf!(value, previous);
    } catch (e) {
      if (e instanceof InvalidArgumentError)
        throw new InvalidArgumentError(
          `Allowed formats are yaml and json. To write one file per component into a directory, use --output-dir ${value}`,
        );
      throw e;
    }
  }) as typeof renderFormat.parseArg;
  return renderFormat;
}

function renderCommand(program: Command, io: Io): void {
  program
    .command('render')
    .description(
      'write the Kubernetes objects: multi-document YAML (or a JSON List) on stdout, for kubectl apply -f -, or one file per component with --output-dir DIR',
    )
    .addOption(fileOption())
    .addOption(renderFormatOption())
    .option(
      '--output-dir <dir>',
      'write NNN-<component>.yaml (or .json) files in apply order into this new, empty or osk-rendered directory; only files osk wrote there are ever replaced',
    )
    .option('--show-secrets', 'include Secrets with their values (credentials are left out otherwise)')
    .option(
      '--secrets-file <path>',
      'secret store of this cloud (default: $OSK_STATE_DIR or ~/.local/state/osk/<cloud>/secrets.yaml)',
    )
    .action(async (opts) => (await actions()).renderCloud(opts, io));
}

export function registerSchemaCommand(program: Command, io: Io): void {
  program
    .command('schema')
    .description(
      'print the JSON Schema of the cloud file, or of a cluster file (for editors: # yaml-language-server: $schema=…)',
    )
    .addOption(
      new Option('--kind <kind>', 'the kind of file')
        .choices(['Cloud', 'KubernetesCluster'] as const)
        .default('Cloud' as const),
    )
    .action(async (opts) => (await actions()).printSchema(io, opts.kind));
}
