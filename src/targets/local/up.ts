/**
 * `osk up`: CloudModel → a running cloud on this host. Checks the host, installs what is
 * missing (when allowed), writes the configs, makes sure the cloud's supervisor runs, then walks
 * the plan's graph: programs start as soon as what they need is ready and are gated on real
 * readiness; schema syncs and bootstrap steps run once per change of their inputs.
 */
import { hostMariadbSocket } from '../../catalog/mariadb.js';
import { existsSync } from 'node:fs';
import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostHypervisor } from '../../catalog/context.js';
import type { ComponentDef, HostDef } from '../../catalog/types.js';
import type { Reporter } from '../../reporter.js';
import { OskError } from '../../errors.js';
import { buildModel, type CloudModel } from '../../plan/model.js';
import type { CloudFile } from '../../spec/schema.js';
import { runBuiltin, type BuiltinContext } from './builtins.js';
import { ensureProcess, ensureSupervisor, supervisorStatus } from './control.js';
import { hostComponents, writeHostFiles } from './files.js';
import type { HostFacts } from './host-facts.js';
import { runGraph, type RunResult } from '../../plan/graph-run.js';
import type { StatePaths } from '../../state/paths.js';
import { probe, tcpProbe } from './probes.js';
import { runCommand } from '../../run-command.js';
import { hostTopology } from './topology.js';

/**
 * The model of the all-in-one cloud: Zed configs, loopback, and the hypervisor `osk up` chose
 * (hypervisor-choice.ts): Nova's fake driver, or its libvirt driver with the cloud's private
 * libvirtd, Open vSwitch and ovn-controller. Volumes: Cinder's fake backend, or with
 * spec.storage.backend ceph a Ceph cluster of the cloud's own (catalog/ceph-host.ts).
 */
export function localModel(
  file: CloudFile,
  paths: StatePaths,
  facts: HostFacts,
  secret: (name: string) => string,
  hypervisor: HostHypervisor = 'fake',
): CloudModel {
  const topology = hostTopology(paths, {
    hostname: facts.hostname,
    hypervisor,
    root: facts.root,
  });
  return buildModel(file, { topology, secrets: secret, release: 'zed' });
}

/** needs-edges between the components that run on the host (skipped ones drop out). */
export function hostDeps(model: CloudModel): Map<string, string[]> {
  const ids = new Set(hostComponents(model).map((c) => c.id));
  const deps = new Map<string, string[]>();
  for (const id of ids) deps.set(id, []);
  for (const e of model.edges)
    if (e.kind === 'needs' && ids.has(e.from) && ids.has(e.to) && !deps.get(e.from)!.includes(e.to))
      deps.get(e.from)!.push(e.to);
  return deps;
}

/** Start order: the plan's waves restricted to the host's components. */
export function hostOrder(model: CloudModel): string[] {
  return hostWaves(model).flat();
}

export function hostWaves(model: CloudModel): string[][] {
  const ids = new Set(hostComponents(model).map((c) => c.id));
  return model.waves.map((w) => w.filter((id) => ids.has(id))).filter((w) => w.length > 0);
}

interface ConvergeOptions {
  reporter: Reporter;
  secret: (name: string) => string;
  versions: Map<string, string>;
  openstack: BuiltinContext['openstack'];
  /** Seconds a component may take to get ready. */
  timeoutSeconds: number;
}

async function tailOf(path: string, lines = 12): Promise<string> {
  try {
    const text = await readFile(path, 'utf8');
    return text
      .trimEnd()
      .split('\n')
      .slice(-lines)
      .map((l) => `      ${l}`)
      .join('\n');
  } catch {
    return '      (no log yet)';
  }
}

/** Who listens on a port (from ss), for a clear "port in use" error. */
async function listenerOf(port: number): Promise<string> {
  const r = await runCommand(['ss', '-Hltnp', `sport = :${port}`], { timeoutMs: 5000 });
  const m = /users:\(\("([^"]+)",pid=(\d+)/.exec(r.out);
  return m ? `${m[1]} (pid ${m[2]})` : 'another program';
}

/** What converge's runners share: where the cloud lives, its options, and the outcome of each component. */
interface HostRun {
  paths: StatePaths;
  opts: ConvergeOptions;
  reporter: Reporter;
  outcomes: Map<string, string>;
  mariadbSocket: string;
}

export async function converge(
  model: CloudModel,
  paths: StatePaths,
  opts: ConvergeOptions,
): Promise<RunResult & { outcomes: Map<string, string> }> {
  const { reporter } = opts;
  const files = await writeHostFiles(model, paths, opts.secret, opts.versions);
  await ensureSupervisor(paths);
  const machine = model.ctx.machine!;
  const mariadbSocket = hostMariadbSocket(machine.runDir);
  const outcomes = new Map<string, string>();
  const comps = new Map(hostComponents(model).map((c) => [c.id, c]));
  const builtinCtx: BuiltinContext = { mariadbSocket, secret: opts.secret, openstack: opts.openstack };
  const run: HostRun = { paths, opts, reporter, outcomes, mariadbSocket };

  for (const c of model.components.values()) {
    if (c.host?.kind === 'skip') outcomes.set(c.id, `skipped: ${c.host.why}`);
  }

  const runOne = async (id: string): Promise<void> => {
    const c = comps.get(id)!;
    const h = c.host as Exclude<HostDef, { kind: 'skip' }>;
    const hash = files.hashes.get(id)!;
    const log = join(paths.log, `${id}.log`);
    try {
      if (h.kind === 'process') await runProcess(run, c, h, hash, log);
      else if (h.kind === 'step') await runStep(run, c, h, hash, log);
      else {
        reporter.begin(id, 'running');
        const detail = await runBuiltin(h.action, builtinCtx);
        outcomes.set(id, 'completed');
        reporter.done(id, 'completed', detail);
      }
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      reporter.fail(id, msg);
      throw e;
    }
  };

  const result = await runGraph(hostOrder(model), hostDeps(model), runOne);
  return { ...result, outcomes };
}

/** Why a cloud is only partly up: what failed, what it held back, what did come up. */
export function describeFailure(r: RunResult): string {
  const lines: string[] = [];
  for (const [id, e] of r.failed) lines.push(`  ${id}: ${e.message.split('\n')[0]}`);
  const byBlocker = new Map<string, string[]>();
  for (const [id, by] of r.blocked) byBlocker.set(by, [...(byBlocker.get(by) ?? []), id]);
  for (const [by, ids] of byBlocker) lines.push(`  not started because ${by} failed: ${ids.join(', ')}`);
  lines.push(`  up and ready: ${r.done.length ? r.done.join(', ') : 'nothing'}`);
  return lines.join('\n');
}

/** Before a process of ours first starts: its ports are free, its prepare commands have run. */
async function prepareProcess(
  run: HostRun,
  c: ComponentDef,
  h: Extract<HostDef, { kind: 'process' }>,
  log: string,
): Promise<void> {
  for (const port of h.ports ?? []) {
    if ((await tcpProbe(port)).ok) {
      throw new OskError(
        `port ${port} on 127.0.0.1 is already in use by ${await listenerOf(port)}, so ${c.id} cannot listen there`,
        { hint: 'stop that program (or the cloud that owns it: osk down --cloud NAME), then run osk up again' },
      );
    }
  }
  for (const p of h.prepare ?? []) {
    if (existsSync(p.unlessExists)) continue;
    run.reporter.waiting(c.id, `preparing: ${p.command[0]}`);
    await appendFile(log, `osk: ${new Date().toISOString()} preparing: ${p.command.join(' ')}\n`);
    const r = await runCommand(p.command, { timeoutMs: 300_000, env: { ...process.env, ...(h.env ?? {}) } });
    await appendFile(log, r.out);
    if (r.code !== 0) throw new OskError(`${p.command[0]} failed (exit ${r.code}):\n${await tailOf(log)}`);
  }
}

/** Start (or keep) a supervised process and wait until its readiness probe passes. */
async function runProcess(
  run: HostRun,
  c: ComponentDef,
  h: Extract<HostDef, { kind: 'process' }>,
  hash: string,
  log: string,
): Promise<void> {
  const { paths, opts, reporter, outcomes, mariadbSocket } = run;
  const before = (await supervisorStatus(paths))?.processes.find((p) => p.id === c.id);
  const ours = before && (before.state === 'running' || before.state === 'backoff');
  reporter.begin(c.id, ours && before.hash === hash ? 'checking' : 'starting');
  if (!ours) await prepareProcess(run, c, h, log);
  const { action, status } = await ensureProcess(paths, { id: c.id, command: h.command, env: h.env ?? {}, hash });
  const deadline = Date.now() + opts.timeoutSeconds * 1000;
  let delay = 250;
  let last = '';
  for (;;) {
    const st = (await supervisorStatus(paths))?.processes.find((p) => p.id === c.id);
    if (st && st.restarts - status.restarts >= 3) {
      throw new OskError(
        `${c.id} keeps exiting (${st.restarts} restarts; last ${st.lastExit?.signal ?? `exit code ${st.lastExit?.code}`}). Last lines of ${log}:\n${await tailOf(log)}`,
      );
    }
    const since = st?.since ? (Date.now() - Date.parse(st.since)) / 1000 : undefined;
    const r = await probe(h.ready, {
      mariadbSocket,
      runningSeconds: () => (st?.state === 'running' ? since : undefined),
    });
    if (r.ok) break;
    last = r.detail;
    reporter.waiting(c.id, st?.state === 'backoff' ? `exited, restarting (${st.restarts})` : r.detail);
    if (Date.now() > deadline) {
      throw new OskError(
        `${c.id} is not ready after ${opts.timeoutSeconds} s: ${last}. Last lines of ${log}:\n${await tailOf(log)}`,
        { hint: `see the whole log with: osk logs ${c.id}` },
      );
    }
    await new Promise((res) => setTimeout(res, delay));
    delay = Math.min(2000, delay * 1.5);
  }
  const outcome = action === 'unchanged' ? 'unchanged' : action === 'restarted' ? 'restarted' : 'ready';
  outcomes.set(c.id, outcome);
  reporter.done(c.id, outcome);
}

/** Run a one-off step unless it already ran with this hash (its marker file says so). */
async function runStep(
  run: HostRun,
  c: ComponentDef,
  h: Extract<HostDef, { kind: 'step' }>,
  hash: string,
  log: string,
): Promise<void> {
  const { paths, opts, reporter, outcomes } = run;
  const marker = join(paths.steps, `${c.id}.done`);
  const prev = existsSync(marker) ? (await readFile(marker, 'utf8')).trim() : '';
  if (prev === hash) {
    outcomes.set(c.id, 'unchanged');
    reporter.done(c.id, 'unchanged');
    return;
  }
  reporter.begin(c.id, 'running');
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, LANG: 'C.UTF-8', HOME: paths.root, ...(h.env ?? {}) };
  for (const [k, name] of Object.entries(h.secretEnv ?? {})) env[k] = opts.secret(name);
  await appendFile(log, `osk: ${new Date().toISOString()} running: ${h.command.join(' ')}\n`, { mode: 0o600 });
  const r = await runCommand(h.command, { env, timeoutMs: opts.timeoutSeconds * 1000 });
  await appendFile(log, r.out);
  const what = h.command[0] === 'sh' ? c.id : h.command.slice(0, 3).join(' ');
  if (r.timedOut) {
    throw new OskError(
      `${what} did not finish within ${opts.timeoutSeconds} s and was stopped. Last lines of ${log}:\n${await tailOf(log)}`,
      {
        hint: 'a slow or busy machine can need longer (schema migrations above all): osk up --timeout 1200; it starts again from this step',
      },
    );
  }
  if (r.code !== 0) throw new OskError(`${what} failed (exit ${r.code}). Last lines of ${log}:\n${await tailOf(log)}`);
  await writeFile(marker, `${hash}\n`, { mode: 0o600 });
  outcomes.set(c.id, 'completed');
  reporter.done(c.id, 'completed');
}
