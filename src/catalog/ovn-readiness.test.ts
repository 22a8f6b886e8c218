/**
 * The OVN databases' readiness probe, run for real against Debian's ovsdb-server on 127.0.0.1:
 * members of a 3-server RAFT cluster are ready; a server still joining is not; once two of the
 * three are gone, the survivor (no majority, no leader) is not. That last state is what the
 * OvnDbLeaderLost alert sees as "no ready member". Skips when ovsdb-server or the OVN schema is
 * absent (scripts/install-test-tools.sh installs ovn-central).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { raftReadyCommand } from './ovn.js';
import { freePort } from '../../test/support/net.js';

const SCHEMA = '/usr/share/ovn/ovn-nb.ovsschema';
const have =
  spawnSync('sh', ['-c', 'command -v ovsdb-server && command -v ovsdb-tool && command -v ovs-appctl']).status === 0 &&
  existsSync(SCHEMA);
const skip = have
  ? false
  : 'ovsdb-server/ovsdb-tool/ovs-appctl or the OVN NB schema are missing (Debian ovn-central; scripts/install-test-tools.sh)';

const dir = mkdtempSync(join(tmpdir(), 'osk-ovn-ready-'));
const pids: number[] = [];
after(() => {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Start one server of the cluster; returns its unixctl path and PID. */
function serve(name: string): { ctl: string; pid: number } {
  const ctl = join(dir, `${name}.ctl`);
  const pidfile = join(dir, `${name}.pid`);
  run('ovsdb-server', [
    `--remote=punix:${join(dir, `${name}.sock`)}`,
    `--unixctl=${ctl}`,
    `--pidfile=${pidfile}`,
    '--detach',
    `--log-file=${join(dir, `${name}.log`)}`,
    join(dir, `${name}.db`),
  ]);
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  pids.push(pid);
  return { ctl, pid };
}

const ready = (ctl: string) => spawnSync('sh', ['-c', raftReadyCommand(ctl, 'OVN_Northbound')]).status === 0;

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

test('readiness = RAFT member that knows a leader: true in a healthy cluster, false while joining and after losing the majority', {
  skip,
  timeout: 180_000,
}, async () => {
  const ports = [await freePort(), await freePort(), await freePort()];
  const addr = (i: number) => `tcp:127.0.0.1:${ports[i]}`;
  run('ovsdb-tool', ['create-cluster', join(dir, 's0.db'), SCHEMA, addr(0)]);
  const servers = [serve('s0')];
  for (const i of [1, 2]) {
    run('ovsdb-tool', ['join-cluster', join(dir, `s${i}.db`), 'OVN_Northbound', addr(i), addr(0)]);
    servers.push(serve(`s${i}`));
  }
  await until('all three members ready', () => servers.every((s) => ready(s.ctl)));

  // A server that cannot reach the cluster it joins: answers cluster/status, but is not ready.
  const lonely = await freePort();
  run('ovsdb-tool', [
    'join-cluster',
    join(dir, 'j.db'),
    'OVN_Northbound',
    `tcp:127.0.0.1:${lonely}`,
    `tcp:127.0.0.1:${await freePort()}`,
  ]);
  const joining = serve('j');
  assert.match(
    run('ovs-appctl', ['-t', joining.ctl, 'cluster/status', 'OVN_Northbound']),
    /^Status: joining cluster$/m,
    'it answers',
  );
  assert.equal(ready(joining.ctl), false, 'a joining server is not ready');

  // Two of three gone, the leader among them: the survivor has no majority and no leader.
  const leader = servers.findIndex((s) =>
    /^Role: leader$/m.test(run('ovs-appctl', ['-t', s.ctl, 'cluster/status', 'OVN_Northbound'])),
  );
  assert.ok(leader >= 0, 'one member leads');
  const survivor = servers[(leader + 1) % 3]!;
  for (const s of servers) if (s !== survivor) process.kill(s.pid, 'SIGKILL');
  await until('the survivor to report no leader', () => !ready(survivor.ctl));
  assert.match(run('ovs-appctl', ['-t', survivor.ctl, 'cluster/status', 'OVN_Northbound']), /^Leader: unknown$/m);
});
