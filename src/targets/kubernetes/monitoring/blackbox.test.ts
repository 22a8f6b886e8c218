/**
 * The API probes, run for real: Debian's blackbox exporter with the module osk renders
 * (BLACKBOX_CONFIG) against HTTP servers on 127.0.0.1 that answer the way OpenStack version
 * documents do (300 Multiple Choices, 200), fail (503), and hang past the 5 s timeout. Checks
 * that the config loads, and that probe_success is 1 exactly for the answers the alerts treat as
 * up. Skips when prometheus-blackbox-exporter is absent (scripts/install-test-tools.sh).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { API_PROBE_MODULE, BLACKBOX_CONFIG } from '../../../catalog/monitoring.js';
import { freePort } from '../../../../test/support/net.js';

const BIN = '/usr/bin/prometheus-blackbox-exporter';
const have = spawnSync(BIN, ['--version']).status === 0;
const skip = have ? false : 'prometheus-blackbox-exporter is missing (Debian package; scripts/install-test-tools.sh)';

const dir = mkdtempSync(join(tmpdir(), 'osk-blackbox-'));
const procs: ChildProcess[] = [];
const servers: Server[] = [];
after(() => {
  for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  for (const s of servers) s.closeAllConnections?.(), s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An HTTP server on 127.0.0.1 that answers / with `status`, or never answers (`'hang'`). */
async function api(status: number | 'hang'): Promise<string> {
  const s = createHttpServer((_req, res) => {
    if (status === 'hang') return;
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ versions: { values: [{ id: 'v3.14', status: 'stable' }] } }));
  });
  servers.push(s);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(s.address() as { port: number }).port}/`;
}

function metric(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

test('the rendered blackbox module: 300 and 200 are up, 503 and a hang past 5 s are down', {
  skip,
  timeout: 120_000,
}, async () => {
  const config = join(dir, 'blackbox.yml');
  writeFileSync(config, BLACKBOX_CONFIG);
  const check = spawnSync(BIN, [`--config.file=${config}`, '--config.check'], { encoding: 'utf8' });
  assert.equal(check.status, 0, `config.check: ${check.stderr}`);

  const port = await freePort();
  const p = spawn(BIN, [`--config.file=${config}`, `--web.listen-address=127.0.0.1:${port}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  procs.push(p);
  let log = '';
  p.stderr!.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if ((await fetch(`${base}/-/healthy`).catch(() => undefined))?.ok) break;
    if (i > 600) assert.fail(`blackbox exporter did not start within 60 s: ${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const probe = async (target: string) => {
    const r = await fetch(`${base}/probe?module=${API_PROBE_MODULE}&target=${encodeURIComponent(target)}`);
    assert.equal(r.status, 200);
    return r.text();
  };

  const keystoneLike = await probe(await api(300));
  assert.equal(metric(keystoneLike, 'probe_success'), 1, keystoneLike);
  assert.equal(metric(keystoneLike, 'probe_http_status_code'), 300);
  assert.ok(metric(keystoneLike, 'probe_duration_seconds')! > 0);
  assert.equal(metric(await probe(await api(200)), 'probe_success'), 1);
  const broken = await probe(await api(503));
  assert.equal(metric(broken, 'probe_success'), 0);
  assert.equal(metric(broken, 'probe_http_status_code'), 503);
  // The server never answers, so the probe can only have come back through the module's timeout
  // (no wall-clock assertion: a loaded machine must not fail this).
  const hung = await probe(await api('hang'));
  assert.equal(metric(hung, 'probe_success'), 0, 'no answer: down');
  assert.equal(metric(hung, 'probe_http_status_code'), 0, 'no status was received');
  assert.equal(metric(await probe(`http://127.0.0.1:${await freePort()}/`), 'probe_success'), 0, 'refused');
});
