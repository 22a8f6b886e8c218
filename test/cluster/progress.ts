// Progress of a long step (the cold Go build takes minutes to tens of minutes): never minutes of
// silence. On a terminal one live line is redrawn in place; anywhere else (CI, a pipe, a test's
// diagnostics) a plain line is written whenever the status changed and at least every `everyMs`
// even when it did not, so a log shows the step is alive and how long it has run.

interface ProgressOptions {
  /** where plain lines go (lines mode) */
  log: (line: string) => void;
  /**
   * "live": redraw one line on `stream` (a terminal); "lines": plain lines through log.
   * Default: live when the stream is a TTY and $CI is not set.
   */
  mode?: 'live' | 'lines';
  /** the terminal for live mode (default process.stderr) */
  stream?: NodeJS.WriteStream;
  /** lines mode: the longest gap between two lines (default 10 s) */
  everyMs?: number;
  /** clock, for tests */
  now?: () => number;
}

export interface Progress {
  /** The current status, e.g. "compiling 812/2301 packages (k8s.io/api/core/v1)". */
  update(status: string): void;
  /** A line that must be kept (a warning, a compiler error): written above the live line. */
  note(line: string): void;
  /** Ends the live line (or writes the last status) with a final line. */
  done(finalLine: string): void;
}

export function defaultProgressMode(stream: NodeJS.WriteStream = process.stderr): 'live' | 'lines' {
  return stream.isTTY && !process.env.CI ? 'live' : 'lines';
}

/** "7s", "3m05s", "1h02m" */
export function formatElapsed(ms: number): string {
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/**
 * Starts reporting `what` (e.g. "downloading Go modules"); each line reads
 * "<what>: <status> [<elapsed>]". Call done() exactly once; it stops the timer.
 */
export function startProgress(what: string, opts: ProgressOptions): Progress {
  const now = opts.now ?? Date.now;
  const stream = opts.stream ?? process.stderr;
  const mode = opts.mode ?? defaultProgressMode(stream);
  const everyMs = opts.everyMs ?? 10_000;
  const started = now();
  let status = 'starting';
  let lastLine = 0;
  let lastDrawn = '';
  let finished = false;

  const text = (): string => `${what}: ${status} [${formatElapsed(now() - started)}]`;

  const draw = (): void => {
    // One screen row: a wrapped live line would leave a trail of half lines behind it.
    const width = Math.max(20, (stream.columns || 100) - 1);
    let t = text();
    if (t.length > width) t = `${t.slice(0, width - 1)}…`;
    if (t === lastDrawn) return;
    lastDrawn = t;
    stream.write(`\r\x1b[K${t}`);
  };

  const line = (): void => {
    lastLine = now();
    opts.log(text());
  };

  // live: refresh the elapsed time every second; lines: a heartbeat when nothing was said for everyMs.
  const timer = setInterval(
    () => {
      if (mode === 'live') draw();
      else if (now() - lastLine >= everyMs) line();
    },
    mode === 'live' ? 1000 : Math.min(1000, everyMs),
  );
  timer.unref();
  if (mode === 'live') draw();
  else line();

  let lastStatusLine = '';
  return {
    update(s: string): void {
      if (finished) return;
      status = s;
      if (mode === 'live') {
        draw();
        return;
      }
      // A changed status is worth a line, but not hundreds a second (go build -v is fast on a
      // warm cache): at most one per 2 s, the heartbeat covers the rest.
      if (s !== lastStatusLine && now() - lastLine >= Math.min(2000, everyMs)) {
        lastStatusLine = s;
        line();
      }
    },
    note(l: string): void {
      if (mode === 'live' && !finished) {
        stream.write('\r\x1b[K');
        lastDrawn = '';
        opts.log(l);
        draw();
      } else {
        opts.log(l);
      }
    },
    done(finalLine: string): void {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      if (mode === 'live') stream.write('\r\x1b[K');
      opts.log(finalLine);
    },
  };
}
