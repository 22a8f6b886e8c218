/**
 * Running the build's tools (debootstrap, chroot + apt-get, umoci, skopeo, ctr): argv only, never
 * a shell line, so a value can only ever be one argument. Output is kept as its last lines for
 * the error, and each line can be shown as progress while a long step runs.
 */
import { spawn } from 'node:child_process';
import { OskError } from '../errors.js';

/** Children still running, killed if osk exits in the middle (Ctrl-C during an apt-get). */
const running = new Set<number>();
let hooked = false;

const TAIL_LINES = 30;

export interface RunOptions {
  /** Each line of output as it comes (progress). */
  onLine?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Text for the error when it fails, e.g. "apt-get install in the keystone image". */
  what?: string;
  /** Exit codes that are not failures. */
  okCodes?: number[];
}

export interface RunResult {
  code: number;
  stdout: string;
  /** Last lines of stdout and stderr together. */
  tail: string;
}

export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [cmd, ...args] = argv as [string, ...string[]];
  if (!hooked) {
    hooked = true;
    process.on('exit', () => {
      for (const pid of running) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    });
  }
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (p.pid !== undefined) running.add(p.pid);
    let stdout = '';
    const tail: string[] = [];
    let partial = '';
    const take = (chunk: string, keep: boolean) => {
      if (keep) stdout += chunk;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop() ?? '';
      for (const l of lines) {
        tail.push(l);
        if (tail.length > TAIL_LINES) tail.shift();
        if (l.trim()) opts.onLine?.(l);
      }
    };
    p.stdout.setEncoding('utf8').on('data', (d: string) => take(d, true));
    p.stderr.setEncoding('utf8').on('data', (d: string) => take(d, false));
    p.on('error', (e) => {
      if (p.pid !== undefined) running.delete(p.pid);
      reject(new OskError(`cannot run ${cmd}: ${e.message}`));
    });
    p.on('close', (code, signal) => {
      if (p.pid !== undefined) running.delete(p.pid);
      if (partial) tail.push(partial);
      const result = { code: code ?? 128, stdout, tail: tail.join('\n') };
      if (code === 0 || (code !== null && opts.okCodes?.includes(code))) return resolve(result);
      const how = signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(
        new OskError(`${opts.what ?? argv.slice(0, 3).join(' ')} failed: ${cmd} ${how}:\n${indent(result.tail)}`, {
          hint: `the whole command: ${argv.map(quote).join(' ')}`,
        }),
      );
    });
  });
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

/** Shell quoting for the hint only (the command itself never goes through a shell). */
function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
