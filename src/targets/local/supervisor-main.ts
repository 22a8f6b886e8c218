/** `osk supervise --state-dir DIR`: the entry of the per-cloud supervisor daemon (see supervisor.ts). */
import { basename } from 'node:path';
import { statePaths } from '../../state/paths.js';
import { runSupervisor } from './supervisor.js';

export async function supervisorMain(argv: string[]): Promise<void> {
  const i = argv.indexOf('--state-dir');
  const dir = i >= 0 ? argv[i + 1] : undefined;
  if (!dir) {
    process.stderr.write('usage: osk supervise --state-dir DIR (started by osk up; not meant to be run by hand)\n');
    process.exit(2);
  }
  // The server and the child processes keep the event loop alive until shutdown.
  await runSupervisor(statePaths(basename(dir.replace(/\/+$/, '')), dir));
}
