/**
 * What the backup verbs do (backup-commands.ts declares them): backup and backup verify of an
 * all-in-one cloud, restore of one from --from DIR or of a cloud on Kubernetes (-f), step by step.
 */
import { resolve } from 'node:path';
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
import type { Io } from './io.js';
import { prepare, type KubeTarget } from './kube-actions.js';
import { machine } from './output.js';
import { createReporter } from './progress.js';
import { readCloud } from './read-cloud.js';
import { kubernetesTargetProblems } from '../targets/kubernetes/target-rules.js';

type Output = 'text' | 'json' | 'yaml';

const stderrLog =
  (io: Io): Log =>
  (l) =>
    io.stderr(`${l}\n`);

export async function backup(opts: { cloud?: string; to?: string; output: Output }, io: Io): Promise<void> {
  const name = await resolveCloudName(opts.cloud);
  const r = await backupCloud(name, { ...(opts.to ? { to: resolve(opts.to) } : {}), log: stderrLog(io) });
  if (opts.output !== 'text') io.stdout(machine(r, opts.output));
  else
    io.stdout(
      `backup of cloud ${name} in ${r.dir} (${fmtBytes(r.bytes)}, ${r.seconds.toFixed(1)} s): ${r.manifest.databases.length} databases, ${r.manifest.tables.length} tables, ${r.manifest.images.length} image files\n` +
        (r.removed.length ? `removed older backups (keeping ${r.kept}): ${r.removed.join(', ')}\n` : ''),
    );
}

/** `backup verify`; `output` is its -o, or else the -o given to `backup` before `verify`. */
export async function verify(opts: { from: string }, output: Output, io: Io): Promise<void> {
  const r = await verifyBackup(resolve(opts.from), { log: stderrLog(io) });
  if (output !== 'text') io.stdout(machine(r, output));
  else io.stdout(`${r.summary}\n`);
  if (!r.ok) throw new ExitStatus(ExitCode.failed);
}

interface RestoreOptions extends KubeTarget {
  from: string;
  cloud?: string;
  filename?: string;
  dryRun?: true;
  startAt?: string;
  secretsFile?: string;
  timeout: string;
  yes?: true;
  output: Output;
}

export async function restore(opts: RestoreOptions, io: Io): Promise<void> {
  if (opts.filename) {
    await restoreOnKubernetes(
      await readCloud(opts.filename, io, kubernetesTargetProblems),
      { ...opts, filename: opts.filename },
      io,
    );
    return;
  }
  await restoreAllInOne(opts, io);
}

/** `osk restore -f`: the file is given, the all-in-one's cloud name is not used. */
type KubeRestoreOptions = Omit<RestoreOptions, 'cloud' | 'filename'> & { filename: string };

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
