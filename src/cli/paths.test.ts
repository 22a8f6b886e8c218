import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { ExitCode, OskError } from '../errors.js';
import { fileSystemError } from './paths.js';
import { scratchDir } from '../../test/support/scratch.js';

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  assert.fail('expected a failure');
}

test('a file-system error with a path becomes exit 2 naming the flag it is below and what was wrong', async () => {
  const base = await scratchDir('osk-fserr-');
  const file = join(base, 'state');
  await writeFile(file, 'x');
  const uses = [{ label: 'OSK_STATE_DIR', path: file }];

  const notDir = await fileSystemError(await failure(readFile(join(file, 'demo', 'secrets.yaml'))), uses);
  assert.ok(notDir instanceof OskError);
  assert.equal(notDir.exitCode, ExitCode.invalidInput);
  assert.match(notDir.message, new RegExp(`^OSK_STATE_DIR ${file}: ${file} is a file; expected a directory`));

  const isDir = await fileSystemError(await failure(writeFile(base, 'x')), []);
  assert.equal(isDir?.exitCode, ExitCode.invalidInput);
  assert.match(isDir!.message, /is a directory; expected a file/);

  const missing = await fileSystemError(await failure(readFile(join(base, 'nope'))), [
    { label: '--secrets-file', path: join(base, 'nope') },
  ]);
  assert.match(missing!.message, /^--secrets-file .*nope: .*nope does not exist/);
});

test('a file-system error without a path is still bad input, naming the paths in play; anything else is not translated', async () => {
  const pathless = Object.assign(new Error('EISDIR: illegal operation on a directory, read'), {
    code: 'EISDIR',
    syscall: 'read',
    errno: -21,
  });
  const e = await fileSystemError(pathless, [{ label: 'OSK_STATE_DIR', path: '/s' }]);
  assert.equal(e?.exitCode, ExitCode.invalidInput);
  assert.match(e!.message, /a directory is where osk expected a file .*OSK_STATE_DIR \/s/);

  const full = Object.assign(new Error('ENOSPC'), { code: 'ENOSPC', syscall: 'write', path: '/s/x' });
  assert.equal((await fileSystemError(full, []))?.exitCode, ExitCode.failed, 'a full disk is a failure, not bad input');
  assert.equal(await fileSystemError(new Error('boom'), []), undefined);
  assert.equal(await fileSystemError(new OskError('already clear'), []), undefined);
});
