import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCommand } from './run-command.js';

test('a command that runs out of time is reported as such, and its whole process group is gone (the program under sh -c too)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'osk-run-'));
  try {
    const childFile = join(dir, 'child');
    // The script records its child and waits for it: a timeout must not leave the child behind.
    const r = await runCommand(['sh', '-c', 'sleep 300 & echo $! > "$1"; wait', 'sh', childFile], { timeoutMs: 500 });
    assert.equal(r.timedOut, true);
    const child = Number(await readFile(childFile, 'utf8'));
    let gone = false;
    for (let i = 0; i < 100 && !gone; i++) {
      try {
        process.kill(child, 0);
        await new Promise((res) => setTimeout(res, 50));
      } catch {
        gone = true;
      }
    }
    assert.ok(gone, `the program under sh (PID ${child}) was killed with its group`);
    const ok = await runCommand(['sh', '-c', 'echo hi; exit 3']);
    assert.deepEqual(ok, { code: 3, out: 'hi\n', timedOut: false });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
