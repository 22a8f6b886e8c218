/**
 * The backup verbs: backup and backup verify (an all-in-one cloud), restore (an all-in-one cloud
 * from --from DIR, or a cloud on Kubernetes with -f, step by step).
 */
import { resolve } from 'node:path';
import { Option, type Command } from '@commander-js/extra-typings';
import { ExitCode, ExitStatus, OskError } from '../errors.js';
import type { CloudFile } from '../spec/schema.js';
import { SecretStore } from '../state/secret-store.js';
import { formatRestorePlan, kubernetesRestorePlan, restorePlanJson } from '../targets/kubernetes/backup/restore.js';
import { restorePreflight, runRestore } from '../targets/kubernetes/backup/restore-run.js';
import type { KubeApi } from '../targets/kubernetes/kube-api.js';
import { render } from '../targets/kubernetes/render.js';
import { backupCloud } from '../targets/local/backup/backup.js';
import { restoreCloud } from '../targets/local/backup/restore.js';
import { verifyBackup } from '../targets/local/backup/verify.js';
import type { Log } from '../targets/local/backup/host-tools.js';
import { resolveCloudName, upLocal } from '../targets/local/cloud.js';
import { ask, wholeNumber } from './input.js';
import type { Io, ReadCloud } from './io.js';
import { kubeOptions, prepare, type KubeTarget } from './kube-commands.js';
import { machine, outputOption } from './output.js';
import { createReporter } from './progress.js';

type Output = 'text' | 'json' | 'yaml';

const stderrLog =
  (io: Io): Log =>
  (l) =>
    io.stderr(`${l}\n`);

export function backupCommand(program: Command, io: Io): void {
  const log = stderrLog(io);
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
    .action(async (opts) => {
      const name = await resolveCloudName(opts.cloud);
      const r = await backupCloud(name, { ...(opts.to ? { to: resolve(opts.to) } : {}), log });
      if (opts.output !== 'text') io.stdout(machine(r, opts.output));
      else
        io.stdout(
          `backup of cloud ${name} in ${r.dir} (${fmtBytes(r.bytes)}, ${r.seconds.toFixed(1)} s): ${r.manifest.databases.length} databases, ${r.manifest.tables.length} tables, ${r.manifest.images.length} image files\n` +
            (r.removed.length ? `removed older backups (keeping ${r.kept}): ${r.removed.join(', ')}\n` : ''),
        );
    });

  backup
    .command('verify')
    .description(
      "prove a backup restorable: check every file's checksum, load the databases into a scratch MariaDB and compare row counts and table checksums with the manifest",
    )
    .requiredOption('--from <dir>', 'the backup directory')
    .addOption(outputOption())
    .action(async (opts) => {
      const r = await verifyBackup(resolve(opts.from), { log });
      // `backup` has -o too: commander gives a flag after `verify` to whichever defines it first.
      const output = opts.output !== 'text' ? opts.output : backup.opts().output;
      if (output !== 'text') io.stdout(machine(r, output));
      else io.stdout(`${r.summary}\n`);
      if (!r.ok) throw new ExitStatus(ExitCode.failed);
    });
}

export function restoreCommand(program: Command, io: Io, readCloud: ReadCloud): void {
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
  ).action(async (opts) => {
    if (opts.filename) {
      await restoreOnKubernetes(await readCloud(opts.filename, io), { ...opts, filename: opts.filename }, io);
      return;
    }
    await restoreAllInOne(opts, io);
  });
}

interface KubeRestoreOptions extends KubeTarget {
  filename: string;
  from: string;
  dryRun?: true;
  startAt?: string;
  secretsFile?: string;
  timeout: string;
  yes?: true;
  output: Output;
}

/** `osk restore -f`: the restore procedure of a cloud on Kubernetes, printed (--dry-run) or run. */
async function restoreOnKubernetes(file: CloudFile, opts: KubeRestoreOptions, io: Io): Promise<void> {
  const startAt = opts.startAt === undefined ? 1 : wholeNumber('--start-at', opts.startAt, 1, 100);
  if (opts.dryRun) {
    const steps = kubernetesRestorePlan(render(file, SecretStore.memory(file.metadata.name)), opts.from, {
      cloudFile: opts.filename,
    });
    io.stdout(opts.output === 'text' ? formatRestorePlan(steps) : machine(restorePlanJson(steps), opts.output));
    return;
  }
  const { store, api } = await prepare(file, opts);
  const rendered = render(file, store);
  if (rendered.created.length) {
    throw new OskError(
      `the secret store ${store.path} lacks ${rendered.created.length} credentials of cloud ${file.metadata.name} (${rendered.created.slice(0, 3).join(', ')}${rendered.created.length > 3 ? ', …' : ''}): a restore must start the cloud with the credentials its databases hold`,
      {
        exitCode: ExitCode.invalidInput,
        hint: "point --secrets-file at the cloud's store, or rebuild it from the cluster with osk apply --import-secrets before restoring",
      },
    );
  }
  const steps = kubernetesRestorePlan(rendered, opts.from, { cloudFile: opts.filename });
  const notes = await restorePreflight(steps, { model: rendered.model, api });
  for (const n of notes) io.stderr(`note: ${n}\n`);
  if (!opts.yes)
    await confirmKubeRestore(file, rendered.model.ctx.namespace, api, opts.from, formatRestorePlan(steps), io);
  const target = [
    opts.kubeconfig ? ` --kubeconfig ${opts.kubeconfig}` : '',
    opts.context ? ` --context ${opts.context}` : '',
    opts.secretsFile ? ` --secrets-file ${opts.secretsFile}` : '',
  ].join('');
  const reporter = createReporter(process.stderr);
  try {
    const r = await runRestore(steps, {
      model: rendered.model,
      groups: rendered.groups,
      api,
      reporter,
      startAt,
      resumeCommand: `osk restore --from ${opts.from} -f ${opts.filename}${target} --yes`,
      applyTimeoutSeconds: wholeNumber('--timeout', opts.timeout, 1, 86_400),
    });
    reporter.close();
    if (opts.output !== 'text') io.stdout(machine(r, opts.output));
    else
      io.stdout(
        `cloud ${file.metadata.name} restored from ${opts.from} in ${r.seconds.toFixed(1)} s (${r.steps.filter((s) => s.outcome === 'done').length} steps${startAt > 1 ? `, from step ${startAt}` : ''})\n`,
      );
  } finally {
    reporter.close();
  }
}

/** Without --yes, a restore on Kubernetes goes on only when the user types the cloud's name at a terminal. */
async function confirmKubeRestore(
  file: CloudFile,
  namespace: string,
  api: KubeApi,
  from: string,
  plan: string,
  io: Io,
): Promise<void> {
  const what = `restore replaces the databases and OVN state of cloud ${file.metadata.name} (namespace ${namespace} on ${api.server}) with backup ${from}; its APIs are down meanwhile`;
  if (!process.stdin.isTTY)
    throw new OskError(`${what}; add --yes to confirm`, {
      exitCode: ExitCode.invalidInput,
      hint: 'osk restore … --dry-run prints every step first',
    });
  io.stderr(plan);
  const answer = await ask(`${what}. Type the cloud name to go on: `);
  if (answer.trim() !== file.metadata.name)
    throw new OskError('not confirmed; nothing was changed', { exitCode: ExitCode.invalidInput });
}

/** `osk restore --from DIR`: an all-in-one cloud, checked in full, stopped, restored and started. */
async function restoreAllInOne(
  opts: { from: string; cloud?: string; yes?: true; output: Output },
  io: Io,
): Promise<void> {
  const from = resolve(opts.from);
  const r = await restoreCloud(from, {
    ...(opts.cloud ? { cloud: opts.cloud } : {}),
    confirm: async (cloud) => {
      if (opts.yes) return true;
      if (!process.stdin.isTTY)
        throw new OskError(
          `restore replaces every database, the OVN state, keys and images of cloud ${cloud}; add --yes to confirm`,
          { exitCode: ExitCode.invalidInput },
        );
      const answer = await ask(
        `replace the data of cloud ${cloud} with the backup in ${from}? type the cloud name to confirm: `,
      );
      return answer.trim() === cloud;
    },
    up: async (file) => {
      const reporter = createReporter(process.stderr);
      try {
        await upLocal({ file, install: false, timeoutSeconds: 300, reporter });
      } finally {
        reporter.close();
      }
    },
    log: stderrLog(io),
  });
  if (opts.output !== 'text') io.stdout(machine(r, opts.output));
  else io.stdout(`${r.summary}\n`);
  if (!r.ok) throw new ExitStatus(ExitCode.failed);
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
