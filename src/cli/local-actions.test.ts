import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { test } from 'node:test';
import { OskError } from '../errors.js';
import { parseCloudFile } from '../spec/load.js';
import { writeSavedCloudFile } from '../state/cloud-file.js';
import { statePaths } from '../state/paths.js';
import { scratchDir } from '../../test/support/scratch.js';
import type { Io } from './io.js';
import { cloudToBringUp } from './local-actions.js';

const io: Io = { stdout: () => {}, stderr: () => {}, stdin: async () => '' };

/** A cloud osk up made before: its state directory with the copy of its file. */
async function madeBefore(name: string, hypervisor?: 'qemu'): Promise<void> {
  const text = `apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: ${name}\nspec:\n  profile: minimal\n${hypervisor ? `  services:\n    nova:\n      hypervisor: ${hypervisor}\n` : ''}`;
  const dir = statePaths(name).root;
  await mkdir(dir, { recursive: true });
  await writeSavedCloudFile(dir, parseCloudFile(text, `${name}.yaml`));
}

const exitOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 0;
  } catch (e) {
    assert.ok(e instanceof OskError, String(e));
    return e.exitCode;
  }
};

test('osk up without -f: the built-in cloud on a new host, the only cloud again after osk down, --cloud among several', async () => {
  process.env.OSK_STATE_DIR = await scratchDir('osk-up-which-');
  assert.equal((await cloudToBringUp({}, io)).metadata.name, 'default', 'nothing here yet: the built-in minimal cloud');

  await madeBefore('lab', 'qemu');
  const again = await cloudToBringUp({}, io);
  assert.equal(again.metadata.name, 'lab', 'osk down then osk up starts the same cloud again');
  assert.equal(again.spec.services?.nova?.hypervisor, 'qemu', 'from the copy of its file');

  await madeBefore('default');
  assert.equal((await cloudToBringUp({}, io)).metadata.name, 'default', 'two clouds and no --cloud: the built-in one');
  assert.equal((await cloudToBringUp({ cloud: 'lab' }, io)).metadata.name, 'lab');
  // The cloud named default is always the built-in file (a newer osk's wins over the copy).
  assert.ok((await cloudToBringUp({ cloud: 'default' }, io)).spec.services?.octavia?.enabled);

  assert.equal(await exitOf(cloudToBringUp({ cloud: 'nope' }, io)), 2, 'no such cloud: bad input');
  assert.equal(await exitOf(cloudToBringUp({ cloud: 'lab', filename: 'x.yaml' }, io)), 2, '-f and --cloud: bad input');
});
