/** What validate, plan, render and schema do (file-commands.ts declares them). */
import { z } from 'zod';
import { ExitCode, OskError, SpecError } from '../errors.js';
import { buildModel } from '../plan/model.js';
import { cloudFileSchema } from '../spec/schema.js';
import { clusterFileSchema } from '../spec/schema-cluster.js';
import { secretStorePath } from '../state/paths.js';
import { SecretStore } from '../state/secret-store.js';
import { allObjects, type KubeObject } from '../targets/kubernetes/objects.js';
import { render } from '../targets/kubernetes/render.js';
import { toMultiDocYaml } from '../targets/kubernetes/yaml.js';
import type { Io } from './io.js';
import { machine } from './output.js';
import { expectSecretStore } from './paths.js';
import { planJson, planText } from './plan-output.js';
import { readAnyFile, readCloud } from './read-cloud.js';
import { kubernetesTargetProblems } from '../targets/kubernetes/target-rules.js';
import { writeRenderDir } from './render-dir.js';

type Output = 'text' | 'json' | 'yaml';

/**
 * What a failed validate/plan prints on stdout with -o json|yaml: the problems, for machines (the
 * human message still goes to stderr). Undefined for failures that are not bad input.
 */
export function problemsDocument(
  e: unknown,
  file: string,
): { valid: false; problems: Record<string, unknown>[] } | undefined {
  if (e instanceof SpecError) return { valid: false, problems: e.problems.map((p) => ({ ...p })) };
  if (e instanceof OskError && e.exitCode === ExitCode.invalidInput) {
    return {
      valid: false,
      problems: [{ file, line: 0, col: 0, path: '', message: e.message, ...(e.hint ? { hint: e.hint } : {}) }],
    };
  }
  return undefined;
}

/** Runs `work`; when it fails on bad input and the output is for machines, prints the problems there first. */
async function reportingProblems<T>(output: string, filename: string, work: () => Promise<T>, io: Io): Promise<T> {
  try {
    return await work();
  } catch (e) {
    const doc =
      output === 'json' || output === 'yaml' ? problemsDocument(e, filename === '-' ? '<stdin>' : filename) : undefined;
    if (doc) io.stdout(machine(doc, output as 'json' | 'yaml'));
    throw e;
  }
}

export async function validate(opts: { filename: string; output: Output }, io: Io): Promise<void> {
  const read = await reportingProblems(opts.output, opts.filename, () => readAnyFile(opts.filename, io), io);
  if (read.kind === 'KubernetesCluster') {
    const { metadata, spec } = read.file;
    const nodes = `${spec.controlPlane.count} control-plane + ${spec.workers.count} worker nodes`;
    io.stdout(
      opts.output === 'text'
        ? `${opts.filename}: valid (KubernetesCluster ${metadata.name}, ${nodes})\n`
        : machine({ valid: true, kind: read.kind, cluster: metadata.name, nodes, problems: [] }, opts.output),
    );
    return;
  }
  const file = read.file;
  const model = await reportingProblems(opts.output, opts.filename, async () => buildModel(file), io);
  if (opts.output === 'text')
    io.stdout(
      `${opts.filename}: valid (cloud ${file.metadata.name}, profile ${file.spec.profile}, ${model.components.size} components)\n`,
    );
  else
    io.stdout(
      machine(
        {
          valid: true,
          cloud: file.metadata.name,
          profile: file.spec.profile,
          components: model.components.size,
          problems: [],
        },
        opts.output,
      ),
    );
}

export async function plan(opts: { filename: string; output: Output; verbose?: true }, io: Io): Promise<void> {
  const model = await reportingProblems(
    opts.output,
    opts.filename,
    async () => buildModel(await readCloud(opts.filename, io)),
    io,
  );
  io.stdout(
    opts.output === 'text'
      ? planText(model, { verbose: Boolean(opts.verbose) })
      : machine(planJson(model), opts.output),
  );
}

interface RenderOptions {
  filename: string;
  output: 'yaml' | 'json';
  outputDir?: string;
  showSecrets?: true;
  secretsFile?: string;
}

export async function renderCloud(opts: RenderOptions, io: Io): Promise<void> {
  const file = await readCloud(opts.filename, io, kubernetesTargetProblems);
  const storePath = opts.secretsFile ?? secretStorePath(file.metadata.name);
  await expectSecretStore(storePath, opts.secretsFile);
  const store = await SecretStore.open(storePath, file.metadata.name);
  const { groups, created } = render(file, store);
  await store.save();
  if (created.length) io.stderr(`generated ${created.length} new credentials into ${store.path}\n`);
  const keep = (o: KubeObject) => opts.showSecrets || o.kind !== 'Secret';
  const omitted = allObjects(groups).filter((o) => !keep(o)).length;
  const text = (objs: KubeObject[]) =>
    opts.output === 'json'
      ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs.map((o) => o) }, null, 2)}\n`
      : toMultiDocYaml(objs);
  if (opts.outputDir) {
    const files = groups
      .map((g) => ({ g, objs: g.objects.filter(keep) }))
      .filter(({ objs }) => objs.length > 0)
      .map(({ g, objs }) => ({
        name: `${g.name}.${opts.output}`,
        text: text(objs),
        mode: objs.some((o) => o.kind === 'Secret') ? 0o600 : 0o644,
      }));
    const { removed } = await writeRenderDir(opts.outputDir, files);
    const gone =
      removed.length > 5 ? `${removed.slice(0, 5).join(', ')} and ${removed.length - 5} more` : removed.join(', ');
    io.stderr(
      `wrote ${files.length} files to ${opts.outputDir}${removed.length ? `; removed ${removed.length} files of the earlier render that this one does not write (${gone})` : ''}\n`,
    );
  } else {
    io.stdout(text(allObjects(groups).filter(keep)));
  }
  if (omitted > 0)
    io.stderr(
      `left out ${omitted} Secrets (credentials); add --show-secrets to include them, or let osk apply create them in the cluster\n`,
    );
}

export function jsonSchema(kind: 'Cloud' | 'KubernetesCluster' = 'Cloud'): Record<string, unknown> {
  const schema = z.toJSONSchema(kind === 'Cloud' ? cloudFileSchema : clusterFileSchema, {
    io: 'input',
    unrepresentable: 'any',
    target: 'draft-2020-12',
  }) as Record<string, unknown>;
  const id = kind === 'Cloud' ? 'cloud' : 'kubernetescluster';
  return { $id: `https://osk.dev/schemas/${id}-v1alpha1.json`, title: `osk ${kind} (osk.dev/v1alpha1)`, ...schema };
}

export function printSchema(io: Io, kind: 'Cloud' | 'KubernetesCluster' = 'Cloud'): void {
  io.stdout(`${JSON.stringify(jsonSchema(kind), null, 2)}\n`);
}
