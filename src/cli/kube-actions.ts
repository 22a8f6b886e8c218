/**
 * What the Kubernetes verbs do (kube-commands.ts declares them): apply, diff, destroy, and
 * `osk status` with -f. They target the current kubeconfig context like kubectl does.
 */
import { toPlainYaml } from '../plain-yaml.js';
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
import type { Io } from './io.js';
import { machine } from './output.js';
import { expectSecretStore } from './paths.js';
import { createReporter } from './progress.js';
import { readCloud } from './read-cloud.js';
import { kubernetesTargetProblems } from '../targets/kubernetes/target-rules.js';

/** --kubeconfig and --context (options.ts). */
export interface KubeTarget {
  kubeconfig?: string;
  context?: string;
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

interface ApplyOptions extends KubeTarget {
  filename: string;
  prune: boolean;
  pruneVolumes?: true;
  importSecrets?: true;
  secretsFile?: string;
  timeout: string;
}

export async function apply(opts: ApplyOptions, io: Io): Promise<void> {
  const file = await readCloud(opts.filename, io, kubernetesTargetProblems);
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
}

/** The counts of an apply; when a component failed, the error that lists what failed, waits and is ready. */
function applySummary(r: ApplyResult): string {
  const summary = `${r.created.length} created, ${r.changed.length} changed, ${r.unchanged.length} unchanged, ${r.keptSecrets.length} credentials kept, ${r.rerun.length ? `${r.rerun.length} failed Jobs run again, ` : ''}${r.pruned.length} pruned${r.keptClaims.length ? `, ${r.keptClaims.length} claims kept (--prune-volumes deletes them)` : ''}${r.skipped.length ? `, ${r.skipped.length} kinds skipped (not served)` : ''}`;
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

interface DiffOptions extends KubeTarget {
  filename: string;
  secretsFile?: string;
  prune: boolean;
  pruneVolumes?: true;
  output: 'text' | 'json' | 'yaml';
}

export async function diff(opts: DiffOptions, io: Io): Promise<void> {
  const file = await readCloud(opts.filename, io, kubernetesTargetProblems);
  const { store, api } = await prepare(file, opts);
  const { model, groups } = render(file, store);
  const d = await kubeDiff(model, groups, api, {
    prune: opts.prune !== false,
    pruneVolumes: Boolean(opts.pruneVolumes),
  });
  io.stdout(opts.output === 'text' ? diffText(d) : machine(d, opts.output));
  if (diffChanges(d).length) throw new ExitStatus(ExitCode.failed);
}

interface DestroyOptions extends KubeTarget {
  filename: string;
  yes?: true;
  purge?: true;
  secretsFile?: string;
}

export async function destroy(opts: DestroyOptions, io: Io): Promise<void> {
  const file = await readCloud(opts.filename, io, kubernetesTargetProblems);
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
  else if (opts.output === 'yaml') io.stdout(toPlainYaml(states));
  else io.stdout(kubeStatusTable(states));
  if (states.some((s) => !s.ready)) throw new ExitStatus(ExitCode.failed);
}
