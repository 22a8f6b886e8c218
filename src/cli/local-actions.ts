/** What the all-in-one verbs do (local-commands.ts declares them): up, down, status, logs, env, rotate-keys. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toPlainYaml } from '../plain-yaml.js';
import { ExitCode, ExitStatus, OskError } from '../errors.js';
import { parseCloudFile } from '../spec/load.js';
import { envLines } from '../targets/local/access.js';
import { DEFAULT_CLOUD_YAML, localClouds, openLocalCloud, resolveCloudName, upLocal } from '../targets/local/cloud.js';
import { readSavedCloudFile } from '../state/cloud-file.js';
import type { CloudFile } from '../spec/schema.js';
import { down as downLocal } from '../targets/local/down.js';
import { buildModel } from '../plan/model.js';
import { kubeCloudsYamlPath, secretStorePath, statePaths } from '../state/paths.js';
import { SecretStore } from '../state/secret-store.js';
import { kubeCloudsYaml } from '../targets/kubernetes/access.js';
import { rotateLocalCredentialKeys } from '../targets/local/credential-rotation.js';
import { rotateLocalKeys } from '../targets/local/key-rotation.js';
import { localStatus, statusTable } from '../targets/local/status.js';
import { hostWaves } from '../targets/local/up.js';
import { kubeStatusCommand } from './kube-actions.js';
import { createReporter } from './progress.js';
import { ask } from './input.js';
import type { Io } from './io.js';
import { expectSecretStore } from './paths.js';
import { readCloud } from './read-cloud.js';
import { localTargetProblems } from '../targets/local/target-rules.js';

type Output = 'text' | 'json' | 'yaml';

/**
 * The cloud `osk up` brings up: the file of -f; else the cloud named by --cloud or, without it,
 * the only cloud on this host, from the copy of its file osk up kept (so `osk down` then `osk up`
 * starts the same cloud again, as down's help says); else the built-in minimal cloud, which is
 * also what the cloud named default always runs (a newer osk's built-in file wins over the copy).
 */
export async function cloudToBringUp(opts: { filename?: string; cloud?: string }, io: Io): Promise<CloudFile> {
  if (opts.filename && opts.cloud)
    throw new OskError('-f and --cloud name the cloud twice: give one of them', { exitCode: ExitCode.invalidInput });
  if (opts.filename) return readCloud(opts.filename, io, localTargetProblems);
  const all = await localClouds();
  const name = opts.cloud ? await resolveCloudName(opts.cloud) : all.length === 1 ? all[0] : undefined;
  // The copy passed osk up's checks when it was kept.
  if (name && name !== 'default') return readSavedCloudFile(statePaths(name).root);
  return parseCloudFile(DEFAULT_CLOUD_YAML, '<built-in minimal cloud>', localTargetProblems);
}

export async function up(
  opts: { filename?: string; cloud?: string; yes?: true; timeout: string },
  io: Io,
): Promise<void> {
  const file = await cloudToBringUp(opts, io);
  const timeout = Number(opts.timeout);
  if (!Number.isFinite(timeout) || timeout <= 0)
    throw new OskError(`--timeout must be a number of seconds, not "${opts.timeout}"`, {
      exitCode: ExitCode.invalidInput,
    });
  const reporter = createReporter(process.stderr);
  // Interrupted: say where it stopped. Programs already started keep running under the
  // supervisor; a rerun continues from there (steps that completed are not repeated).
  const onSignal = (sig: NodeJS.Signals) => {
    const busy = reporter.inFlight();
    reporter.close();
    io.stderr(
      `\nosk up interrupted (${sig})${busy.length ? ` while working on: ${busy.join(', ')}` : ''}.\nWhat is already running keeps running; run osk up again to continue, or osk down to stop it.\n`,
    );
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const s = await upLocal({
      file,
      install: Boolean(opts.yes),
      timeoutSeconds: timeout,
      reporter,
    });
    reporter.close();
    const counts = new Map<string, number>();
    for (const v of s.outcomes.values()) {
      const k = v.startsWith('skipped') ? 'skipped' : v;
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    io.stdout(
      [
        `cloud ${s.cloud} is up in ${s.seconds.toFixed(1)} s (${[...counts].map(([k, n]) => `${n} ${k}`).join(', ')})`,
        `  state:       ${s.paths.root}`,
        `  clouds.yaml: ${s.paths.cloudsYaml} (clouds "${s.cloud}" = admin, "${s.cloud}-demo" = demo)`,
        `  use it:      eval "$(osk env${s.cloud === 'default' ? '' : ` --cloud ${s.cloud}`})" && openstack server list`,
        '',
      ].join('\n'),
    );
  } finally {
    reporter.close();
  }
}

export async function down(opts: { cloud?: string; purge?: true; yes?: true }, io: Io): Promise<void> {
  const name = await resolveCloudName(opts.cloud);
  if (opts.purge && !opts.yes) {
    if (!process.stdin.isTTY)
      throw new OskError(
        `--purge deletes every database, image and credential of cloud ${name}; add --yes to confirm`,
        { exitCode: ExitCode.invalidInput },
      );
    const answer = await ask(
      `delete all data of cloud ${name} (${statePaths(name).root})? type the cloud name to confirm: `,
    );
    if (answer.trim() !== name)
      throw new OskError('not confirmed; nothing was deleted', { exitCode: ExitCode.invalidInput });
  }
  const { model, paths } = await openLocalCloud(name);
  const r = await downLocal(paths, hostWaves(model), { purge: Boolean(opts.purge), log: (l) => io.stderr(`${l}\n`) });
  io.stdout(
    `cloud ${name}: stopped ${r.stopped.length} programs${r.purged ? `; removed ${paths.root}` : '; data kept (osk up starts it again)'}\n`,
  );
}

interface StatusOptions {
  cloud?: string;
  filename?: string;
  kubeconfig?: string;
  context?: string;
  output: Output;
}

export async function status(opts: StatusOptions, io: Io): Promise<void> {
  if (opts.filename) {
    const file = await readCloud(opts.filename, io);
    await kubeStatusCommand(io, file, {
      output: opts.output,
      ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}),
      ...(opts.context ? { context: opts.context } : {}),
    });
    return;
  }
  const { model, paths } = await openLocalCloud(await resolveCloudName(opts.cloud));
  const s = await localStatus(model, paths);
  if (opts.output === 'json') io.stdout(`${JSON.stringify(s, null, 2)}\n`);
  else if (opts.output === 'yaml') io.stdout(toPlainYaml(s));
  else io.stdout(statusTable(s));
  if (!s.healthy) throw new ExitStatus(ExitCode.failed);
}

export async function logs(component: string, opts: { cloud?: string; follow?: true; lines: string }): Promise<void> {
  const name = await resolveCloudName(opts.cloud);
  const paths = statePaths(name);
  const log = join(paths.log, `${component}.log`);
  if (!existsSync(log)) {
    const { model } = await openLocalCloud(name);
    const known = [...model.components.values()].filter((c) => c.host && c.host.kind !== 'skip').map((c) => c.id);
    throw new OskError(`no log for "${component}" in ${paths.log}`, {
      exitCode: ExitCode.invalidInput,
      hint: `components with logs: ${known.join(', ')}`,
    });
  }
  await new Promise<void>((resolve) => {
    const p = spawn('tail', ['-n', String(Number(opts.lines) || 100), ...(opts.follow ? ['-F'] : []), log], {
      stdio: 'inherit',
    });
    p.on('close', () => resolve());
  });
}

export async function env(
  opts: { cloud?: string; demo?: true; filename?: string; secretsFile?: string },
  io: Io,
): Promise<void> {
  if (opts.filename) return kubeEnv({ ...opts, filename: opts.filename }, io);
  const name = await resolveCloudName(opts.cloud);
  io.stdout(envLines(statePaths(name), name, Boolean(opts.demo)));
}

export async function rotateKeys(opts: { cloud?: string; credentials?: true }, io: Io): Promise<void> {
  const name = await resolveCloudName(opts.cloud);
  if (opts.credentials) {
    const c = await rotateLocalCredentialKeys(statePaths(name), 'osk rotate-keys --credentials');
    io.stdout(
      `rotated ${c.set}: ${c.keys} keys in ${c.dir} (secret store updated first); stored credentials re-encrypted with the new primary\n`,
    );
    return;
  }
  const r = await rotateLocalKeys(statePaths(name), 'osk rotate-keys');
  for (const x of r.rotated) io.stdout(`rotated ${x.set}: ${x.keys} keys in ${x.dir} (secret store updated first)\n`);
}

/** `osk env -f`: a clouds.yaml for a cloud on Kubernetes, written 0600, and the lines that use it. */
async function kubeEnv(opts: { demo?: true; cloud?: string; filename: string; secretsFile?: string }, io: Io) {
  if (opts.demo || opts.cloud)
    throw new OskError(
      '--demo and --cloud are for an all-in-one cloud; with -f osk env gives the admin of the cloud on Kubernetes',
      {
        exitCode: ExitCode.invalidInput,
      },
    );
  const file = await readCloud(opts.filename, io);
  const storePath = opts.secretsFile ?? secretStorePath(file.metadata.name);
  await expectSecretStore(storePath, opts.secretsFile);
  const store = await SecretStore.open(storePath, file.metadata.name);
  const text = kubeCloudsYaml(buildModel(file), store, storePath);
  const path = kubeCloudsYamlPath(file.metadata.name);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
  io.stdout(`export OS_CLIENT_CONFIG_FILE=${path}\nexport OS_CLOUD=${file.metadata.name}\n`);
}
