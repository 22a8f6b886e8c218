// The build's progress: plain lines off a terminal, with a heartbeat when nothing changes; one
// redrawn line, never wider than the terminal, on it.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { formatElapsed, startProgress } from './progress.js';
import { waitFor } from './kube.js';

/** A fake clock the test moves by hand. */
function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

/** Just enough of a terminal stream for live mode. */
function fakeTerminal(columns: number): NodeJS.WriteStream & { written: string } {
  const term = {
    written: '',
    columns,
    isTTY: true,
    write(s: string): boolean {
      term.written += s;
      return true;
    },
  };
  return term as unknown as NodeJS.WriteStream & { written: string };
}

test('formatElapsed', () => {
  assert.equal(formatElapsed(7_400), '7s');
  assert.equal(formatElapsed(185_000), '3m05s');
  assert.equal(formatElapsed(3_720_000), '1h02m');
});

test('lines mode: the first line at once, changed statuses, elapsed time, then the final line', () => {
  const lines: string[] = [];
  const c = clock();
  const p = startProgress('compiling', { log: (l) => lines.push(l), mode: 'lines', now: c.now });
  c.advance(3_000);
  p.update('10/100 packages (fmt)');
  c.advance(500);
  p.update('11/100 packages (os)'); // within 2 s of the last line: not worth its own line
  c.advance(2_000);
  p.update('12/100 packages (net)');
  p.done('compiled 100 packages');
  assert.deepEqual(lines, [
    'compiling: starting [0s]',
    'compiling: 10/100 packages (fmt) [3s]',
    'compiling: 12/100 packages (net) [5s]',
    'compiled 100 packages',
  ]);
});

test('lines mode: a heartbeat line when the status stays the same (the silent link step)', async () => {
  const lines: string[] = [];
  const c = clock();
  const p = startProgress('compiling', { log: (l) => lines.push(l), mode: 'lines', now: c.now, everyMs: 5 });
  p.update('2686/2686 packages; linking kubecp and kwok');
  const before = lines.length;
  c.advance(60_000);
  await waitFor('a heartbeat line', async () => lines.length > before, { timeoutMs: 30_000, intervalMs: 5 });
  p.done('done');
  assert.equal(lines.at(-2), 'compiling: 2686/2686 packages; linking kubecp and kwok [1m00s]');
  const count = lines.length;
  c.advance(60_000);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(lines.length, count, 'no line after done()');
});

test("live mode: one line redrawn in place, cut to the terminal's width, cleared at the end", () => {
  const term = fakeTerminal(40);
  const logged: string[] = [];
  const c = clock();
  const p = startProgress('compiling', { log: (l) => logged.push(l), mode: 'live', stream: term, now: c.now });
  c.advance(1_000);
  p.update('1/2686 packages (k8s.io/kubernetes/pkg/controller/volume/persistentvolume)');
  p.note('go: warning: something to keep');
  p.done('compiled 2686 packages');
  const draws = term.written.split('\r\x1b[K').filter((d) => d !== '');
  assert.ok(draws.length >= 2, 'redrawn');
  for (const d of draws) {
    assert.ok(!d.includes('\n'), `a live draw never ends a line: ${JSON.stringify(d)}`);
    assert.ok(d.length <= 39, `fits 40 columns: ${JSON.stringify(d)}`);
  }
  assert.ok(draws.some((d) => d.startsWith('compiling: 1/2686 packages') && d.endsWith('…')));
  assert.ok(term.written.endsWith('\r\x1b[K'), 'the live line is cleared before the final line');
  assert.deepEqual(logged, ['go: warning: something to keep', 'compiled 2686 packages']);
});
