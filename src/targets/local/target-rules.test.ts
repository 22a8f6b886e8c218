import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { main } from '../../cli/main.js';
import { ExitCode, SpecError } from '../../errors.js';
import { parseCloudFile } from '../../spec/load.js';
import { localTargetProblems } from './target-rules.js';
import { scratchDir } from '../../../test/support/scratch.js';

const cloud = (storage: string) =>
  `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: one\nspec:\n  profile: minimal\n  storage:\n${storage}`;
const CEPH = cloud('    backend: ceph\n    ceph:\n      monitors: ["10.0.0.1:6789"]\n');

test("osk up refuses LVM and another Ceph cluster's monitors at load time, at the field, and accepts its own Ceph and local storage", () => {
  assert.doesNotThrow(() => parseCloudFile(CEPH, 'ceph.yaml'), 'a valid file for osk apply');
  assert.throws(
    () => parseCloudFile(CEPH, 'ceph.yaml', localTargetProblems),
    (e: unknown) =>
      e instanceof SpecError &&
      e.exitCode === ExitCode.invalidInput &&
      /ceph\.yaml:10:17: spec\.storage\.ceph\.monitors: osk up runs a Ceph cluster of its own/.test(e.message) &&
      /hint: remove spec\.storage\.ceph\.monitors/.test(e.message),
  );
  assert.doesNotThrow(() => parseCloudFile(cloud('    backend: ceph\n'), 'own.yaml', localTargetProblems));
  assert.doesNotThrow(() =>
    parseCloudFile(
      cloud('    backend: ceph\n    ceph: {user: osk, pools: {volumes: vol}}\n'),
      'own.yaml',
      localTargetProblems,
    ),
  );
  assert.throws(
    () => parseCloudFile(cloud('    backend: lvm\n'), 'lvm.yaml', localTargetProblems),
    /the lvm storage backend/,
  );
  assert.doesNotThrow(() => parseCloudFile(cloud('    backend: local\n'), 'local.yaml', localTargetProblems));
});

test("osk up -f with another Ceph cluster's monitors: exit 2 with the problem, before touching the host", async () => {
  const dir = await scratchDir('osk-target-rules-');
  const file = join(dir, 'ceph.yaml');
  await writeFile(file, CEPH);
  let err = '';
  const code = await main(['up', '-f', file], {
    stdout: () => undefined,
    stderr: (s: string) => {
      err += s;
    },
    stdin: async () => '',
  });
  assert.equal(code, ExitCode.invalidInput, err);
  assert.match(err, /spec\.storage\.ceph\.monitors: osk up runs a Ceph cluster of its own/);
});
