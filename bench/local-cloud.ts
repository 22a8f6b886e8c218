/** What the benchmarks that bring up the all-in-one share. */
import { openLocalCloud } from '../src/targets/local/cloud.js';
import { down } from '../src/targets/local/down.js';
import { hostWaves } from '../src/targets/local/up.js';

/** Stops and purges the all-in-one a benchmark started, even after a failure (quiet when none was). */
export async function purgeLocalCloud(): Promise<void> {
  try {
    const { model, paths } = await openLocalCloud('default');
    await down(paths, hostWaves(model), { purge: true, log: () => undefined });
  } catch {
    // nothing was started
  }
}
