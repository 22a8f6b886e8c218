/**
 * The all-in-one verbs: up, down, status, logs, env, rotate-keys (and the hidden supervise that
 * `up` starts, run by bin/osk.js). What they do is in local-actions.ts, imported when one runs.
 */
import { Option, type Command } from '@commander-js/extra-typings';
import type { Io } from './io.js';
import { cloudOption, outputOption } from './options.js';

const actions = () => import('./local-actions.js');

export function registerLocalCommands(program: Command, io: Io): void {
  upCommand(program, io);
  downCommand(program, io);
  statusCommand(program, io);
  logsCommand(program);
  envCommand(program, io);
  rotateKeysCommand(program, io);
}

function upCommand(program: Command, io: Io): void {
  program
    .command('up')
    .summary('run the cloud on this host: Debian packages, supervised on loopback')
    .description(
      'run the cloud on this host: Debian packages, supervised on loopback (without -f: the cloud of --cloud or the only one on this host again, else the built-in minimal cloud). ' +
        "By default Nova runs its fake driver (servers and ports go through their whole API lifecycle with no guest); with spec.services.nova.hypervisor: qemu (or auto) real QEMU guests boot on the cloud's own Open vSwitch and OVN, with DHCP, metadata and floating IPs on the external network public, reached from the namespace osk-external. Cinder runs its fake backend: volumes hold no data (real volumes: osk apply on Kubernetes)",
    )
    .option('-f, --filename <file>', 'cloud file ("-" reads standard input)')
    .option('--cloud <name>', 'without -f: start again a cloud osk up made before, from the copy of its file it keeps')
    .option('-y, --yes', 'install missing Debian packages without asking (needs root)')
    .addOption(new Option('--timeout <seconds>', 'how long one component may take to get ready').default('300'))
    .action(async (opts) => (await actions()).up(opts, io));
}

function downCommand(program: Command, io: Io): void {
  program
    .command('down')
    .description('stop every program of the all-in-one cloud (by PID, dependants first); --purge also deletes its data')
    .addOption(cloudOption())
    .option('--purge', 'remove the state: configs, databases, images, logs and credentials')
    .option('-y, --yes', 'do not ask before --purge')
    .action(async (opts) => (await actions()).down(opts, io));
}

function statusCommand(program: Command, io: Io): void {
  program
    .command('status')
    .description(
      'per component: on this host (default) state, readiness, PID, uptime, restarts; on Kubernetes (-f FILE) ready/desired, image, age, blocked-by',
    )
    .addOption(cloudOption())
    .option('-f, --filename <file>', 'a cloud deployed to Kubernetes (osk apply): its status in the cluster')
    .option('--kubeconfig <file>', 'kubeconfig, with -f')
    .option('--context <name>', 'kubeconfig context, with -f')
    .addOption(outputOption())
    .action(async (opts) => (await actions()).status(opts, io));
}

function logsCommand(program: Command): void {
  program
    .command('logs')
    .description('show the log of one component (e.g. nova-api, mariadb, keystone-db-sync)')
    .argument('<component>')
    .addOption(cloudOption())
    .option('-f, --follow', 'keep printing new lines')
    .option('-n, --lines <n>', 'lines from the end', '100')
    .action(async (component, opts) => (await actions()).logs(component, opts));
}

function envCommand(program: Command, io: Io): void {
  program
    .command('env')
    .description('print shell lines that point the openstack CLI at the cloud: eval "$(osk env)"')
    .addOption(cloudOption())
    .option('--demo', 'the demo user instead of admin')
    .option(
      '-f, --filename <file>',
      'a cloud on Kubernetes instead: writes a clouds.yaml for its public endpoints (endpoints.nodePorts or publicDomain)',
    )
    .option('--secrets-file <file>', "with -f: the secret store osk apply used (default: the cloud's own)")
    .action(async (opts) => (await actions()).env(opts, io));
}

function rotateKeysCommand(program: Command, io: Io): void {
  program
    .command('rotate-keys')
    .description(
      "rotate the all-in-one cloud's Keystone fernet keys now (staged key becomes primary; live tokens stay valid; no restart)",
    )
    .addOption(cloudOption())
    .option(
      '--credentials',
      'rotate the credential encryption keys instead, and re-encrypt every stored credential with the new primary (keystone-manage credential_rotate, credential_migrate)',
    )
    .action(async (opts) => (await actions()).rotateKeys(opts, io));
}
