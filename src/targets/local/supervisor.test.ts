/**
 * The supervisor with real processes: a program is started in its own process group, restarted
 * with backoff when it dies, adopted by a new supervisor, and stopped together with its children.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { statePaths } from '../../state/paths.js';
import { isAlive, readPidFile } from './process-tree.js';
import { Supervisor } from './supervisor.js';
import { alive } from '../../../test/support/process.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

async function fresh() {
  const root = await mkdtemp(join(tmpdir(), 'osk-sup-'));
  dirs.push(root);
  const paths = statePaths('t', root);
  for (const d of [paths.run, paths.pids, paths.log]) await mkdir(d, { recursive: true });
  return paths;
}

const until = async (what: string, cond: () => boolean | Promise<boolean>, ms = 60_000) => {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting until ${what}`);
};

test('a program that dies is restarted with backoff and its exits are counted', async () => {
  const paths = await fresh();
  const sup = new Supervisor(paths);
  await sup.adopt();
  // Exits at once the first two times, then keeps running: a flaky start.
  const counter = join(paths.root, 'count');
  const script = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "start $n"; [ $n -ge 3 ] && exec sleep 60; exit 3`;
  const r = await sup.ensure({ id: 'flaky', command: ['sh', '-c', script], env: {}, hash: 'h1' });
  assert.equal(r.action, 'started');
  await until('the third start runs', async () => (await readFile(counter, 'utf8').catch(() => '')).trim() === '3');
  const st = sup.status().processes.find((p) => p.id === 'flaky')!;
  assert.equal(st.restarts, 2);
  assert.equal(st.lastExit?.code, 3);
  await until('it is running', () => sup.status().processes.find((p) => p.id === 'flaky')!.state === 'running');
  const log = await readFile(join(paths.log, 'flaky.log'), 'utf8');
  assert.match(log, /exited \(code 3\); restarting in 1 s/);
  assert.match(log, /exited \(code 3\); restarting in 2 s/);
  await sup.stopAll([]);
});

test('the same hash keeps the program; a new hash restarts it; stop kills the whole group', async () => {
  const paths = await fresh();
  const sup = new Supervisor(paths);
  await sup.adopt();
  // A parent with a child in the same group (like uwsgi and its workers).
  const cmd = ['sh', '-c', 'sleep 60 & echo child $!; wait'];
  const a = await sup.ensure({ id: 'p', command: cmd, env: {}, hash: 'h1' });
  const pid1 = a.status.pid!;
  assert.equal((await sup.ensure({ id: 'p', command: cmd, env: {}, hash: 'h1' })).action, 'unchanged');
  await until('the child is logged', async () => /child \d+/.test(await readFile(join(paths.log, 'p.log'), 'utf8')));
  const child = Number(/child (\d+)/.exec(await readFile(join(paths.log, 'p.log'), 'utf8'))![1]);
  assert.ok(alive(child));
  const b = await sup.ensure({ id: 'p', command: cmd, env: {}, hash: 'h2' });
  assert.equal(b.action, 'restarted');
  assert.notEqual(b.status.pid, pid1);
  await until('the old group is gone', () => !alive(pid1) && !alive(child));
  await sup.stop('p');
  assert.ok(!alive(b.status.pid!));
  assert.ok(!existsSync(join(paths.pids, 'p.json')));
});

test('a new supervisor adopts running programs by PID and start time, and restarts them when they die', async () => {
  const paths = await fresh();
  const first = new Supervisor(paths);
  await first.adopt();
  const { status } = await first.ensure({ id: 'keep', command: ['sleep', '60'], env: {}, hash: 'hk' });
  const rec = await readPidFile(join(paths.pids, 'keep.json'));
  assert.equal(rec?.pid, status.pid);
  assert.ok(rec && isAlive(rec));
  // The first supervisor goes away without stopping anything (as when osk itself is upgraded).
  first.abandon();
  const second = new Supervisor(paths);
  assert.deepEqual(await second.adopt(), ['keep']);
  assert.equal(
    (await second.ensure({ id: 'keep', command: ['sleep', '60'], env: {}, hash: 'hk' })).action,
    'unchanged',
  );
  // A recorded PID whose start time does not match is not ours: it is never adopted or signalled.
  assert.equal(isAlive({ pid: rec!.pid, startTime: rec!.startTime + 1 }), false);
  process.kill(rec!.pid, 'SIGKILL');
  await until('the adopted program is restarted', () => {
    const p = second.status().processes.find((x) => x.id === 'keep')!;
    return p.state === 'running' && p.pid !== rec!.pid;
  });
  await second.stopAll([]);
});
