/** What images list and images build do (images-commands.ts declares them). */
import { buildImages, type BuildResult } from '../images/build.js';
import { imagePlan, selectImages, type ImagePlan } from '../images/plan.js';
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
      `${i.key}: ${i.reference} ${i.cached ? 'cached' : 'built'} in ${i.seconds.toFixed(1)} s; ${mb(own)} on the base's ${mb(i.layers[0] ?? 0)}${i.archive ? `; ${i.archive}` : ''}${i.imported ? '; imported into containerd' : ''}`,
    );
  }
  if (skipped.length) lines.push(`not built (osk images list says why): ${skipped.join(', ')}`);
  lines.push(`cache: ${r.cache}`);
  return `${lines.join('\n')}\n`;
}

export async function build(
  opts: { filename: string; only?: string[]; outputDir?: string; importContainerd?: string; output: Output },
  io: Io,
): Promise<void> {
  const plan = imagePlan(await readCloud(opts.filename, io));
  const images = selectImages(plan, opts.only);
  const skipped = opts.only ? [] : plan.images.filter((i) => i.unavailable).map((i) => i.key);
  const reporter = createReporter(process.stderr);
  try {
    const result = await buildImages(plan, images, {
      reporter,
      ...(opts.outputDir ? { outputDir: opts.outputDir } : {}),
      ...(opts.importContainerd ? { containerdSocket: opts.importContainerd } : {}),
    });
    io.stdout(opts.output === 'text' ? buildText(result, skipped) : machine({ ...result, skipped }, opts.output));
  } finally {
    reporter.close();
  }
}
