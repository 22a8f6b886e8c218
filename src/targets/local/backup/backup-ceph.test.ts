/**
 * A cloud whose images and volumes are in its own Ceph cluster is refused by osk backup, before
 * anything is written: a backup without the cluster's data could not be restored.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExitCode, OskError } from '../../../errors.js';
import { parseCloudFile } from '../../../spec/load.js';
import { writeSavedCloudFile } from '../../../state/cloud-file.js';
import { statePaths } from '../../../state/paths.js';
import { scratchDir } from '../../../../test/support/scratch.js';
import { backupCloud } from './backup.js';

test('osk backup refuses a cloud on its own Ceph cluster, saying why and what to use, and writes nothing', async () => {
  const state = await scratchDir('osk-backup-ceph-');
  const before = process.env.OSK_STATE_DIR;
  process.env.OSK_STATE_DIR = state;
  try {
    const file = parseCloudFile(
      'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {name: rbd}\nspec:\n  storage:\n    backend: ceph\n',
    );
    const paths = statePaths('rbd');
    await mkdir(paths.root, { recursive: true });
    await writeSavedCloudFile(paths.root, file);
    const to = join(state, 'backup');
    await assert.rejects(
      backupCloud('rbd', { to, log: () => undefined }),
      (e: unknown) =>
        e instanceof OskError &&
        e.exitCode === ExitCode.invalidInput &&
        /its own Ceph cluster, which osk backup does not copy yet/.test(e.message) &&
        /openstack volume backup create/.test(e.hint ?? ''),
    );
    assert.ok(!existsSync(to), 'no backup directory');
  } finally {
    if (before === undefined) delete process.env.OSK_STATE_DIR;
    else process.env.OSK_STATE_DIR = before;
  }
});
