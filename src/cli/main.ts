/**
 * The osk command line. kubectl-like verbs and flags (-f FILE, -o FORMAT: yaml, json or text
 * wherever there is output); user mistakes become one clear message and exit code 2, never a
 * stack trace.
 */
import { Command, CommanderError, InvalidArgumentError, Option } from '@commander-js/extra-typings';
import { z } from 'zod';
import { VERSION } from '../version.js';
import { processIo, type Io } from './io.js';
import { SecretStore } from '../state/secret-store.js';
import { secretStorePath } from '../state/paths.js';
import { ExitCode, ExitStatus, OskError, SpecError } from '../errors.js';
import { render } from '../targets/kubernetes/render.js';
import { buildModel } from '../plan/model.js';
import { loadCloudFile } from '../state/cloud-file.js';
import { parseCloudFile } from '../spec/load.js';
import { cloudFileSchema, type CloudFile } from '../spec/schema.js';
import { allObjects, type KubeObject } from '../targets/kubernetes/objects.js';
import { toMultiDocYaml } from '../targets/kubernetes/yaml.js';
import { planJson, planText } from './plan-output.js';
import { registerKubeCommands } from './kube-commands.js';
import { registerBootstrapCommand } from './bootstrap-command.js';
import { registerLocalCommands } from './local-commands.js';
import { registerDay2Commands } from './day2-commands.js';
import { addVerbHelp } from './help.js';
import {
  checkCommandPaths,
  expectReadableFile,
  expectSecretStore,
  fileSystemError,
  stateDirUse,
  type PathUse,
} from './paths.js';
import { writeRenderDir } from './render-dir.js';
import { machine, outputOption } from './output.js';

async function readCloud(file: string, io: Io): Promise<CloudFile> {
  if (file === '-') return parseCloudFile(await io.stdin(), '<stdin>');
  // Checked here rather than with the other paths before the action, so that validate and plan
  // -o json report an unreadable file among the problems on stdout.
  await expectReadableFile({ label: '-f', path: file });
  return loadCloudFile(file);
}

const fileOption = () =>
  new Option('-f, --filename <file>', 'cloud file ("-" reads standard input)').makeOptionMandatory();

/**
 * What a failed validate/plan prints on stdout with -o json|yaml: the problems, for machines (the
 * human message still goes to stderr). Undefined for failures that are not bad input.
 */
export function problemsDocument(
  e: unknown,
  file: string,
): { valid: false; problems: Record<string, unknown>[] } | undefined {
  if (e instanceof SpecError) return { valid: false, problems: e.problems.map((p) => ({ ...p })) };
  if (e instanceof OskError && e.exitCode === ExitCode.invalidInput) {
    return {
      valid: false,
      problems: [{ file, line: 0, col: 0, path: '', message: e.message, ...(e.hint ? { hint: e.hint } : {}) }],
    };
  }
  return undefined;
}

/** Runs `work`; when it fails on bad input and the output is for machines, prints the problems there first. */
async function reportingProblems<T>(output: string, filename: string, work: () => Promise<T>, io: Io): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const doc =
      output === 'json' || output === 'yaml' ? problemsDocument(e, filename === '-' ? '<stdin>' : filename) : undefined;
    if (doc) io.stdout(machine(doc, output as 'json' | 'yaml'));
    throw e;
  }
}

/**
 * A value option given twice (`-f a.yaml -f b.yaml`) is a mistake that commander would settle by
 * silently taking the last: make it an error for every option that takes one value. No verb takes
 * several values of one option today; one that does would declare it variadic (`<files...>`).
 */
function rejectRepeatedOptions(cmd: Command): void {
  for (const sub of cmd.commands as Command[]) {
    for (const opt of sub.options) {
      if (!opt.required || opt.variadic) continue;
      const key = opt.attributeName();
      const parse = opt.parseArg;
      opt.parseArg = (<T>(value: string, previous: T): T => {
        if (sub.getOptionValueSource(key) === 'cli')
          throw new InvalidArgumentError(
            `It was already given (${String(previous)}); give ${opt.short ?? opt.long} once.`,
          );
        return parse ? parse(value, previous) : (value as T);
      }) as typeof opt.parseArg;
    }
    rejectRepeatedOptions(sub);
  }
}

/** Paths of the running command, for errors that surface later (see `fileSystemError`). */
export interface CliContext {
  paths: PathUse[];
}

export function buildCli(io: Io, ctx: CliContext = { paths: [] }): Command {
  const program = new Command()
    .name('osk')
    .description('Build and run an OpenStack private cloud from one declarative file.')
    .version(VERSION, '--version')
    .showHelpAfterError('(run osk help for the commands)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  validateCommand(program, io);
  planCommand(program, io);
  renderCommand(program, io);
  registerLocalCommands(program, io, readCloud);
  registerDay2Commands(program, io, readCloud);
  registerKubeCommands(program, io, readCloud);
  registerBootstrapCommand(program, io);
  schemaCommand(program, io);

  rejectRepeatedOptions(program);
  addVerbHelp(program);
  program.hook('preAction', async (_program, action) => {
    ctx.paths = await checkCommandPaths(action as Command);
  });
  return program;
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
    .action(async (opts) => {
      const { file, model } = await reportingProblems(
        opts.output,
        opts.filename,
        async () => {
          const file = await readCloud(opts.filename, io);
          return { file, model: buildModel(file) };
        },
        io,
      );
      if (opts.output === 'text')
        io.stdout(
          `${opts.filename}: valid (cloud ${file.metadata.name}, profile ${file.spec.profile}, ${model.components.size} components)\n`,
        );
      else
        io.stdout(
          machine(
            {
              valid: true,
              cloud: file.metadata.name,
              profile: file.spec.profile,
              components: model.components.size,
              problems: [],
            },
            opts.output,
          ),
        );
    });
}

function planCommand(program: Command, io: Io): void {
  program
    .command('plan')
    .description('show the dependency graph: waves, and what each component waits for and why')
    .addOption(fileOption())
    .addOption(outputOption())
    .option('-v, --verbose', 'list every reference behind each edge')
    .action(async (opts) => {
      const model = await reportingProblems(
        opts.output,
        opts.filename,
        async () => buildModel(await readCloud(opts.filename, io)),
        io,
      );
      io.stdout(
        opts.output === 'text'
          ? planText(model, { verbose: Boolean(opts.verbose) })
          : machine(planJson(model), opts.output),
      );
    });
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
    .action(async (opts) => {
      const file = await readCloud(opts.filename, io);
      const storePath = opts.secretsFile ?? secretStorePath(file.metadata.name);
      await expectSecretStore(storePath, opts.secretsFile);
      const store = await SecretStore.open(storePath, file.metadata.name);
      const { groups, created } = render(file, store);
      await store.save();
      if (created.length) io.stderr(`generated ${created.length} new credentials into ${store.path}\n`);
      const keep = (o: KubeObject) => opts.showSecrets || o.kind !== 'Secret';
      const omitted = allObjects(groups).filter((o) => !keep(o)).length;
      const text = (objs: KubeObject[]) =>
        opts.output === 'json'
          ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs.map((o) => o.toJSON()) }, null, 2)}\n`
          : toMultiDocYaml(objs);
      if (opts.outputDir) {
        const files = groups
          .map((g) => ({ g, objs: g.objects.filter(keep) }))
          .filter(({ objs }) => objs.length > 0)
          .map(({ g, objs }) => ({
            name: `${g.name}.${opts.output}`,
            text: text(objs),
            mode: objs.some((o) => o.kind === 'Secret') ? 0o600 : 0o644,
          }));
        const { removed } = await writeRenderDir(opts.outputDir, files);
        const gone =
          removed.length > 5 ? `${removed.slice(0, 5).join(', ')} and ${removed.length - 5} more` : removed.join(', ');
        io.stderr(
          `wrote ${files.length} files to ${opts.outputDir}${removed.length ? `; removed ${removed.length} files of the earlier render that this one does not write (${gone})` : ''}\n`,
        );
      } else {
        io.stdout(text(allObjects(groups).filter(keep)));
      }
      if (omitted > 0)
        io.stderr(
          `left out ${omitted} Secrets (credentials); add --show-secrets to include them, or let osk apply create them in the cluster\n`,
        );
    });
}

function schemaCommand(program: Command, io: Io): void {
  program
    .command('schema')
    .description('print the JSON Schema of the cloud file (for editors: # yaml-language-server: $schema=…)')
    .action(() => {
      io.stdout(`${JSON.stringify(jsonSchema(), null, 2)}\n`);
    });
}

export function jsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(cloudFileSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  return { $id: 'https://osk.dev/schemas/cloud-v1alpha1.json', title: 'osk Cloud (osk.dev/v1alpha1)', ...schema };
}

/**
 * A reader that stops early (`osk render | head -1`) closes the pipe, and the next write to stdout
 * fails with EPIPE. osk then stops at once and quietly, with exit 0, as Unix filters do: the reader
 * took what it wanted and nothing failed. (Dying of SIGPIPE, 141 in a shell, would make every
 * `set -o pipefail` script that reads the first lines fail.) Output goes to stdout only at the end
 * of a verb's work, so exiting here never cuts a change short.
 */
function stopQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(ExitCode.ok);
    process.stderr.write(`osk: cannot write to standard output: ${e.message}\n`);
    process.exit(ExitCode.failed);
  });
  // With stderr closed there is nowhere left to report anything; the exit code still tells.
  process.stderr.on('error', () => undefined);
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  if (io === processIo) stopQuietlyWhenStdoutCloses();
  const ctx: CliContext = { paths: [] };
  const program = buildCli(io, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and --version exit 0; usage mistakes are bad input.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.invalidInput;
    }
    if (e instanceof ExitStatus) return e.exitCode;
    // A wrong path that got past the early checks (one below a given directory, or a race).
    const err = (await fileSystemError(e, ctx.paths.length ? ctx.paths : [stateDirUse()])) ?? e;
    if (err instanceof OskError) {
      io.stderr(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
      return err.exitCode;
    }
    io.stderr(
      `osk failed unexpectedly (this is a bug in osk; please report it with the output below):\n${(err as Error).stack ?? String(err)}\n`,
    );
    return ExitCode.failed;
  }
}
