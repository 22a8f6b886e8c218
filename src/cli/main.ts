/**
 * The osk command line. kubectl-like verbs and flags (-f FILE, -o FORMAT); user mistakes become
 * one clear message and exit code 2, never a stack trace.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Command, CommanderError, Option } from '@commander-js/extra-typings';
import { stringify } from 'yaml';
import { z } from 'zod';
import { SecretStore, defaultStorePath } from '../config/secrets.js';
import { ExitCode, ExitStatus, OskError } from '../errors.js';
import { plan, render } from '../pipeline.js';
import { decodeCloudText, loadCloudFile, parseCloudFile, readCloudStream } from '../spec/load.js';
import { cloudFileSchema, type CloudFile } from '../spec/schema.js';
import { allObjects, type KubeObject } from '../targets/kubernetes/render.js';
import { toMultiDocYaml } from '../targets/kubernetes/yaml.js';
import { planJson, planText } from './plan-output.js';
import { registerKubeCommands } from './kube-commands.js';
import { registerLocalCommands } from './local-commands.js';
import { registerDay2Commands } from './day2-commands.js';

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  stdin: () => Promise<string>;
}

const processIo: Io = {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  // Bounded like a file: a cloud file on standard input stops at the loader's size limit.
  stdin: async () => decodeCloudText(await readCloudStream(process.stdin, '<stdin>'), '<stdin>'),
};

export const VERSION = '0.1.0';

async function readCloud(file: string, io: Io): Promise<CloudFile> {
  if (file === '-') return parseCloudFile(await io.stdin(), '<stdin>');
  return loadCloudFile(file);
}

const fileOption = () => new Option('-f, --filename <file>', 'cloud file ("-" reads standard input)').makeOptionMandatory();

export function buildCli(io: Io): Command {
  const program = new Command()
    .name('osk')
    .description('Build and run an OpenStack private cloud from one declarative file.')
    .version(VERSION, '--version')
    .showHelpAfterError('(run osk help for the commands)')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });

  program
    .command('validate')
    .description('check a cloud file: every problem with file:line:column, field and fix')
    .addOption(fileOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json'] as const).default('text' as const))
    .action(async (opts) => {
      const file = await readCloud(opts.filename, io);
      const model = plan(file);
      if (opts.output === 'json') io.stdout(JSON.stringify({ valid: true, cloud: file.metadata.name, profile: file.spec.profile, components: model.components.size }, null, 2) + '\n');
      else io.stdout(`${opts.filename}: valid (cloud ${file.metadata.name}, profile ${file.spec.profile}, ${model.components.size} components)\n`);
    });

  program
    .command('plan')
    .description('show the dependency graph: waves, and what each component waits for and why')
    .addOption(fileOption())
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json', 'yaml'] as const).default('text' as const))
    .option('-v, --verbose', 'list every reference behind each edge')
    .action(async (opts) => {
      const model = plan(await readCloud(opts.filename, io));
      if (opts.output === 'json') io.stdout(JSON.stringify(planJson(model), null, 2) + '\n');
      else if (opts.output === 'yaml') io.stdout(stringify(planJson(model), { lineWidth: 0 }));
      else io.stdout(planText(model, { verbose: Boolean(opts.verbose) }));
    });

  program
    .command('render')
    .description('write the Kubernetes objects: multi-document YAML on stdout (for kubectl apply -f -) or one file per component with -o DIR')
    .addOption(fileOption())
    .option('-o, --output-dir <dir>', 'write NNN-<component>.yaml files in apply order into this directory')
    .option('--show-secrets', 'include Secrets with their values (credentials are left out otherwise)')
    .option('--secrets-file <path>', 'secret store of this cloud (default: $OSK_STATE_DIR or ~/.local/state/osk/<cloud>/secrets.yaml)')
    .action(async (opts) => {
      const file = await readCloud(opts.filename, io);
      const store = await SecretStore.open(opts.secretsFile ?? defaultStorePath(file.metadata.name), file.metadata.name);
      const { groups, created } = render(file, store);
      await store.save();
      if (created.length) io.stderr(`generated ${created.length} new credentials into ${store.path}\n`);
      const keep = (o: KubeObject) => opts.showSecrets || o.kind !== 'Secret';
      const omitted = allObjects(groups).filter((o) => !keep(o)).length;
      if (opts.outputDir) {
        await mkdir(opts.outputDir, { recursive: true });
        // Remove files of an earlier render so a component that left the cloud leaves no stale file.
        for (const old of await listYaml(opts.outputDir)) await rm(join(opts.outputDir, old));
        let n = 0;
        for (const g of groups) {
          const objs = g.objects.filter(keep);
          if (objs.length === 0) continue;
          await writeFile(join(opts.outputDir, `${g.name}.yaml`), toMultiDocYaml(objs), { mode: g.objects.some((o) => o.kind === 'Secret') && opts.showSecrets ? 0o600 : 0o644 });
          n++;
        }
        io.stderr(`wrote ${n} files to ${opts.outputDir}\n`);
      } else {
        io.stdout(toMultiDocYaml(allObjects(groups).filter(keep)));
      }
      if (omitted > 0) io.stderr(`left out ${omitted} Secrets (credentials); add --show-secrets to include them, or let osk apply create them in the cluster\n`);
    });

  registerLocalCommands(program, io, readCloud);
  registerDay2Commands(program, io, readCloud);
  registerKubeCommands(program, io, readCloud);

  program
    .command('schema')
    .description('print the JSON Schema of the cloud file (for editors: # yaml-language-server: $schema=…)')
    .action(() => {
      io.stdout(JSON.stringify(jsonSchema(), null, 2) + '\n');
    });

  return program;
}

async function listYaml(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => /^\d+-.*\.yaml$/.test(f));
}

export function jsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(cloudFileSchema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return { $id: 'https://osk.dev/schemas/cloud-v1alpha1.json', title: 'osk Cloud (osk.dev/v1alpha1)', ...schema };
}

/** Run the CLI; returns the exit code. */
export async function main(argv: string[], io: Io = processIo): Promise<number> {
  const program = buildCli(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and --version exit 0; usage mistakes are bad input.
      return e.exitCode === 0 ? ExitCode.ok : ExitCode.invalidInput;
    }
    if (e instanceof ExitStatus) return e.exitCode;
    if (e instanceof OskError) {
      io.stderr(`error: ${e.message}\n${e.hint ? `hint: ${e.hint}\n` : ''}`);
      return e.exitCode;
    }
    io.stderr(`osk failed unexpectedly (this is a bug in osk; please report it with the output below):\n${(e as Error).stack ?? String(e)}\n`);
    return ExitCode.failed;
  }
}

