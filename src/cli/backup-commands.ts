/**
 * The backup verbs: backup and backup verify (an all-in-one cloud), restore (an all-in-one cloud
 * from --from DIR, or a cloud on Kubernetes with -f, step by step). What they do is in
 * backup-actions.ts, imported when one runs.
 */
import { Option, type Command } from '@commander-js/extra-typings';
import type { Io } from './io.js';
import { kubeOptions, outputOption } from './options.js';

const actions = () => import('./backup-actions.js');

export function backupCommand(program: Command, io: Io): void {
  const backup = program
    .command('backup')
    .description(
      'back up an all-in-one cloud: every database, the OVN NB/SB databases, keys and secret store, Glance images, with a manifest of checksums',
    )
    .option('--cloud <name>', 'the all-in-one cloud (default: the only one on this host)')
    .option(
      '--to <dir>',
      "write the backup into this new directory (default: the cloud's backup directory, keeping spec.backup.copies)",
    )
    .addOption(outputOption())
    .action(async (opts) => (await actions()).backup(opts, io));

  backup
    .command('verify')
    .description(
      "prove a backup restorable: check every file's checksum, load the databases into a scratch MariaDB and compare row counts and table checksums with the manifest",
    )
    .requiredOption('--from <dir>', 'the backup directory')
    .addOption(outputOption())
    // `backup` has -o too: commander gives a flag after `verify` to whichever defines it first.
    .action(async (opts) =>
      (await actions()).verify(opts, opts.output !== 'text' ? opts.output : backup.opts().output, io),
    );
}

export function restoreCommand(program: Command, io: Io): void {
  kubeOptions(
    program
      .command('restore')
      .description(
        'restore a cloud from a backup. All-in-one: --from DIR, checked in full before anything is touched, then the services are stopped, restored and started. Kubernetes (-f): runs the restore procedure step by step in dependency order (--dry-run prints it)',
      )
      .requiredOption(
        '--from <dir>',
        'the backup directory (all-in-one); with -f: latest, a backup stamp, offsite:<stamp>, s3://… or velero:<backup>',
      )
      .option('--cloud <name>', 'the all-in-one cloud (default: the one the backup is of)')
      .option('-f, --filename <file>', 'a cloud on Kubernetes: restore it in the cluster of the kubeconfig context')
      .option(
        '--dry-run',
        'with -f: print the procedure, each step with why and the exact commands, and change nothing',
      )
      .option(
        '--start-at <step>',
        'with -f: continue an interrupted restore at this step (the steps before it are skipped)',
      )
      .option('--secrets-file <path>', 'with -f: secret store of this cloud')
      .addOption(
        new Option(
          '--timeout <seconds>',
          'with -f: how long one component may take to get ready in the apply step',
        ).default('600'),
      )
      .option('-y, --yes', "do not ask: the cloud's current databases, OVN state, keys and images are replaced")
      .addOption(outputOption()),
  ).action(async (opts) => (await actions()).restore(opts, io));
}
