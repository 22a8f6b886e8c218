/**
 * The supervisor: one small daemon per cloud (`osk supervise`, started by `osk up`) that owns
 * the cloud's long-running programs. It starts them in their own process groups with their
 * output in log/<id>.log, restarts a program that exits with exponential backoff (1 s … 60 s,
 * reset after a minute of uptime), and answers `osk` over a Unix socket in the state dir
 * (mode 0600: only the cloud's owner can drive it).
 *
 * Programs survive the supervisor: a new supervisor adopts the ones its PID files name (after
 * checking PID and start time), so restarting osk itself never restarts the cloud.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { appendFile, chmod, mkdir, readdir, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { StatePaths } from '../../state/paths.js';
import { credentialRotation } from './credential-rotation.js';
import { fernetRotation, startRotationTimer } from './key-rotation.js';
import {
  isAlive,
  readPidFile,
  removePidFile,
  startTimeOf,
  stopGroup,
  writePidFile,
  type PidRecord,
} from './process-tree.js';

export interface ProcessSpec {
  id: string;
  command: string[];
  env: Record<string, string>;
  hash: string;
}

type ProcessState = 'running' | 'backoff' | 'stopping' | 'stopped';

export interface ProcessStatus {
  id: string;
  state: ProcessState;
  pid?: number;
  /** When the current process started (ISO). */
  since?: string;
  restarts: number;
  lastExit?: { code: number | null; signal: string | null; at: string };
  hash: string;
  log: string;
}

export interface StopResult {
  id: string;
  how: 'stopped' | 'killed' | 'gone';
  ms: number;
}

export interface SupervisorStatus {
  pid: number;
  startedAt: string;
  processes: ProcessStatus[];
}

interface Entry {
  spec: ProcessSpec;
  status: ProcessStatus;
  rec?: PidRecord;
  child?: ChildProcess;
  timer?: NodeJS.Timeout;
  /** Consecutive quick failures, for the backoff. */
  failures: number;
  wanted: boolean;
}

const BASE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export class Supervisor {
  private readonly entries = new Map<string, Entry>();
  private readonly startedAt = new Date().toISOString();
  private poller?: NodeJS.Timeout;
  private server?: ReturnType<typeof createServer>;

  constructor(private readonly paths: StatePaths) {}

  private pidFile(id: string): string {
    return join(this.paths.pids, `${id}.json`);
  }

  logFile(id: string): string {
    return join(this.paths.log, `${id}.log`);
  }

  /** Adopt the programs a previous supervisor started and that still run. */
  async adopt(): Promise<string[]> {
    const adopted: string[] = [];
    for (const f of await readdir(this.paths.pids).catch(() => [] as string[])) {
      if (!f.endsWith('.json') || f === 'supervisor.json') continue;
      const id = f.slice(0, -5);
      const rec = await readPidFile(join(this.paths.pids, f));
      if (!rec || !isAlive(rec)) {
        await removePidFile(join(this.paths.pids, f));
        continue;
      }
      const spec = { id, command: rec.command, env: rec.env, hash: rec.hash };
      this.entries.set(id, {
        spec,
        rec,
        failures: 0,
        wanted: true,
        status: { id, state: 'running', pid: rec.pid, since: rec.startedAt, restarts: 0, hash: rec.hash, log: rec.log },
      });
      adopted.push(id);
    }
    // Adopted programs are not our children: poll them.
    this.poller = setInterval(() => this.pollAdopted(), 1000);
    this.poller.unref();
    return adopted;
  }

  private pollAdopted(): void {
    for (const e of this.entries.values()) {
      if (e.child || !e.rec || e.status.state !== 'running') continue;
      if (!isAlive(e.rec)) this.onExit(e, null, null);
    }
  }

  /** Start a program, or keep it when it already runs the same hash; restart it when the hash changed. */
  async ensure(spec: ProcessSpec): Promise<{ action: 'started' | 'unchanged' | 'restarted'; status: ProcessStatus }> {
    const e = this.entries.get(spec.id);
    if (e?.wanted && e.spec.hash === spec.hash && (e.status.state === 'running' || e.status.state === 'backoff')) {
      return { action: 'unchanged', status: e.status };
    }
    let action: 'started' | 'restarted' = 'started';
    if (e) {
      action = e.status.state === 'running' ? 'restarted' : 'started';
      await this.stop(spec.id);
    }
    const entry: Entry = e ?? {
      spec,
      failures: 0,
      wanted: true,
      status: { id: spec.id, state: 'stopped', restarts: 0, hash: spec.hash, log: this.logFile(spec.id) },
    };
    entry.spec = spec;
    entry.wanted = true;
    entry.failures = 0;
    // A new start: restarts count the exits of this spec only.
    entry.status.restarts = 0;
    delete entry.status.lastExit;
    entry.status.hash = spec.hash;
    this.entries.set(spec.id, entry);
    await this.launch(entry);
    return { action, status: entry.status };
  }

  private async launch(e: Entry): Promise<void> {
    const log = this.logFile(e.spec.id);
    const fd = openSync(log, 'a', 0o600);
    const [cmd, ...args] = e.spec.command as [string, ...string[]];
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, {
        detached: true,
        stdio: ['ignore', fd, fd],
        env: { PATH: BASE_PATH, LANG: 'C.UTF-8', ...e.spec.env },
        cwd: this.paths.root,
      });
    } finally {
      closeSync(fd);
    }
    const startedAt = new Date().toISOString();
    e.child = child;
    child.on('error', (err) => {
      // spawn failures (ENOENT) arrive here, not as an exit.
      e.status.lastExit = { code: 127, signal: null, at: new Date().toISOString() };
      void this.appendNote(e.spec.id, `osk: cannot start ${cmd}: ${err.message}`);
      if (child.pid === undefined && e.child === child) this.onExit(e, 127, null);
    });
    child.on('exit', (code, signal) => {
      if (e.child === child) this.onExit(e, code, signal);
    });
    if (child.pid === undefined) return;
    const rec: PidRecord = {
      pid: child.pid,
      startTime: startTimeOf(child.pid) ?? 0,
      hash: e.spec.hash,
      command: e.spec.command,
      env: e.spec.env,
      log,
      startedAt,
    };
    e.rec = rec;
    e.status = { ...e.status, state: 'running', pid: child.pid, since: startedAt };
    await writePidFile(this.pidFile(e.spec.id), rec);
  }

  private async appendNote(id: string, line: string): Promise<void> {
    await appendFile(this.logFile(id), `${line}\n`).catch(() => undefined);
  }

  private onExit(e: Entry, code: number | null, signal: NodeJS.Signals | null): void {
    e.child = undefined;
    // The program is over: whatever it left in its process group (an epmd, a uwsgi worker) goes
    // with it, so a restart never finds its port held by an orphan.
    if (e.rec) {
      try {
        process.kill(-e.rec.pid, 'SIGKILL');
      } catch {
        // the group is empty
      }
    }
    const at = new Date().toISOString();
    e.status.lastExit = { code, signal, at };
    void removePidFile(this.pidFile(e.spec.id));
    if (!e.wanted) {
      e.status.state = 'stopped';
      return;
    }
    const uptime = e.status.since ? Date.now() - Date.parse(e.status.since) : 0;
    e.failures = uptime > 60_000 ? 1 : e.failures + 1;
    const delay = Math.min(60_000, 1000 * 2 ** (e.failures - 1));
    e.status.state = 'backoff';
    e.status.restarts += 1;
    delete e.status.pid;
    void this.appendNote(
      e.spec.id,
      `osk: ${e.spec.id} exited (${signal ? `signal ${signal}` : `code ${code}`}); restarting in ${delay / 1000} s`,
    );
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (e.wanted) void this.launch(e);
    }, delay);
  }

  async stop(id: string): Promise<StopResult | undefined> {
    const e = this.entries.get(id);
    if (!e) return undefined;
    const t0 = Date.now();
    let how: StopResult['how'] = 'gone';
    e.wanted = false;
    if (e.timer) clearTimeout(e.timer);
    e.timer = undefined;
    if (e.rec && (e.status.state === 'running' || e.status.state === 'stopping')) {
      e.status.state = 'stopping';
      how = await stopGroup(e.rec);
    }
    e.status.state = 'stopped';
    delete e.status.pid;
    await removePidFile(this.pidFile(id));
    return { id, how, ms: Date.now() - t0 };
  }

  /** Let go of every program without stopping it (a supervisor being replaced; tests). */
  abandon(): void {
    if (this.poller) clearInterval(this.poller);
    for (const e of this.entries.values()) {
      e.wanted = false;
      if (e.timer) clearTimeout(e.timer);
      e.child?.removeAllListeners('exit');
      e.child?.unref();
    }
    this.entries.clear();
  }

  status(): SupervisorStatus {
    return {
      pid: process.pid,
      startedAt: this.startedAt,
      processes: [...this.entries.values()].map((e) => ({ ...e.status })),
    };
  }

  /**
   * Stop everything wave by wave (dependants first, one wave in parallel), then anything the
   * waves do not name.
   */
  async stopAll(waves: string[][]): Promise<StopResult[]> {
    const named = new Set(waves.flat());
    const all = [
      ...waves.map((w) => w.filter((id) => this.entries.has(id))),
      [...this.entries.keys()].filter((id) => !named.has(id)),
    ];
    const out: StopResult[] = [];
    for (const wave of all) {
      for (const r of await Promise.all(wave.map((id) => this.stop(id)))) if (r && r.how !== 'gone') out.push(r);
    }
    return out;
  }

  /** Serve the control socket; resolves once listening. */
  async listen(): Promise<void> {
    await rm(this.paths.supervisorSocket, { force: true });
    const server = createServer((req, res) => void this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.paths.supervisorSocket, () => resolve());
    });
    await chmod(this.paths.supervisorSocket, 0o600);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const reply = (code: number, body: unknown) => {
      res.writeHead(code, { 'content-type': 'application/json', connection: 'close' });
      res.end(JSON.stringify(body));
    };
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      const url = new URL(req.url ?? '/', 'http://supervisor');
      const m = /^\/processes\/([a-z0-9-]+)$/.exec(url.pathname);
      if (req.method === 'GET' && url.pathname === '/status') return reply(200, this.status());
      if (req.method === 'PUT' && m)
        return reply(200, await this.ensure({ ...(body as Omit<ProcessSpec, 'id'>), id: m[1]! }));
      if (req.method === 'DELETE' && m) {
        const result = await this.stop(m[1]!);
        return reply(200, { stopped: m[1], ...(result ? { result } : {}) });
      }
      if (req.method === 'POST' && url.pathname === '/shutdown') {
        const stopped = await this.stopAll((body as { waves?: string[][] } | undefined)?.waves ?? []);
        reply(200, { stopped });
        this.close();
        return;
      }
      reply(404, { error: `no such endpoint: ${req.method} ${url.pathname}` });
    } catch (e) {
      reply(500, { error: (e as Error).message });
    }
  }

  close(): void {
    if (this.poller) clearInterval(this.poller);
    this.server?.close();
    void rm(this.paths.supervisorSocket, { force: true });
    void rm(join(this.paths.pids, 'supervisor.json'), { force: true });
    // Let pending replies flush, then leave.
    setTimeout(() => process.exit(0), 200).unref();
  }
}

/** Entry point of `osk supervise`: adopt, listen, and run until told to shut down. */
export async function runSupervisor(paths: StatePaths): Promise<void> {
  await mkdir(paths.pids, { recursive: true, mode: 0o700 });
  await mkdir(paths.log, { recursive: true, mode: 0o700 });
  const sup = new Supervisor(paths);
  const adopted = await sup.adopt();
  await sup.listen();
  await writePidFile(join(paths.pids, 'supervisor.json'), {
    pid: process.pid,
    startTime: startTimeOf(process.pid) ?? 0,
    hash: '',
    command: process.argv,
    env: {},
    log: join(paths.log, 'supervisor.log'),
    startedAt: new Date().toISOString(),
  });
  process.stdout.write(
    `${new Date().toISOString()} supervisor ${process.pid} listening on ${paths.supervisorSocket}; adopted ${adopted.length ? adopted.join(', ') : 'nothing'}\n`,
  );
  // Keystone's fernet and credential keys rotate on the cloud's schedules while the supervisor
  // runs (key-rotation.ts, credential-rotation.ts).
  startRotationTimer(paths, (line) => process.stdout.write(`${line}\n`), 60_000, [
    fernetRotation(paths),
    credentialRotation(paths),
  ]);
  // SIGTERM to the supervisor leaves the cloud running (only `osk down` stops it).
  process.on('SIGTERM', () => sup.close());
  process.on('SIGINT', () => sup.close());
}
