/**
 * What long work (osk up, apply, restore) tells about its progress. The targets report through
 * this interface; the CLI's TTY-aware implementation is in cli/progress.ts.
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
