/** Running a command to its end, for the host target and the bootstrap tasks (which run mariadb). */
import { spawn } from 'node:child_process';

/** Process groups of commands still running; killed when osk exits (an interrupted osk up). */
const runningGroups = new Set<number>();
let killOnExit = false;
function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, 'SIGKILL');
  } catch {
    // Already gone.
  }
}

/**
 * Runs a command to its end, or kills it after `timeoutMs` (then `timedOut` is true). The
 * command gets its own process group and the whole group is killed: a step is often `sh -c`
 * around the real program (nova-manage), which would otherwise go on running beside a rerun.
 * Being its own group, it no longer gets the terminal's Ctrl-C, so osk kills what is still
 * running when it exits.
 */
export function runCommand(
  command: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {},
): Promise<{ code: number; out: string; timedOut: boolean }> {
  return new Promise((resolve) => {
    const [cmd, ...args] = command as [string, ...string[]];
    const p = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    let out = '';
    let timedOut = false;
    const pgid = p.pid;
    if (pgid !== undefined) runningGroups.add(pgid);
    if (!killOnExit) {
      killOnExit = true;
      process.on('exit', () => runningGroups.forEach(killGroup));
    }
    const timer = setTimeout(() => {
      timedOut = true;
      if (pgid !== undefined) killGroup(pgid);
    }, opts.timeoutMs ?? 30_000);
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    p.on('error', (e) => {
      clearTimeout(timer);
      if (pgid !== undefined) runningGroups.delete(pgid);
      resolve({ code: 127, out: `${cmd}: ${e.message}`, timedOut: false });
    });
    p.on('close', (code) => {
      clearTimeout(timer);
      if (pgid !== undefined) runningGroups.delete(pgid);
      resolve({ code: code ?? 1, out, timedOut });
    });
    // A child that exits before reading its stdin would make the write fail with EPIPE, which
    // is not an error of ours: its exit code says what happened.
    p.stdin.on('error', () => undefined);
    p.stdin.end(opts.stdin ?? '');
  });
}
