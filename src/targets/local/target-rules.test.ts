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

test('osk up refuses Ceph and LVM at load time, at the field, and accepts local storage', () => {
  assert.doesNotThrow(() => parseCloudFile(CEPH, 'ceph.yaml'), 'a valid file for osk apply');
  assert.throws(
    () => parseCloudFile(CEPH, 'ceph.yaml', localTargetProblems),
    (e: unknown) =>
      e instanceof SpecError &&
      e.exitCode === ExitCode.invalidInput &&
      /ceph\.yaml:8:14: spec\.storage\.backend: osk up cannot use the ceph storage backend/.test(e.message) &&
      /hint: remove spec\.storage\.backend/.test(e.message),
  );
  assert.throws(
    () => parseCloudFile(cloud('    backend: lvm\n'), 'lvm.yaml', localTargetProblems),
    /the lvm storage backend/,
  );
  assert.doesNotThrow(() => parseCloudFile(cloud('    backend: local\n'), 'local.yaml', localTargetProblems));
});

test('osk up -f with a Ceph cloud file: exit 2 with the problem, before touching the host', async () => {
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
  assert.match(err, /spec\.storage\.backend: osk up cannot use the ceph storage backend/);
});
