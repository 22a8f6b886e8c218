import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inventoryGrows, type ObjectRef } from './inventory.js';

const ref = (kind: string, name: string, namespace?: string): ObjectRef => ({
  apiVersion: 'v1',
  kind,
  name,
  ...(namespace ? { namespace } : {}),
});

test('the inventory grows only when an object is new to it', () => {
  const previous = [ref('ConfigMap', 'a', 'ns'), ref('Service', 'b', 'ns'), ref('Namespace', 'ns')];
  // The same objects in another order, or fewer (what left is pruned at the end): nothing to write first.
  assert.equal(inventoryGrows(previous, [...previous].reverse()), false);
  assert.equal(inventoryGrows(previous, previous.slice(1)), false);
  // A new object, or the same name as another kind or in another namespace: written first.
  assert.equal(inventoryGrows(previous, [...previous, ref('ConfigMap', 'c', 'ns')]), true);
  assert.equal(inventoryGrows(previous, [ref('Secret', 'a', 'ns')]), true);
  assert.equal(inventoryGrows(previous, [ref('ConfigMap', 'a', 'other')]), true);
  // A first apply: no inventory yet.
  assert.equal(inventoryGrows([], [ref('Namespace', 'ns')]), true);
});
