/**
 * The day-2 verbs: health (probe the APIs of an all-in-one cloud, any clouds.yaml entry, or a
 * cloud on Kubernetes), backup and restore (backup-commands.ts).
 */
import { resolve } from 'node:path';
import type { Command } from '@commander-js/extra-typings';
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
import { buildModel } from '../plan/model.js';
import type { CloudFile } from '../spec/schema.js';
import { readSavedCloudFile } from '../state/cloud-file.js';
import { statePaths } from '../state/paths.js';
import { localClouds, resolveCloudName } from '../targets/local/cloud.js';
import { backupCommand, restoreCommand } from './backup-commands.js';
import { wholeNumber } from './input.js';
import type { Io, ReadCloud } from './io.js';
import { kubeOptions, loadApi, type KubeTarget } from './kube-commands.js';
import { machine, outputOption } from './output.js';

export function registerDay2Commands(program: Command, io: Io, readCloud: ReadCloud): void {
  healthCommand(program, io, readCloud);
  backupCommand(program, io);
  restoreCommand(program, io, readCloud);
}

async function localFile(name: string): Promise<CloudFile> {
  return readSavedCloudFile(statePaths(name).root);
}

function healthCommand(program: Command, io: Io, readCloud: ReadCloud): void {
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
    const n = wholeNumber('--probes', opts.probes, 1, 10_000);
    const concurrency = wholeNumber('--concurrency', opts.concurrency, 1, 256);
    const timeoutMs = wholeNumber('--timeout', opts.timeout, 1, 3600) * 1000;
    if (opts.cloud && (opts.osCloud || opts.filename))
      throw new OskError('--cloud (an osk cloud on this host) excludes --os-cloud and -f', {
        exitCode: ExitCode.invalidInput,
      });
    // Health probes must see failures: no retries.
    const target = await healthTarget(opts, { retries: 0, timeoutMs }, io, readCloud);
    const limits = resolveLimits(target.file?.spec, {
      ...(opts.novaApiP99 !== undefined ? { novaApiP99: opts.novaApiP99 } : {}),
      ...(opts.neutronPortFailureRate !== undefined ? { neutronPortFailureRate: opts.neutronPortFailureRate } : {}),
      ...(opts.cinderOpLatency !== undefined ? { cinderOpLatency: opts.cinderOpLatency } : {}),
      ...(opts.apiSuccessRate !== undefined ? { apiSuccessRate: opts.apiSuccessRate } : {}),
    });
    await probeAndReport(target, limits, { n, concurrency, write: Boolean(opts.write), output: opts.output }, io);
  });
}

/** What health probes: its APIs (when known), and for a cloud on Kubernetes the cluster's verdicts. */
interface HealthTarget {
  os: OpenStackClient | undefined;
  kind: HealthReport['target']['kind'];
  cloudName: string;
  /** The cloud file, for its thresholds. */
  file: CloudFile | undefined;
  kube: Verdict[] | undefined;
}

async function healthTarget(
  opts: KubeTarget & { cloud?: string; osCloud?: string; filename?: string },
  overrides: { retries: number; timeoutMs: number },
  io: Io,
  readCloud: ReadCloud,
): Promise<HealthTarget> {
  if (opts.filename) {
    // A cloud on Kubernetes: the cluster's thresholds from the API server; its APIs when a
    // clouds.yaml entry names them (the cluster does not know the public endpoints' credentials).
    const file = await readCloud(opts.filename, io);
    const api = loadApi(opts);
    // Only the namespace is needed: the model, not the rendered objects (nor credentials).
    const kube = kubeVerdicts(file.spec, await readKubeHealth(api, buildModel(file).ctx.namespace, file.metadata.name));
    const os =
      opts.osCloud || process.env.OS_CLOUD
        ? OpenStackClient.fromCloudsYaml({
            cloud: loadCloud(opts.osCloud ? { cloud: opts.osCloud } : {}).name,
            overrides,
          })
        : undefined;
    return { os, kind: 'kubernetes', cloudName: file.metadata.name, file, kube };
  }
  if (opts.osCloud || (!opts.cloud && process.env.OS_CLOUD)) {
    const cfg = loadCloud(opts.osCloud ? { cloud: opts.osCloud } : {});
    const os = OpenStackClient.fromCloudsYaml({ cloud: cfg.name, overrides });
    // The clouds.yaml osk wrote for one of its own clouds (osk env): that cloud's thresholds.
    const own = (await localClouds()).find((c) => resolve(statePaths(c).cloudsYaml) === resolve(cfg.file));
    const file = own ? await localFile(own) : undefined;
    return { os, kind: own ? 'osk' : 'openstack', cloudName: cfg.name, file, kube: undefined };
  }
  const name = await resolveCloudName(opts.cloud);
  const file = await localFile(name);
  const os = OpenStackClient.fromCloudsYaml({
    cloud: name,
    env: { OS_CLIENT_CONFIG_FILE: statePaths(name).cloudsYaml },
    overrides,
  });
  return { os, kind: 'osk', cloudName: name, file, kube: undefined };
}

/** Run the probes, judge them against the limits, print the report; exit 1 when a threshold is breached. */
async function probeAndReport(
  { os, kind, cloudName, kube }: HealthTarget,
  limits: ReturnType<typeof resolveLimits>,
  run: { n: number; concurrency: number; write: boolean; output: 'text' | 'json' | 'yaml' },
  io: Io,
): Promise<void> {
  const { n, concurrency, write, output } = run;
  const t0 = Date.now();
  try {
    const apis = os
      ? await runProbes(os, {
          n,
          concurrency,
          write,
          onProbe: (api, call) =>
            output === 'text' && process.stderr.isTTY ? io.stderr(`probing ${api}: ${call}\n`) : undefined,
        })
      : [];
    let thresholds = os
      ? verdicts(apis, limits, { write, target: kind === 'osk' ? 'osk' : 'openstack' })
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
      write,
      seconds: (Date.now() - t0) / 1000,
      apis,
      thresholds,
      healthy: !thresholds.some((v) => v.state === 'breach'),
    };
    io.stdout(output === 'text' ? healthTable(report) : machine(report, output));
    if (!report.healthy) throw new ExitStatus(ExitCode.failed);
  } finally {
    await os?.close();
  }
}
