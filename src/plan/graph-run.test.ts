import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runGraph } from './graph-run.js';

test('runs dependencies first, in parallel where possible, and blocks only dependants of a failure', async () => {
  const order: string[] = [];
  const deps = new Map([
    ['b', ['a']],
    ['c', ['a']],
    ['d', ['b']],
    ['e', ['d']],
  ]);
  const running = new Set<string>();
  let maxParallel = 0;
  const r = await runGraph(['a', 'b', 'c', 'd', 'e', 'f'], deps, async (id) => {
    running.add(id);
    maxParallel = Math.max(maxParallel, running.size);
    await new Promise((res) => setTimeout(res, 10));
    running.delete(id);
    order.push(id);
    if (id === 'b') throw new Error('b broke');
  });
  assert.ok(order.indexOf('a') < order.indexOf('b') && order.indexOf('a') < order.indexOf('c'));
  assert.ok(maxParallel >= 2, 'independent nodes run together');
  assert.deepEqual([...r.failed.keys()], ['b']);
  assert.deepEqual(Object.fromEntries(r.blocked), { d: 'b', e: 'b' });
  assert.deepEqual(r.done.sort(), ['a', 'c', 'f']);
});
