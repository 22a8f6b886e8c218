/** Temporary directories a test file makes, removed when its tests are done. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';

const made: string[] = [];
// Registered when a test file first imports this module, at its top level: a hook of the file's
// root, run after all of its tests (registered from inside a test it would belong to that test).
after(() => Promise.all(made.map((d) => rm(d, { recursive: true, force: true }))));

/** A new directory under the system's tmpdir, removed (with what is in it) after the file's tests. */
export async function scratchDir(prefix: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), prefix));
  made.push(d);
  return d;
}
