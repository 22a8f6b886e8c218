import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cronOf, everySeconds, rotateKeySet, rotationProblem } from './key-rotation.js';

const counter = () => {
  let i = 0;
  return () => `new${++i}`;
};

describe('rotateKeySet', () => {
  test('the staged key becomes primary, the old primary a secondary, a new key is staged, the oldest secondary is dropped', () => {
    // 0 = staged S, 1 = secondary A, 2 = primary P
    assert.deepEqual(rotateKeySet(['S', 'A', 'P'], 3, counter()), ['new1', 'P', 'S']);
  });

  test('twice: the key that signed first is still there as a secondary after one rotation and gone after two', () => {
    const next = counter();
    const once = rotateKeySet(['S', 'A', 'P'], 3, next);
    const twice = rotateKeySet(once, 3, next);
    assert.deepEqual(twice, ['new2', 'S', 'new1']);
    assert.equal(twice.includes('P'), false);
  });

  test('more active keys keep more secondaries, oldest first', () => {
    assert.deepEqual(rotateKeySet(['S', 'A', 'B', 'C', 'P'], 5, counter()), ['new1', 'B', 'C', 'P', 'S']);
  });

  test('a smaller set grows up to maxActiveKeys without dropping anything', () => {
    assert.deepEqual(rotateKeySet(['S', 'P'], 3, counter()), ['new1', 'P', 'S']);
    assert.deepEqual(rotateKeySet(['S', 'A', 'P'], 4, counter()), ['new1', 'A', 'P', 'S']);
  });

  test('the set never exceeds maxActiveKeys and every key is distinct when keys are random', () => {
    let keys = ['a', 'b', 'c'];
    for (let i = 0; i < 10; i++) {
      keys = rotateKeySet(keys, 3);
      assert.equal(keys.length, 3);
      assert.equal(new Set(keys).size, 3);
      assert.match(keys[0]!, /^[A-Za-z0-9_-]{43}=$/);
    }
  });

  test('refuses sets and limits that cannot rotate safely', () => {
    assert.throws(() => rotateKeySet(['only'], 3), /at least a staged and a primary/);
    assert.throws(() => rotateKeySet(['S', 'A', 'P'], 2), /at least 3/);
  });
});

describe('rotation schedule', () => {
  test('intervals in seconds', () => {
    assert.equal(everySeconds('30m'), 1800);
    assert.equal(everySeconds('24h'), 86400);
    assert.equal(everySeconds('7d'), 604800);
    assert.throws(() => everySeconds('1w'), /not a rotation interval/);
    assert.throws(() => everySeconds('0h'), /not a rotation interval/);
  });

  test('cron schedules for the CronJob, none for intervals cron cannot express', () => {
    assert.equal(cronOf('15m'), '*/15 * * * *');
    assert.equal(cronOf('120m'), '0 */2 * * *');
    assert.equal(cronOf('6h'), '0 */6 * * *');
    assert.equal(cronOf('24h'), '0 0 * * *');
    assert.equal(cronOf('1d'), '0 0 * * *');
    assert.equal(cronOf('7d'), '0 0 */7 * *');
    assert.equal(cronOf('7m'), undefined);
    assert.equal(cronOf('5h'), undefined);
    assert.equal(cronOf('40d'), undefined);
  });

  test('a key must outlive the tokens it signed', () => {
    assert.equal(rotationProblem('1h', 3, 3600), undefined);
    assert.match(rotationProblem('30m', 3, 3600)!, /tokens live 3600 s but .* dropped 1800 s/);
    assert.equal(rotationProblem('30m', 4, 3600), undefined);
  });
});
