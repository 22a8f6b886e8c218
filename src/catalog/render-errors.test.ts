/**
 * A value that would break a generated file (a newline in an INI value, a Ceph user that would
 * open a section) reaches the CLI as bad input: exit 2, one message that says where the value
 * was going, never a stack trace. Load-time validation in src/spec may refuse the same values
 * first; either way the answer is exit 2 without a stack trace.
 */
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Io } from '../cli/io.js';
import { main } from '../cli/main.js';

async function run(args: string[], stdin: string): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const io: Io = { stdout: (s) => void (out += s), stderr: (s) => void (err += s), stdin: async () => stdin };
  return { code: await main(args, io), out, err };
}

const cloud = (storage: string) =>
  `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: broken}\nspec:\n  storage:\n${storage}\n`;

const CASES: { what: string; yaml: string; says: RegExp }[] = [
  {
    what: 'a newline in the LVM volume group',
    yaml: cloud('    backend: lvm\n    lvm: {volumeGroup: "vg\\n[DEFAULT]\\ndebug = true"}'),
    says: /volume_group|volumeGroup/,
  },
  {
    what: 'a newline in a Ceph pool',
    yaml: cloud('    backend: ceph\n    ceph: {monitors: ["10.0.0.1:6789"], pools: {volumes: "v\\nrbd_user = admin"}}'),
    says: /rbd_pool|pools/,
  },
  {
    what: 'a Ceph user that would open a section',
    yaml: cloud('    backend: ceph\n    ceph: {monitors: ["10.0.0.1:6789"], user: "x]\\n[global"}'),
    says: /ceph\.user|user/,
  },
];

for (const c of CASES) {
  test(`${c.what}: validate, plan and render exit 2 naming where it was going, no stack trace`, async () => {
    const secrets = join(await mkdtemp(join(tmpdir(), 'osk-render-errors-')), 'secrets.yaml');
    for (const args of [
      ['validate', '-f', '-'],
      ['plan', '-f', '-'],
      ['render', '-f', '-', '--secrets-file', secrets],
    ]) {
      const r = await run(args, c.yaml);
      assert.equal(r.code, 2, `${args[0]}: ${r.err}`);
      assert.match(r.err, /^error: /, args[0]);
      assert.match(r.err, c.says, args[0]);
      assert.doesNotMatch(r.err, /\n\s+at .*:\d+:\d+/, `${args[0]} printed a stack trace:\n${r.err}`);
      assert.equal(r.out, '', `${args[0]} wrote output for a file it refused`);
    }
  });
}
