/** The all-in-one topology: every component on loopback, every file under the cloud's state dir. */
import { join } from 'node:path';
import type { HostMachine, Topology } from '../../catalog/context.js';
import type { StatePaths } from '../../state/paths.js';

export const LOOPBACK = '127.0.0.1';

export function hostTopology(
  paths: StatePaths,
  machine: Omit<HostMachine, 'stateDir' | 'runDir' | 'logDir'>,
): Topology {
  return {
    host: () => LOOPBACK,
    podHost: () => LOOPBACK,
    bindAddress: LOOPBACK,
    configDir: (bundle) => join(paths.etc, bundle),
    dataDir: (service) => join(paths.data, service),
    machine: { ...machine, stateDir: paths.root, runDir: paths.run, logDir: paths.log },
  };
}
