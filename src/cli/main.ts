/**
 * The osk command line. kubectl-like verbs and flags (-f FILE, -o FORMAT: yaml, json or text
 * wherever there is output); user mistakes become one clear message and exit code 2, never a
 * stack trace.
 *
 * Declaring the verbs loads commander and their options and help, nothing more: each verb's
 * action imports what it does (the *-actions.ts modules: schemas, catalog, Kubernetes models and
 * clients) when it runs. Help, usage errors and --version so answer without loading any of that.
 */
import { Command, CommanderError, InvalidArgumentError } from '@commander-js/extra-typings';
import { reportUsageError } from './usage-error.js';
import { VERSION } from '../version.js';
import { processIo, type Io } from './io.js';
import { ExitCode, ExitStatus, OskError } from '../errors.js';
import { registerFileCommands, registerSchemaCommand } from './file-commands.js';
import { registerKubeCommands } from './kube-commands.js';
import { registerBootstrapCommand } from './bootstrap-command.js';
import { registerLocalCommands } from './local-commands.js';
import { registerDay2Commands } from './day2-commands.js';
import { registerImagesCommands } from './images-commands.js';
import { registerClusterCommands } from './cluster-commands.js';
import { addVerbHelp } from './help.js';
import { checkCommandPaths, fileSystemError, stateDirUse, type PathUse } from './paths.js';

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

export interface CliContext {
  /** Paths of the running command, for errors that surface later (see `fileSystemError`). */
  paths: PathUse[];
  /**
   * When set, a verb's work is not done in this process: handOff runs the whole command again
   * elsewhere and returns its exit code. bin/osk.js sets it when an older Node started osk, which
   * so answers help, usage errors and --version itself and runs the verbs on Node 22.
   */
  handOff?: () => number;
}

/** The verb ran in another process (`CliContext.handOff`), which exited with this code. */
class HandedOff {
  constructor(readonly exitCode: number) {}
}

export function buildCli(io: Io, ctx: CliContext = { paths: [] }): Command {
  const program = new Command()
    .name('osk')
    .description('Build and run an OpenStack private cloud from one declarative file.')
    .version(VERSION, '--version')
    .showHelpAfterError('(run osk help for the commands)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  registerFileCommands(program, io);
  registerLocalCommands(program, io);
  registerDay2Commands(program, io);
  registerKubeCommands(program, io);
  registerImagesCommands(program, io);
  registerClusterCommands(program, io);
  registerBootstrapCommand(program, io);
  registerSchemaCommand(program, io);

  rejectRepeatedOptions(program);
  addVerbHelp(program);
  program.hook('preAction', async (_program, action) => {
    if (ctx.handOff) throw new HandedOff(ctx.handOff());
    ctx.paths = await checkCommandPaths(action as Command);
  });
  return program;
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
export async function main(argv: string[], io: Io = processIo, handOff?: () => number): Promise<number> {
  if (io === processIo) stopQuietlyWhenStdoutCloses();
  const ctx: CliContext = { paths: [], ...(handOff ? { handOff } : {}) };
  const program = buildCli(io, ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and --version exit 0; usage mistakes are bad input.
      if (e.exitCode === 0) return ExitCode.ok;
      await reportUsageError(argv, e.message, io);
      return ExitCode.invalidInput;
    }
    if (e instanceof ExitStatus || e instanceof HandedOff) return e.exitCode;
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
