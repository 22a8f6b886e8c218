/**
 * Readiness, checked for real: a TCP connect, an HTTP answer below 500, a command that exits 0,
 * or a row in the cloud's own MariaDB (a service that reports itself up). Each probe returns
 * what it saw, so a component that never gets ready can say why.
 */
import { connect } from 'node:net';
import type { HostProbe } from '../../catalog/types.js';
import { runCommand } from '../../run-command.js';
import { LOOPBACK } from './topology.js';

interface ProbeResult {
  ok: boolean;
  /** What was seen, e.g. "connection refused on 127.0.0.1:5672" or "HTTP 503". */
  detail: string;
}

export function tcpProbe(port: number, host = LOOPBACK, timeoutMs = 2000): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (r: ProbeResult) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(timeoutMs, () => done({ ok: false, detail: `no answer on ${host}:${port} within ${timeoutMs} ms` }));
    s.once('connect', () => done({ ok: true, detail: `${host}:${port} accepts connections` }));
    s.once('error', (e: NodeJS.ErrnoException) =>
      done({ ok: false, detail: `${e.code === 'ECONNREFUSED' ? 'connection refused' : e.message} on ${host}:${port}` }),
    );
  });
}

async function httpProbe(port: number, path: string, timeoutMs = 5000): Promise<ProbeResult> {
  const url = `http://${LOOPBACK}:${port}${path}`;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { connection: 'close' } });
    await res.arrayBuffer();
    return res.status < 500
      ? { ok: true, detail: `GET ${url} → ${res.status}` }
      : { ok: false, detail: `GET ${url} → ${res.status}` };
  } catch (e) {
    const cause = (e as { cause?: { code?: string } }).cause?.code;
    return {
      ok: false,
      detail: `GET ${url}: ${cause === 'ECONNREFUSED' ? 'connection refused' : (e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (e as Error).message}`,
    };
  }
}

/** A statement on the cloud's MariaDB as root through its socket (unix_socket authentication). */
export function mariadbExec(socket: string, sql: string, timeoutMs = 30_000): Promise<{ code: number; out: string }> {
  return runCommand(['mariadb', `--socket=${socket}`, '--batch', '--skip-column-names'], { stdin: sql, timeoutMs });
}

export async function probe(
  p: HostProbe,
  ctx: { mariadbSocket: string; runningSeconds: () => number | undefined },
): Promise<ProbeResult> {
  if ('tcp' in p) return tcpProbe(p.tcp);
  if ('http' in p) return httpProbe(p.http.port, p.http.path);
  if ('exec' in p) {
    const r = await runCommand(p.exec, { timeoutMs: 10_000 });
    return {
      ok: r.code === 0,
      detail: `${p.exec.join(' ')} → exit ${r.code}${r.out.trim() ? `: ${r.out.trim().split('\n').slice(-1)[0]}` : ''}`,
    };
  }
  if ('sql' in p) {
    const r = await mariadbExec(ctx.mariadbSocket, p.sql.query, 10_000);
    if (r.code !== 0)
      return { ok: false, detail: `waiting until ${p.sql.what}: ${r.out.trim().split('\n').slice(-1)[0]}` };
    const n = Number(r.out.trim());
    return { ok: n > 0, detail: n > 0 ? p.sql.what : `not yet: ${p.sql.what}` };
  }
  const s = ctx.runningSeconds();
  return {
    ok: s !== undefined && s >= p.aliveSeconds,
    detail: s === undefined ? 'not running' : `running for ${Math.floor(s)} s`,
  };
}
