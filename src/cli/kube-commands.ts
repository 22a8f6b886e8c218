/**
 * The Kubernetes verbs: apply, diff, destroy (and `osk status` with -f/--context/--kubeconfig).
 * They target the current kubeconfig context like kubectl does.
 */
import { Option, type Command } from '@commander-js/extra-typings';
import { stringify } from 'yaml';
import { secretStorePath } from '../state/paths.js';
import { SecretStore } from '../state/secret-store.js';
import { ExitCode, ExitStatus, OskError } from '../errors.js';
import { render } from '../targets/kubernetes/render.js';
import type { CloudFile } from '../spec/schema.js';
import { applyCloud, type ApplyResult } from '../targets/kubernetes/apply.js';
import { reconcileCredentials } from '../targets/kubernetes/credentials.js';
import { KubeApi } from '../targets/kubernetes/kube-api.js';
import {
  diffChanges,
  diffText,
  kubeDestroy,
  kubeDiff,
  kubeStatus,
  kubeStatusTable,
} from '../targets/kubernetes/operate.js';
import { ask } from './input.js';
import type { Io, ReadCloud } from './io.js';
import { machine, outputOption } from './output.js';
import { expectSecretStore } from './paths.js';
import { createReporter } from './progress.js';

export interface KubeTarget {
  kubeconfig?: string;
  context?: string;
}

// biome-ignore lint/suspicious/noExplicitAny: any command, whatever its arguments and options
export function kubeOptions<T extends Command<any, any, any>>(cmd: T): T {
  return cmd
    .option('--kubeconfig <file>', 'kubeconfig (default: $KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current one)') as T;
}

export function loadApi(o: KubeTarget): KubeApi {
  const api = KubeApi.load({
    ...(o.kubeconfig ? { kubeconfig: o.kubeconfig } : {}),
    ...(o.context ? { context: o.context } : {}),
  });
  // While requests are retried, say what osk waits for (apply routes this through its reporter).
  api.onWait = (line) => process.stderr.write(`${line}\n`);
  return api;
}

/** The secret store of the cloud and the API of the kubeconfig's context. */
export async function prepare(file: CloudFile, o: KubeTarget & { secretsFile?: string }) {
  const storePath = o.secretsFile ?? secretStorePath(file.metadata.name);
  await expectSecretStore(storePath, o.secretsFile);
  const store = await SecretStore.open(storePath, file.metadata.name);
  const api = loadApi(o);
  return { store, api };
}

export function registerKubeCommands(program: Command, io: Io, readCloud: ReadCloud): void {
  applyCommand(program, io, readCloud);
  diffCommand(program, io, readCloud);
  destroyCommand(program, io, readCloud);
}

function applyCommand(program: Command, io: Io, readCloud: ReadCloud): void {
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
  ).action(async (opts) => {
    const file = await readCloud(opts.filename, io);
    const { store, api } = await prepare(file, opts);
    const t0 = Date.now();
    const first = render(file, store);
    const creds = await reconcileCredentials(first.model, store, api, { import: Boolean(opts.importSecrets) });
    await store.save();
    if (creds.imported.length)
      io.stderr(`took ${creds.imported.length} credentials from the cluster into ${store.path}\n`);
    if (creds.rotated.length)
      io.stderr(
        `took ${creds.rotated.length} rotated keys from the cluster into ${store.path} (the cluster owns rotated keys)\n`,
      );
    // Render again when the store changed (imported values), so configs carry the cluster's credentials.
    const { model, groups } = creds.imported.length || creds.rotated.length ? render(file, store) : first;
    const reporter = createReporter(process.stderr);
    // While requests are retried (an apiserver restart), say so on the progress output.
    api.onWait = (line) => reporter.note(line);
    try {
      const r = await applyCloud(model, groups, api, {
        reporter,
        timeoutSeconds: Number(opts.timeout) || 600,
        prune: opts.prune !== false,
        pruneVolumes: Boolean(opts.pruneVolumes),
      });
      reporter.close();
      const summary = applySummary(r);
      io.stdout(
        `cloud ${file.metadata.name} applied to ${api.server} (context ${api.contextName}) in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${summary}\n`,
      );
    } finally {
      reporter.close();
    }
  });
}

/** The counts of an apply; when a component failed, the error that lists what failed, waits and is ready. */
function applySummary(r: ApplyResult): string {
  const summary = `${r.created.length} created, ${r.changed.length} changed, ${r.unchanged.length} unchanged, ${r.keptSecrets.length} credentials kept, ${r.pruned.length} pruned${r.keptClaims.length ? `, ${r.keptClaims.length} claims kept (--prune-volumes deletes them)` : ''}${r.skipped.length ? `, ${r.skipped.length} kinds skipped (not served)` : ''}`;
  if (r.failed.size) {
    const lines = [...r.failed].map(([id, e]) => `  ${id}: ${e.message}`);
    const blocked = [...r.blocked].map(([id, by]) => `  ${id}: not started, waits for ${by}`);
    throw new OskError(
      `apply stopped short of a ready cloud (${summary}):\n${[...lines, ...blocked].join('\n')}\n  ready: ${r.done.join(', ') || 'nothing'}`,
      { hint: 'fix the cause and run osk apply again: it converges from where it stopped' },
    );
  }
  return summary;
}

function diffCommand(program: Command, io: Io, readCloud: ReadCloud): void {
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
  ).action(async (opts) => {
    const file = await readCloud(opts.filename, io);
    const { store, api } = await prepare(file, opts);
    const { model, groups } = render(file, store);
    const d = await kubeDiff(model, groups, api, {
      prune: opts.prune !== false,
      pruneVolumes: Boolean(opts.pruneVolumes),
    });
    io.stdout(opts.output === 'text' ? diffText(d) : machine(d, opts.output));
    if (diffChanges(d).length) throw new ExitStatus(ExitCode.failed);
  });
}

function destroyCommand(program: Command, io: Io, readCloud: ReadCloud): void {
  kubeOptions(
    program
      .command('destroy')
      .description('delete the cloud from Kubernetes, dependants first; volumes and the namespace stay unless --purge')
      .requiredOption('-f, --filename <file>', 'cloud file')
      .option('-y, --yes', 'do not ask for confirmation')
      .option('--purge', 'also delete PersistentVolumeClaims (all data) and the namespace')
      .option('--secrets-file <path>', 'secret store of this cloud'),
  ).action(async (opts) => {
    const file = await readCloud(opts.filename, io);
    const { store, api } = await prepare(file, opts);
    const { model } = render(file, store);
    if (!opts.yes) {
      if (!process.stdin.isTTY)
        throw new OskError(`destroy deletes cloud ${file.metadata.name} from ${api.server}; add --yes to confirm`, {
          exitCode: ExitCode.invalidInput,
        });
      const answer = await ask(
        `delete cloud ${file.metadata.name} (namespace ${model.ctx.namespace}) from ${api.server}${opts.purge ? ' WITH ALL ITS DATA' : ''}? type the cloud name: `,
      );
      if (answer.trim() !== file.metadata.name)
        throw new OskError('not confirmed; nothing was deleted', { exitCode: ExitCode.invalidInput });
    }
    const deleted = await kubeDestroy(model, api, { purge: Boolean(opts.purge), log: (l) => io.stderr(`${l}\n`) });
    io.stdout(`deleted ${deleted.length} objects of cloud ${file.metadata.name}\n`);
  });
}

/** `osk status -f FILE [--context …]`: the Kubernetes side of status. */
export async function kubeStatusCommand(
  io: Io,
  file: CloudFile,
  opts: KubeTarget & { output: 'text' | 'json' | 'yaml' },
): Promise<void> {
  const store = SecretStore.memory(file.metadata.name);
  const { model, groups } = render(file, store);
  const states = await kubeStatus(model, groups, loadApi(opts));
  if (opts.output === 'json') io.stdout(`${JSON.stringify(states, null, 2)}\n`);
  else if (opts.output === 'yaml') io.stdout(stringify(states));
  else io.stdout(kubeStatusTable(states));
  if (states.some((s) => !s.ready)) throw new ExitStatus(ExitCode.failed);
}
