/**
 * The day-2 verbs: health (probe the APIs of an all-in-one cloud, any clouds.yaml entry, or a
 * cloud on Kubernetes), backup and restore (backup-commands.ts). What health does is in
 * day2-actions.ts, imported when it runs.
 */
import type { Command } from '@commander-js/extra-typings';
import { backupCommand, restoreCommand } from './backup-commands.js';
import type { Io } from './io.js';
import { kubeOptions, outputOption } from './options.js';

export function registerDay2Commands(program: Command, io: Io): void {
  healthCommand(program, io);
  backupCommand(program, io);
  restoreCommand(program, io);
}

function healthCommand(program: Command, io: Io): void {
  kubeOptions(
    program
      .command('health')
      .description(
        'probe every OpenStack API (token, nova, neutron, cinder, glance, placement, port create/delete; volumes with --write): p50/p99 and success rate against the thresholds; exit 1 when one is broken',
      )
      .option(
        '--cloud <name>',
        'an all-in-one osk cloud (default: the only one on this host); thresholds from its cloud file',
      )
      .option(
        '--os-cloud <name>',
        'any OpenStack: a clouds.yaml entry (OS_CLOUD and OS_CLIENT_CONFIG_FILE are respected)',
      )
      .option('-n, --probes <n>', 'calls per probe', '20')
      .option('-c, --concurrency <n>', 'calls in flight at once per probe', '4')
      .option('--write', 'also create and delete volumes (measures cinderOpLatency)')
      .option('--timeout <seconds>', 'per call', '30')
      .option('--nova-api-p99 <duration>', 'threshold, e.g. 500ms (default: the cloud file, else 500ms)')
      .option('--neutron-port-failure-rate <percent>', 'threshold, e.g. 1%')
      .option('--cinder-op-latency <duration>', 'threshold, e.g. 3s')
      .option('--api-success-rate <percent>', 'threshold, e.g. 99.9%')
      .option(
        '-f, --filename <file>',
        'a cloud on Kubernetes: pod restarts and container CPU/memory from the cluster (with --os-cloud also its APIs)',
      )
      .addOption(outputOption()),
  ).action(async (opts) => (await import('./day2-actions.js')).health(opts, io));
}
