/**
 * Progress of long work (osk up, later osk apply), TTY-aware: on a terminal, finished steps
 * scroll as lines and one status line below them shows what is in flight with a spinner; in CI
 * or a pipe, plain timestamped lines, and a "still waiting" line per component every 15 s so a
 * log shows what a slow step was waiting for.
 */
export type Outcome = 'ready' | 'started' | 'restarted' | 'unchanged' | 'completed' | 'skipped';

export interface Reporter {
  begin(id: string, what: string): void;
  /** What a component is currently waiting for (shown live, and periodically in plain mode). */
  waiting(id: string, detail: string): void;
  done(id: string, outcome: Outcome, detail?: string): void;
  fail(id: string, message: string): void;
  note(line: string): void;
  /** Components in progress right now (for "interrupted while …"). */
  inFlight(): string[];
  close(): void;
}

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

export function createReporter(out: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean; columns?: number }, opts: { plain?: boolean } = {}): Reporter {
  const t0 = Date.now();
  const tty = Boolean(out.isTTY) && !opts.plain && process.env.CI !== 'true' && process.env.TERM !== 'dumb';
  const active = new Map<string, { since: number; detail: string; lastPrinted: number }>();
  const stamp = () => `[${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s]`;
  let frame = 0;
  let statusShown = false;
  const clearStatus = () => {
    if (tty && statusShown) out.write('\r\x1b[2K');
    statusShown = false;
  };
  const drawStatus = () => {
    if (!tty || active.size === 0) return;
    const cols = (out as { columns?: number }).columns ?? 100;
    const items = [...active].map(([id, a]) => `${id} ${Math.floor((Date.now() - a.since) / 1000)}s`);
    const first = [...active.values()][0];
    let line = `${SPIN[frame++ % SPIN.length]} ${items.join(', ')}${first?.detail ? ` · ${first.detail}` : ''}`;
    if (line.length > cols - 1) line = line.slice(0, cols - 2) + '…';
    out.write(`\r\x1b[2K${line}`);
    statusShown = true;
  };
  const print = (line: string) => {
    clearStatus();
    out.write(`${tty ? '' : `${stamp()} `}${line}\n`);
    drawStatus();
  };
  const timer = setInterval(() => {
    if (tty) {
      clearStatus();
      drawStatus();
      return;
    }
    for (const [id, a] of active) {
      if (Date.now() - a.lastPrinted >= 15_000) {
        a.lastPrinted = Date.now();
        out.write(`${stamp()} … ${id} still waiting (${Math.floor((Date.now() - a.since) / 1000)} s): ${a.detail}\n`);
      }
    }
  }, tty ? 120 : 1000);
  timer.unref();
  const secs = (id: string) => {
    const a = active.get(id);
    return a ? ` in ${((Date.now() - a.since) / 1000).toFixed(1)} s` : '';
  };
  const mark = { ready: '✔', started: '✔', restarted: '↻', unchanged: '=', completed: '✔', skipped: '–' } as const;
  return {
    begin(id, what) {
      active.set(id, { since: Date.now(), detail: what, lastPrinted: Date.now() });
      if (!tty) print(`${id}: ${what}`);
    },
    waiting(id, detail) {
      const a = active.get(id);
      if (a) a.detail = detail;
    },
    done(id, outcome, detail) {
      const line = `${mark[outcome]} ${id} ${outcome}${secs(id)}${detail ? ` (${detail})` : ''}`;
      active.delete(id);
      print(line);
    },
    fail(id, message) {
      const line = `✘ ${id} failed${secs(id)}: ${message}`;
      active.delete(id);
      print(line);
    },
    note(line) {
      print(line);
    },
    inFlight() {
      return [...active.keys()];
    },
    close() {
      clearInterval(timer);
      clearStatus();
    },
  };
}
