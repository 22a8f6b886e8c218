import { resolve } from 'node:path';
import { Option, type Command } from '@commander-js/extra-typings';
import { backupCloud } from '../targets/local/backup/backup.js';
import { restoreCloud } from '../targets/local/backup/restore.js';
import { verifyBackup } from '../targets/local/backup/verify.js';
import type { Log } from '../targets/local/backup/host-tools.js';
import { ExitCode, ExitStatus, OskError } from '../errors.js';
import {
  healthTable,
  KUBERNETES_ONLY,
  notProbed,
  resolveLimits,
  verdicts,
  type HealthReport,
  type Verdict,
} from '../observe/health.js';
import { kubeVerdicts, readKubeHealth } from '../observe/health-kube.js';
import { runProbes } from '../observe/health-run.js';
import { loadCloud, OpenStackClient } from '../openstack/index.js';
import type { CloudFile } from '../spec/schema.js';
import { localClouds, resolveCloudName, upLocal } from '../targets/local/cloud.js';
import { readSavedCloudFile } from '../state/cloud-file.js';
import { statePaths } from '../state/paths.js';
import { formatRestorePlan, kubernetesRestorePlan, restorePlanJson } from '../targets/kubernetes/backup/restore.js';
import { restorePreflight, runRestore } from '../targets/kubernetes/backup/restore-run.js';
import { SecretStore } from '../state/secret-store.js';
import { render } from '../targets/kubernetes/render.js';
import { buildModel } from '../plan/model.js';
import { kubeOptions, loadApi, prepare, type KubeTarget } from './kube-commands.js';
import { machine, outputOption } from './output.js';
import { createReporter } from './progress.js';
import type { Io } from './io.js';

const int = (flag: string, v: string, min: number, max: number): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new OskError(`${flag} must be a whole number from ${min} to ${max}, not "${v}"`, {
      exitCode: ExitCode.invalidInput,
    });
  return n;
};

async function localFile(name: string): Promise<CloudFile> {
  return readSavedCloudFile(statePaths(name).root);
}

export function registerDay2Commands(
  program: Command,
  io: Io,
  readCloud: (file: string, io: Io) => Promise<CloudFile>,
): void {
  kubeOptions(
    program
      .command('health')
      .description(
        'probe every OpenStack API (token, nova, neutron, cinder, glance, placement, port create/delete; volumes with --write): p50/p99 and success rate against the thresholds; exit 1 when one is broken',
      )
      .option(
        '--cloud <name>',
        'an all-in-one osk cloud (default: the only one on this host); thresholds from its cloud file',
      )
      .option(
        '--os-cloud <name>',
        'any OpenStack: a clouds.yaml entry (OS_CLOUD and OS_CLIENT_CONFIG_FILE are respected)',
      )
      .option('-n, --probes <n>', 'calls per probe', '20')
      .option('-c, --concurrency <n>', 'calls in flight at once per probe', '4')
      .option('--write', 'also create and delete volumes (measures cinderOpLatency)')
      .option('--timeout <seconds>', 'per call', '30')
      .option('--nova-api-p99 <duration>', 'threshold, e.g. 500ms (default: the cloud file, else 500ms)')
      .option('--neutron-port-failure-rate <percent>', 'threshold, e.g. 1%')
      .option('--cinder-op-latency <duration>', 'threshold, e.g. 3s')
      .option('--api-success-rate <percent>', 'threshold, e.g. 99.9%')
      .option(
        '-f, --filename <file>',
        'a cloud on Kubernetes: pod restarts and container CPU/memory from the cluster (with --os-cloud also its APIs)',
      )
      .addOption(outputOption()),
  ).action(async (opts) => {
    const n = int('--probes', opts.probes, 1, 10_000);
    const concurrency = int('--concurrency', opts.concurrency, 1, 256);
    const timeoutMs = int('--timeout', opts.timeout, 1, 3600) * 1000;
    if (opts.cloud && (opts.osCloud || opts.filename))
      throw new OskError('--cloud (an osk cloud on this host) excludes --os-cloud and -f', {
        exitCode: ExitCode.invalidInput,
      });
    // Health probes must see failures: no retries.
    const overrides = { retries: 0, timeoutMs };
    let os: OpenStackClient | undefined;
    let kind: HealthReport['target']['kind'];
    let cloudName: string;
    let file: CloudFile | undefined;
    let kube: Verdict[] | undefined;
    if (opts.filename) {
      // A cloud on Kubernetes: the cluster's thresholds from the API server; its APIs when a
      // clouds.yaml entry names them (the cluster does not know the public endpoints' credentials).
      file = await readCloud(opts.filename, io);
      const api = loadApi(opts as typeof opts & KubeTarget);
      // Only the namespace is needed: the model, not the rendered objects (nor credentials).
      kube = kubeVerdicts(file.spec, await readKubeHealth(api, buildModel(file).ctx.namespace, file.metadata.name));
      cloudName = file.metadata.name;
      kind = 'kubernetes';
      if (opts.osCloud || process.env.OS_CLOUD)
        os = OpenStackClient.fromCloudsYaml({
          cloud: loadCloud(opts.osCloud ? { cloud: opts.osCloud } : {}).name,
          overrides,
        });
    } else if (opts.osCloud || (!opts.cloud && process.env.OS_CLOUD)) {
      const cfg = loadCloud(opts.osCloud ? { cloud: opts.osCloud } : {});
      os = OpenStackClient.fromCloudsYaml({ cloud: cfg.name, overrides });
      cloudName = cfg.name;
      // The clouds.yaml osk wrote for one of its own clouds (osk env): that cloud's thresholds.
      const own = (await localClouds()).find((c) => resolve(statePaths(c).cloudsYaml) === resolve(cfg.file));
      if (own) file = await localFile(own);
      kind = own ? 'osk' : 'openstack';
    } else {
      const name = await resolveCloudName(opts.cloud);
      file = await localFile(name);
      os = OpenStackClient.fromCloudsYaml({
        cloud: name,
        env: { OS_CLIENT_CONFIG_FILE: statePaths(name).cloudsYaml },
        overrides,
      });
      cloudName = name;
      kind = 'osk';
    }
    const limits = resolveLimits(file?.spec, {
      ...(opts.novaApiP99 !== undefined ? { novaApiP99: opts.novaApiP99 } : {}),
      ...(opts.neutronPortFailureRate !== undefined ? { neutronPortFailureRate: opts.neutronPortFailureRate } : {}),
      ...(opts.cinderOpLatency !== undefined ? { cinderOpLatency: opts.cinderOpLatency } : {}),
      ...(opts.apiSuccessRate !== undefined ? { apiSuccessRate: opts.apiSuccessRate } : {}),
    });
    const t0 = Date.now();
    try {
      const apis = os
        ? await runProbes(os, {
            n,
            concurrency,
            write: Boolean(opts.write),
            onProbe: (api, call) =>
              opts.output === 'text' && process.stderr.isTTY ? io.stderr(`probing ${api}: ${call}\n`) : undefined,
          })
        : [];
      let thresholds = os
        ? verdicts(apis, limits, { write: Boolean(opts.write), target: kind === 'osk' ? 'osk' : 'openstack' })
        : notProbed(limits);
      if (kube)
        thresholds = [
          ...thresholds.filter((v) => !(KUBERNETES_ONLY as readonly string[]).includes(v.threshold)),
          ...kube,
        ];
      const report: HealthReport = {
        target: { kind, cloud: cloudName, authUrl: os?.session.authUrl ?? '' },
        probes: os ? n : 0,
        concurrency,
        write: Boolean(opts.write),
        seconds: (Date.now() - t0) / 1000,
        apis,
        thresholds,
        healthy: !thresholds.some((v) => v.state === 'breach'),
      };
      io.stdout(opts.output === 'text' ? healthTable(report) : machine(report, opts.output));
      if (!report.healthy) throw new ExitStatus(ExitCode.failed);
    } finally {
      await os?.close();
    }
  });

  const log: Log = (l) => io.stderr(`${l}\n`);

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
      const file = await readCloud(opts.filename, io);
      const startAt = opts.startAt === undefined ? 1 : int('--start-at', opts.startAt, 1, 100);
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
      if (!opts.yes) {
        const what = `restore replaces the databases and OVN state of cloud ${file.metadata.name} (namespace ${rendered.model.ctx.namespace} on ${api.server}) with backup ${opts.from}; its APIs are down meanwhile`;
        if (!process.stdin.isTTY)
          throw new OskError(`${what}; add --yes to confirm`, {
            exitCode: ExitCode.invalidInput,
            hint: 'osk restore … --dry-run prints every step first',
          });
        io.stderr(formatRestorePlan(steps));
        const answer = await ask(`${what}. Type the cloud name to go on: `);
        if (answer.trim() !== file.metadata.name)
          throw new OskError('not confirmed; nothing was changed', { exitCode: ExitCode.invalidInput });
      }
      const k = opts as typeof opts & KubeTarget;
      const target = [
        k.kubeconfig ? ` --kubeconfig ${k.kubeconfig}` : '',
        k.context ? ` --context ${k.context}` : '',
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
          applyTimeoutSeconds: int('--timeout', opts.timeout, 1, 86_400),
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
      return;
    }
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
      log,
    });
    if (opts.output !== 'text') io.stdout(machine(r, opts.output));
    else io.stdout(`${r.summary}\n`);
    if (!r.ok) throw new ExitStatus(ExitCode.failed);
  });
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

function ask(question: string): Promise<string> {
  process.stderr.write(question);
  return new Promise((r) => process.stdin.once('data', (d) => r(String(d))));
}
