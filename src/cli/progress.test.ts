/** The progress reporter on a terminal: the live line may be cut, the reason never is. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createReporter, wrapText } from './progress.js';

const REASON =
  "Deployment keystone-api: 0/1 available; keystone-api-7d9: Unschedulable: needs nodes with openstack-control-plane=enabled and disk=nvme; 0 of 5 nodes have it (scheduler: 0/5 nodes are available: 5 node(s) didn't match Pod's node affinity/selector.)";

function terminal(columns: number) {
  let text = '';
  return { out: { isTTY: true, columns, write: (s: string) => ((text += s), true) }, text: () => text };
}

/** What is left on screen: lines after carriage returns and erase-line codes are applied. */
const screen = (raw: string) =>
  raw.split('\n').map((l) =>
    l
      .split('\r')
      .pop()!
      .replace(/\x1b\[2K/g, ''),
  );

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !cond(); i++) await new Promise((r) => setTimeout(r, 50));
  assert.ok(cond(), 'condition not met within 30 s');
}

test('wrapText keeps every word, breaks at the width and indents continuation lines', () => {
  const w = wrapText(REASON, 60);
  for (const l of w.split('\n')) assert.ok(l.length <= 60, l);
  assert.equal(w.replace(/\n {4}/g, ' '), REASON);
});

test('on a terminal, a stuck component gets its reason in full on its own lines, and a failure is printed whole', async (t) => {
  const saved = { CI: process.env.CI, TERM: process.env.TERM };
  delete process.env.CI;
  process.env.TERM = 'xterm';
  t.after(() => Object.assign(process.env, saved));
  const term = terminal(60);
  const r = createReporter(term.out, { stuckAfterMs: 50 });
  try {
    r.begin('keystone-api', 'applying');
    r.waiting('keystone-api', REASON);
    await until(
      () =>
        term.text().includes('still waiting') &&
        term.text().includes('(scheduler:') &&
        screen(term.text()).join(' ').includes('disk=nvme;'),
    );
    const lines = screen(term.text()).filter((l) => !/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]/.test(l));
    const block = lines.join('\n');
    const start = block.indexOf('… keystone-api still waiting');
    assert.ok(start >= 0, block);
    assert.ok(
      block
        .slice(start)
        .replace(/\n {4}/g, ' ')
        .includes(REASON),
      `the reason is not printed whole:\n${block}`,
    );
    for (const l of lines) assert.ok(l.length <= 60, `line wider than the terminal: ${l}`);
    r.fail('keystone-api', `keystone-api is not ready after 600 s: ${REASON}`);
    assert.ok(
      screen(term.text())
        .join('\n')
        .replace(/\n {4}/g, ' ')
        .includes(`keystone-api is not ready after 600 s: ${REASON}`),
    );
  } finally {
    r.close();
  }
});
