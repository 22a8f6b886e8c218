/**
 * Progress of long work (osk up, osk apply), TTY-aware: on a terminal, finished steps scroll as
 * lines and one status line below them shows what is in flight with a spinner; in CI or a pipe,
 * plain timestamped lines, and a "still waiting" line per component every 15 s so a log shows
 * what a slow step was waiting for.
 *
 * The spinner line is cut at the screen width, so it can never be where a reason is read: on a
 * terminal, a component that has waited 15 s gets its reason printed in full (wrapped, on its
 * own lines) whenever the reason changes, and at least once a minute; a failure is printed
 * wrapped too.
 */
import type { Reporter } from '../reporter.js';

/** Words to lines of at most `width` columns; continuation lines get `indent`. Existing newlines stay. */
export function wrapText(text: string, width: number, indent = '    '): string {
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const lead = /^\s*/.exec(raw)![0];
    let line = '';
    let first = true;
    for (const word of raw.trim().split(/ +/)) {
      const prefix = first ? lead : `${lead}${indent}`;
      if (line && `${prefix + line} ${word}`.length > width) {
        out.push(prefix + line);
        first = false;
        line = word;
      } else line = line ? `${line} ${word}` : word;
    }
    out.push((first ? lead : `${lead}${indent}`) + line);
  }
  return out.join('\n');
}

const SPIN = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

type Out = NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean; columns?: number };

/** A component in flight: since when, what it waits for, and when (and what) was last printed of it. */
interface Active {
  since: number;
  detail: string;
  lastPrinted: number;
  printedDetail?: string;
}

/** Where a reporter writes: finished lines and, on a terminal, the status line below them. */
interface Screen {
  print(line: string): void;
  /** Redraw the status line (the spinner turns). */
  redraw(): void;
  clear(): void;
  stamp(): string;
  width(): number;
}

function screen(out: Out, tty: boolean, active: Map<string, Active>): Screen {
  const t0 = Date.now();
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
    if (line.length > cols - 1) line = `${line.slice(0, cols - 2)}…`;
    out.write(`\r\x1b[2K${line}`);
    statusShown = true;
  };
  return {
    print(line) {
      clearStatus();
      out.write(`${tty ? '' : `${stamp()} `}${line}\n`);
      drawStatus();
    },
    redraw() {
      clearStatus();
      drawStatus();
    },
    clear: clearStatus,
    stamp,
    width: () => Math.max(40, ((out as { columns?: number }).columns ?? 100) - 1),
  };
}

/**
 * Each tick: the components that have waited `stuckAfter` get their reason printed — on a terminal
 * when it changed or a minute passed, wrapped; otherwise a timestamped line every `stuckAfter`.
 */
function remindStuck(s: Screen, out: Out, tty: boolean, active: Map<string, Active>, stuckAfter: number): void {
  if (tty) {
    const now = Date.now();
    for (const [id, a] of active) {
      const changed = a.detail !== a.printedDetail && now - a.lastPrinted >= stuckAfter;
      if (now - a.since >= stuckAfter && (changed || now - a.lastPrinted >= 4 * stuckAfter)) {
        a.lastPrinted = now;
        a.printedDetail = a.detail;
        s.print(wrapText(`… ${id} still waiting (${Math.floor((now - a.since) / 1000)} s): ${a.detail}`, s.width()));
      }
    }
    s.redraw();
    return;
  }
  for (const [id, a] of active) {
    if (Date.now() - a.lastPrinted >= stuckAfter) {
      a.lastPrinted = Date.now();
      out.write(`${s.stamp()} … ${id} still waiting (${Math.floor((Date.now() - a.since) / 1000)} s): ${a.detail}\n`);
    }
  }
}

export function createReporter(
  out: Out,
  opts: {
    plain?: boolean /** How long a component waits before its reason is printed in full (terminal). */;
    stuckAfterMs?: number;
  } = {},
): Reporter {
  const tty = Boolean(out.isTTY) && !opts.plain && process.env.CI !== 'true' && process.env.TERM !== 'dumb';
  const active = new Map<string, Active>();
  const stuckAfter = opts.stuckAfterMs ?? 15_000;
  const s = screen(out, tty, active);
  const timer = setInterval(() => remindStuck(s, out, tty, active, stuckAfter), tty ? 120 : 1000);
  timer.unref();
  const secs = (id: string) => {
    const a = active.get(id);
    return a ? ` in ${((Date.now() - a.since) / 1000).toFixed(1)} s` : '';
  };
  const mark = { ready: '✔', started: '✔', restarted: '↻', unchanged: '=', completed: '✔', skipped: '–' } as const;
  return {
    begin(id, what) {
      active.set(id, { since: Date.now(), detail: what, lastPrinted: Date.now() });
      if (!tty) s.print(`${id}: ${what}`);
    },
    waiting(id, detail) {
      const a = active.get(id);
      if (a) a.detail = detail;
    },
    done(id, outcome, detail) {
      const line = `${mark[outcome]} ${id} ${outcome}${secs(id)}${detail ? ` (${detail})` : ''}`;
      active.delete(id);
      s.print(line);
    },
    fail(id, message) {
      const line = `✘ ${id} failed${secs(id)}: ${message}`;
      active.delete(id);
      s.print(tty ? wrapText(line, s.width()) : line);
    },
    note(line) {
      s.print(tty ? wrapText(line, s.width()) : line);
    },
    inFlight() {
      return [...active.keys()];
    },
    close() {
      clearInterval(timer);
      s.clear();
    },
  };
}
