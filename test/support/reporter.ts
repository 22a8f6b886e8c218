/** A Reporter that shows nothing, for tests of functions that report progress. */
import type { Reporter } from '../../src/reporter.js';

export const quietReporter: Reporter = {
  begin: () => undefined,
  waiting: () => undefined,
  done: () => undefined,
  fail: () => undefined,
  note: () => undefined,
  inFlight: () => [],
  close: () => undefined,
};
