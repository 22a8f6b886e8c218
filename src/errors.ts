/**
 * One error type for everything osk reports to a user. The CLI prints `message` (and `hint`),
 * never a stack trace, and exits with `exitCode`. Anything that is not an OskError is a bug in
 * osk and is printed with its stack.
 */
export const ExitCode = {
  ok: 0,
  /** The work failed (a server said no, a step did not converge). */
  failed: 1,
  /** The input is wrong: the cloud file, a flag, a file path. Fix the input and run again. */
  invalidInput: 2,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class OskError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(message: string, opts: { exitCode?: ExitCode; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'OskError';
    this.exitCode = opts.exitCode ?? ExitCode.failed;
    this.hint = opts.hint;
  }
}

/** A problem in a cloud file, with where it is and what would fix it. */
export interface SpecProblem {
  file: string;
  /** 1-based; 0 when the problem has no position (e.g. the file cannot be read). */
  line: number;
  col: number;
  /** Dotted field path, e.g. `spec.services.nova.api.replicas`; empty for whole-file problems. */
  path: string;
  message: string;
  hint?: string;
}

function formatProblem(p: SpecProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}:${p.col}` : p.file;
  const field = p.path ? `${p.path}: ` : '';
  return `${where}: ${field}${p.message}${p.hint ? `\n    hint: ${p.hint}` : ''}`;
}

/** All problems of one file, reported together (the first ones, and how many more there are). */
export class SpecError extends OskError {
  readonly problems: SpecProblem[];
  /** Problems found but not listed (a file with thousands of mistakes gets the first ones and a count). */
  readonly omitted: number;
  constructor(problems: SpecProblem[], omitted = 0) {
    const n = problems.length + omitted;
    const more = omitted > 0 ? `\n  … and ${omitted} more problem${omitted === 1 ? '' : 's'}` : '';
    super(
      `${n} problem${n === 1 ? '' : 's'} in ${problems[0]?.file ?? 'the cloud file'}:\n${problems.map((p) => `  ${formatProblem(p)}`).join('\n')}${more}`,
      {
        exitCode: ExitCode.invalidInput,
      },
    );
    this.name = 'SpecError';
    this.problems = problems;
    this.omitted = omitted;
  }
}

/**
 * A command's verdict that is not an error message: `osk diff` found differences, `osk status`
 * found something unready. The output already says why; the CLI only exits with the code.
 */
export class ExitStatus extends Error {
  constructor(readonly exitCode: ExitCode) {
    super(`exit ${exitCode}`);
    this.name = 'ExitStatus';
  }
}
