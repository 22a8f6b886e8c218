/** What images list and images build do (images-commands.ts declares them). */
import { ExitCode, OskError } from '../errors.js';
import { type BuildOptions, buildImages, type BuildResult } from '../images/build.js';
import { imagePlan, pushReferences, selectImages, type ImagePlan } from '../images/plan.js';
import { registryRef } from '../spec/rules.js';
import { expectReadableFile } from './paths.js';
import type { Io } from './io.js';
import { machine } from './output.js';
import { createReporter } from './progress.js';
import { readCloud } from './read-cloud.js';

type Output = 'text' | 'json' | 'yaml';

function listText(plan: ImagePlan): string {
  const lines = [`Release ${plan.release} from Debian ${plan.debian} (${plan.suite}):`];
  for (const i of plan.images) {
    lines.push('', `${i.key}  ${i.unavailable ? 'not built' : i.reference}`);
    if (i.unavailable) lines.push(`  why: ${i.unavailable}`);
    lines.push(`  run by: ${i.users.join(', ')}`);
    if (!i.unavailable) {
      lines.push(`  packages: ${i.packages.join(' ')}`);
      if (i.uid !== undefined) lines.push(`  user: ${i.account ?? '(none)'} (uid ${i.uid})`);
      lines.push(`  commands: ${i.commands.join(' ')}`);
      for (const [path, target] of Object.entries(i.links)) lines.push(`  link: ${path} -> ${target}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export async function list(opts: { filename: string; output: Output }, io: Io): Promise<void> {
  const plan = imagePlan(await readCloud(opts.filename, io));
  io.stdout(opts.output === 'text' ? listText(plan) : machine(plan, opts.output));
}

function buildText(r: BuildResult, skipped: string[]): string {
  const mb = (n: number) => `${(n / 1e6).toFixed(0)} MB`;
  const lines = [
    `base: ${r.base.tag} (Debian ${r.suite}, ${r.base.packages} packages, ${r.base.built ? 'built' : 'cached'}, ${r.base.seconds.toFixed(1)} s)`,
  ];
  for (const i of r.images) {
    const own = i.layers.slice(1).reduce((a, b) => a + b, 0);
    lines.push(
      `${i.key}: ${i.reference} ${i.cached ? 'cached' : 'built'} in ${i.seconds.toFixed(1)} s; ${mb(own)} on the base's ${mb(i.layers[0] ?? 0)}${i.archive ? `; ${i.archive}` : ''}${i.imported ? '; imported into containerd' : ''}${i.pushed ? `; pushed ${i.pushed.reference}@${i.pushed.digest}` : ''}`,
    );
  }
  if (skipped.length) lines.push(`not built (osk images list says why): ${skipped.join(', ')}`);
  lines.push(`cache: ${r.cache}`);
  return `${lines.join('\n')}\n`;
}

interface BuildFlags {
  filename: string;
  only?: string[];
  outputDir?: string;
  importContainerd?: string;
  push?: string;
  pushInsecure?: boolean;
  authfile?: string;
  output: Output;
}

/** --push and its companions: refused without --push, the auth file checked before any work. */
async function pushOptions(opts: BuildFlags): Promise<BuildOptions['push']> {
  if (!opts.push) {
    const stray = [opts.pushInsecure && '--push-insecure', opts.authfile && '--authfile'].filter(Boolean);
    if (stray.length)
      throw new OskError(`${stray.join(' and ')} only mean${stray.length === 1 ? 's' : ''} something with --push`, {
        exitCode: ExitCode.invalidInput,
      });
    return undefined;
  }
  const registry = registryRef.safeParse(opts.push);
  if (!registry.success)
    throw new OskError(`--push ${opts.push}: expected ${registry.error.issues[0]?.message ?? 'a registry'}`, {
      exitCode: ExitCode.invalidInput,
      hint: 'a registry host with an optional port and path, e.g. registry.example.com/osk or 10.0.0.1:5000',
    });
  if (opts.authfile) await expectReadableFile({ label: '--authfile', path: opts.authfile });
  return {
    registry: registry.data,
    insecure: opts.pushInsecure ?? false,
    ...(opts.authfile ? { authfile: opts.authfile } : {}),
  };
}

export async function build(opts: BuildFlags, io: Io): Promise<void> {
  const push = await pushOptions(opts);
  const file = await readCloud(opts.filename, io);
  const plan = imagePlan(file);
  const images = selectImages(plan, opts.only);
  if (push) pushReferences(file, images, push.registry, opts.filename === '-' ? '<stdin>' : opts.filename);
  const skipped = opts.only ? [] : plan.images.filter((i) => i.unavailable).map((i) => i.key);
  const reporter = createReporter(process.stderr);
  try {
    const result = await buildImages(plan, images, {
      reporter,
      ...(opts.outputDir ? { outputDir: opts.outputDir } : {}),
      ...(opts.importContainerd ? { containerdSocket: opts.importContainerd } : {}),
      ...(push ? { push } : {}),
    });
    io.stdout(opts.output === 'text' ? buildText(result, skipped) : machine({ ...result, skipped }, opts.output));
  } finally {
    reporter.close();
  }
}
