import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Io } from '../../cli/io.js';
import { main } from '../../cli/main.js';
import { ExitCode } from '../../errors.js';

const OWN_CEPH =
  'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: one}\nspec:\n  storage:\n    backend: ceph\n';

async function run(args: string[], stdin: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdin: async () => stdin };
  return { code: await main(args, io), out, err };
}

test('Ceph without monitors: valid for osk up, refused by render at the field, with the fix', async () => {
  const valid = await run(['validate', '-f', '-'], OWN_CEPH);
  assert.equal(valid.code, 0, valid.err);
  const r = await run(['render', '-f', '-', '--secrets-file', '/nonexistent/secrets.yaml'], OWN_CEPH);
  assert.equal(r.code, ExitCode.invalidInput, r.err);
  assert.match(r.err, /<stdin>:6:14: spec\.storage\.backend: Ceph on Kubernetes needs storage\.ceph\.monitors/);
  assert.match(r.err, /hint: add spec\.storage\.ceph\.monitors/);
  assert.equal(r.out, '');
});
