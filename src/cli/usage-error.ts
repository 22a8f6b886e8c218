/**
 * A usage error (commander refused the command line: an unknown option, a missing argument)
 * when the command line asked for `-o json` or `-o yaml`. People still read commander's text on
 * stderr; a program that parses osk's stdout gets a document there too, of the shape a failed
 * `osk validate -o json` prints for bad input (`valid: false` and the problems, each with a
 * message and a hint), so one reader handles both. The exit code stays 2. Light on purpose:
 * main.ts answers usage errors without loading any verb's work.
 */
import type { Io } from './io.js';

/** The format `-o`/`--output` asks for on this command line, if it is one for machines. */
function machineFormat(argv: readonly string[]): 'json' | 'yaml' | undefined {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') break;
    const value =
      a === '-o' || a === '--output'
        ? argv[i + 1]
        : a.startsWith('--output=')
          ? a.slice('--output='.length)
          : a.startsWith('-o') && !a.startsWith('--')
            ? a.slice(2)
            : undefined;
    if (value === 'json' || value === 'yaml') return value;
  }
  return undefined;
}

/** Prints the usage error's document on stdout when the command line asked for json or yaml. */
export async function reportUsageError(argv: readonly string[], message: string, io: Io): Promise<void> {
  const format = machineFormat(argv);
  if (!format) return;
  const doc = {
    valid: false,
    problems: [
      {
        file: '<command line>',
        line: 0,
        col: 0,
        path: '',
        message: message.replace(/^error: /, '').trim(),
        hint: 'osk help <verb> lists its options and arguments',
      },
    ],
  };
  const { machine } = await import('./output.js');
  io.stdout(machine(doc, format));
}
