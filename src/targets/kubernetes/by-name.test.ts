import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { byName } from './by-name.js';

const plainName = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz0123456789.-'), maxLength: 8 });
const anyName = fc.oneof(plainName, fc.string({ maxLength: 8 }));

test('byName orders as localeCompare does, plain names or not', () => {
  fc.assert(
    fc.property(anyName, anyName, (a, b) => assert.equal(byName(a, b), Math.sign(a.localeCompare(b)))),
    { numRuns: 20_000 },
  );
  fc.assert(
    fc.property(fc.array(anyName, { maxLength: 20 }), (names) =>
      assert.deepEqual(
        [...names].sort(byName),
        [...names].sort((a, b) => a.localeCompare(b)),
      ),
    ),
  );
});
