/**
 * Every object osk renders passes the schema of its kind (testing/schema.ts), here for the
 * examples. `osk render` itself no longer checks this at run time (k8s.ts says why); the fuzz test
 * (src/spec/fuzz.test.ts) checks the objects of random valid cloud files, and
 * backup/render.test.ts those of the backup variants.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderedExamples } from './examples.js';
import { schemaProblems, validateKube } from './schema.js';

test('every object of every example passes its schema', () => {
  for (const { name, objects } of renderedExamples()) {
    assert.ok(objects.length > 100, name);
    assert.deepEqual(schemaProblems(objects), [], name);
  }
});

test('the check is real: a broken object is refused, and a kind without a schema is an error', () => {
  const { objects } = renderedExamples().find((e) => e.name === 'minimal.yaml')!;
  const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment')!) as unknown as {
    spec: { replicas: unknown };
  };
  deployment.spec.replicas = 'three';
  assert.throws(() => validateKube(deployment as never), /replicas/);
  assert.throws(
    () => validateKube({ apiVersion: 'example.com/v1', kind: 'Gadget' }),
    /no schema for example\.com\/v1 Gadget/,
  );
});
