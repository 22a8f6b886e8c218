/**
 * osk's side of the supervisor: find or start the daemon of a cloud, and talk to it over its
 * Unix socket.
 */
import { spawn } from 'node:child_process';
import { openSync, closeSync, existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { OskError } from '../../errors.js';
import { oskInstallDir } from '../../own-install.js';
import type { StatePaths } from '../../state/paths.js';
import { isAlive, readPidFile } from './process-tree.js';
import type { ProcessSpec, ProcessStatus, StopResult, SupervisorStatus } from './supervisor.js';

function call<T>(paths: StatePaths, method: string, path: string, body?: unknown, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      {
        socketPath: paths.supervisorSocket,
        method,
        path,
        headers: data ? { 'content-type': 'application/json' } : {},
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c as Buffer));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            const json = JSON.parse(text) as T & { error?: string };
            if ((res.statusCode ?? 500) >= 400)
              reject(new OskError(`the supervisor of this cloud answered ${res.statusCode}: ${json.error ?? text}`));
            else resolve(json);
          } catch {
            reject(new OskError(`the supervisor of this cloud sent an unreadable answer: ${text.slice(0, 200)}`));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

export async function supervisorStatus(paths: StatePaths): Promise<SupervisorStatus | undefined> {
  if (!existsSync(paths.supervisorSocket)) return undefined;
  try {
    return await call<SupervisorStatus>(paths, 'GET', '/status', undefined, 5000);
  } catch {
    return undefined;
  }
}

/** bin/osk.js of this osk. */
function oskBin(): string {
  return join(oskInstallDir(), 'bin', 'osk.js');
}

/** The running supervisor, or a new one started detached (it outlives this command). */
export async function ensureSupervisor(paths: StatePaths): Promise<SupervisorStatus> {
  const existing = await supervisorStatus(paths);
  if (existing) return existing;
  await mkdir(paths.log, { recursive: true, mode: 0o700 });
  await mkdir(paths.pids, { recursive: true, mode: 0o700 });
  const bin = oskBin();
  const log = openSync(join(paths.log, 'supervisor.log'), 'a', 0o600);
  try {
    const child = spawn(process.execPath, [bin, 'supervise', '--state-dir', paths.root], {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
  } finally {
    closeSync(log);
  }
  for (let i = 0; i < 200; i++) {
    const s = await supervisorStatus(paths);
    if (s) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new OskError(`the supervisor did not start within 20 s; see ${join(paths.log, 'supervisor.log')}`);
}

export function ensureProcess(
  paths: StatePaths,
  spec: ProcessSpec,
): Promise<{ action: 'started' | 'unchanged' | 'restarted'; status: ProcessStatus }> {
  return call(paths, 'PUT', `/processes/${spec.id}`, { command: spec.command, env: spec.env, hash: spec.hash });
}

export async function stopProcess(paths: StatePaths, id: string): Promise<StopResult | undefined> {
  return (await call<{ stopped: string; result?: StopResult }>(paths, 'DELETE', `/processes/${id}`, undefined, 600_000))
    .result;
}

/** Stop the cloud's programs, wave by wave in the given order, and the supervisor. */
export async function shutdown(paths: StatePaths, waves: string[][]): Promise<StopResult[]> {
  return (await call<{ stopped: StopResult[] }>(paths, 'POST', '/shutdown', { waves }, 600_000)).stopped;
}

/** The supervisor's own PID record, to stop it when its socket no longer answers. */
export async function supervisorPid(paths: StatePaths) {
  const rec = await readPidFile(join(paths.pids, 'supervisor.json'));
  return rec && isAlive(rec) ? rec : undefined;
}
