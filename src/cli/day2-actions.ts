/** What `osk health` does (day2-commands.ts declares it): probe the APIs, judge them against the thresholds. */
import { resolve } from 'node:path';
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
import { wholeNumber } from './input.js';
import type { Io } from './io.js';
import { loadApi, type KubeTarget } from './kube-actions.js';
import { machine } from './output.js';
import { readCloud } from './read-cloud.js';

interface HealthOptions extends KubeTarget {
  cloud?: string;
  osCloud?: string;
  probes: string;
  concurrency: string;
  write?: true;
  timeout: string;
  novaApiP99?: string;
  neutronPortFailureRate?: string;
  cinderOpLatency?: string;
  apiSuccessRate?: string;
  filename?: string;
  output: 'text' | 'json' | 'yaml';
}

export async function health(opts: HealthOptions, io: Io): Promise<void> {
  const n = wholeNumber('--probes', opts.probes, 1, 10_000);
  const concurrency = wholeNumber('--concurrency', opts.concurrency, 1, 256);
  const timeoutMs = wholeNumber('--timeout', opts.timeout, 1, 3600) * 1000;
  if (opts.cloud && (opts.osCloud || opts.filename))
    throw new OskError('--cloud (an osk cloud on this host) excludes --os-cloud and -f', {
      exitCode: ExitCode.invalidInput,
    });
  // Health probes must see failures: no retries.
  const target = await healthTarget(opts, { retries: 0, timeoutMs }, io);
  const limits = resolveLimits(target.file?.spec, {
    ...(opts.novaApiP99 !== undefined ? { novaApiP99: opts.novaApiP99 } : {}),
    ...(opts.neutronPortFailureRate !== undefined ? { neutronPortFailureRate: opts.neutronPortFailureRate } : {}),
    ...(opts.cinderOpLatency !== undefined ? { cinderOpLatency: opts.cinderOpLatency } : {}),
    ...(opts.apiSuccessRate !== undefined ? { apiSuccessRate: opts.apiSuccessRate } : {}),
  });
  await probeAndReport(target, limits, { n, concurrency, write: Boolean(opts.write), output: opts.output }, io);
}

async function localFile(name: string): Promise<CloudFile> {
  return readSavedCloudFile(statePaths(name).root);
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
