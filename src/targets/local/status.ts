/**
 * `osk status` of an all-in-one cloud: per component what runs (PID, uptime, restarts, last
 * exit) and whether it answers its readiness probe now; steps and skipped components with why.
 */
import { hostMariadbSocket } from '../../catalog/mariadb.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudModel } from '../../plan/model.js';
import { supervisorStatus } from './control.js';
import { hostOrder } from './up.js';
import type { StatePaths } from '../../state/paths.js';
import { probe } from './probes.js';

interface ComponentStatus {
  component: string;
  kind: 'process' | 'step' | 'builtin' | 'skip';
  state: string;
  ready?: boolean;
  detail: string;
  pid?: number;
  uptimeSeconds?: number;
  restarts?: number;
  lastExit?: string;
}

export interface CloudStatus {
  cloud: string;
  stateDir: string;
  supervisor: { pid: number; startedAt: string } | null;
  components: ComponentStatus[];
  /** Every program runs and answers. */
  healthy: boolean;
}

export async function localStatus(model: CloudModel, paths: StatePaths): Promise<CloudStatus> {
  const sup = await supervisorStatus(paths);
  const socket = hostMariadbSocket(paths.run);
  const order = hostOrder(model);
  const out: ComponentStatus[] = [];
  const all = [...order, ...[...model.components.keys()].filter((id) => !order.includes(id))];
  await Promise.all(
    all.map(async (id, i) => {
      const c = model.components.get(id)!;
      const h = c.host;
      if (!h || h.kind === 'skip') {
        out[i] = {
          component: id,
          kind: 'skip',
          state: 'skipped',
          detail: h?.kind === 'skip' ? h.why : 'not part of the all-in-one target',
        };
        return;
      }
      if (h.kind === 'step') {
        const done = existsSync(join(paths.steps, `${id}.done`));
        out[i] = { component: id, kind: 'step', state: done ? 'completed' : 'pending', detail: oneLine(h.command) };
        return;
      }
      if (h.kind === 'builtin') {
        out[i] = { component: id, kind: 'builtin', state: 'n/a', detail: Object.keys(h.action)[0]! };
        return;
      }
      const p = sup?.processes.find((x) => x.id === id);
      const uptime =
        p?.since && p.state === 'running' ? Math.floor((Date.now() - Date.parse(p.since)) / 1000) : undefined;
      const r =
        p && p.state === 'running'
          ? await probe(h.ready, { mariadbSocket: socket, runningSeconds: () => uptime })
          : undefined;
      out[i] = {
        component: id,
        kind: 'process',
        state: p?.state ?? 'stopped',
        ready: r?.ok ?? false,
        detail:
          r?.detail ?? (p ? `restarting after ${p.lastExit?.signal ?? `exit ${p.lastExit?.code}`}` : 'not running'),
        ...(p?.pid ? { pid: p.pid } : {}),
        ...(uptime !== undefined ? { uptimeSeconds: uptime } : {}),
        ...(p ? { restarts: p.restarts } : {}),
        ...(p?.lastExit ? { lastExit: `${p.lastExit.signal ?? `code ${p.lastExit.code}`} at ${p.lastExit.at}` } : {}),
      };
    }),
  );
  const procs = out.filter((c) => c.kind === 'process');
  return {
    cloud: model.file.metadata.name,
    stateDir: paths.root,
    supervisor: sup ? { pid: sup.pid, startedAt: sup.startedAt } : null,
    components: out,
    healthy: procs.length > 0 && procs.every((c) => c.state === 'running' && c.ready),
  };
}

export function statusTable(s: CloudStatus): string {
  const rows = [['COMPONENT', 'KIND', 'STATE', 'READY', 'PID', 'UPTIME', 'RESTARTS', 'DETAIL']];
  for (const c of s.components) {
    rows.push([
      c.component,
      c.kind,
      c.state,
      c.kind === 'process' ? (c.ready ? 'yes' : 'no') : '',
      c.pid ? String(c.pid) : '',
      c.uptimeSeconds !== undefined ? fmtAge(c.uptimeSeconds) : '',
      c.restarts !== undefined ? String(c.restarts) : '',
      c.detail,
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const head = `cloud ${s.cloud} (${s.stateDir}); supervisor ${s.supervisor ? `pid ${s.supervisor.pid}` : 'not running'}; ${s.healthy ? 'all programs ready' : 'NOT all programs ready'}\n`;
  return (
    head +
    rows.map((r) => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(widths[i]!))).join('  ')).join('\n') +
    '\n'
  );
}

/** A command as one short line (a `sh -c` script shows its first command). */
function oneLine(command: string[]): string {
  const text =
    command[0] === 'sh' && command[1] === '-c'
      ? ((command[2] ?? '').split('\n').find((l) => l && l !== 'set -e') ?? '')
      : command.join(' ');
  return text.length > 90 ? `${text.slice(0, 89)}…` : text;
}

function fmtAge(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
