/** What verbs read from the user besides the options' text: whole numbers, and answers to a confirmation. */
import { ExitCode, OskError } from '../errors.js';

/** The value of a whole-number option, within [min, max]; anything else is bad input. */
export function wholeNumber(flag: string, v: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new OskError(`${flag} must be a whole number from ${min} to ${max}, not "${v}"`, {
      exitCode: ExitCode.invalidInput,
    });
  return n;
}

/** Ask on stderr and wait for one line (chunk) of standard input. */
export function ask(question: string): Promise<string> {
  process.stderr.write(question);
  return new Promise((resolve) => {
    process.stdin.once('data', (d) => resolve(String(d)));
  });
}
