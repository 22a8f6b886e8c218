/**
 * The Kubernetes verbs: apply, diff, destroy (and `osk status` with -f/--context/--kubeconfig).
 * What they do is in kube-actions.ts, imported when one runs.
 */
import { Option, type Command } from '@commander-js/extra-typings';
import type { Io } from './io.js';
import { kubeOptions, outputOption } from './options.js';

const actions = () => import('./kube-actions.js');

export function registerKubeCommands(program: Command, io: Io): void {
  applyCommand(program, io);
  diffCommand(program, io);
  destroyCommand(program, io);
}

function applyCommand(program: Command, io: Io): void {
  kubeOptions(
    program
      .command('apply')
      .description(
        'deploy the cloud to Kubernetes: server-side apply, in dependency order, gated on readiness; prunes what left the file',
      )
      .requiredOption('-f, --filename <file>', 'cloud file ("-" reads standard input)')
      .option('--no-prune', 'keep objects of components that left the cloud file')
      .option(
        '--prune-volumes',
        'also delete the PersistentVolumeClaims (data) no longer in the cloud file: rendered claims and those of removed StatefulSets; without it they are kept and listed',
      )
      .option(
        '--import-secrets',
        'take credentials that already exist in the cluster into the secret store (rebuilds a lost store)',
      )
      .option('--secrets-file <path>', 'secret store of this cloud')
      .addOption(new Option('--timeout <seconds>', 'how long one component may take to get ready').default('600')),
  ).action(async (opts) => (await actions()).apply(opts, io));
}

function diffCommand(program: Command, io: Io): void {
  kubeOptions(
    program
      .command('diff')
      .description(
        'what osk apply would change: server-side dry-run against the cluster, and every object it would delete (claims are listed as kept unless --prune-volumes); exit 1 when anything would change',
      )
      .requiredOption('-f, --filename <file>', 'cloud file')
      .option('--secrets-file <path>', 'secret store of this cloud')
      .option('--no-prune', 'as apply --no-prune: show no deletions')
      .option('--prune-volumes', 'as apply --prune-volumes: claims no longer in the cloud file would be deleted')
      .addOption(outputOption()),
  ).action(async (opts) => (await actions()).diff(opts, io));
}

function destroyCommand(program: Command, io: Io): void {
  kubeOptions(
    program
      .command('destroy')
      .description('delete the cloud from Kubernetes, dependants first; volumes and the namespace stay unless --purge')
      .requiredOption('-f, --filename <file>', 'cloud file')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--purge', 'also delete PersistentVolumeClaims (all data) and the namespace')
      .option('--secrets-file <path>', 'secret store of this cloud'),
  ).action(async (opts) => (await actions()).destroy(opts, io));
}
