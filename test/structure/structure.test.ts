/**
 * The shape of the code a newcomer reads: small files and functions (measure.ts says how they
 * are counted), and one version. Import rules and formatting are checked by depcruise and
 * Biome in the same test command.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { VERSION } from '../../src/version.js';
import { measure, sourceFiles } from './measure.js';

const MAX_FILE_LINES = 400;
const MAX_FUNCTION_LINES = 80;

test(`no file in src/ has more than ${MAX_FILE_LINES} lines of code, no function more than ${MAX_FUNCTION_LINES}`, () => {
  const over: string[] = [];
  for (const f of sourceFiles('src')) {
    const m = measure('.', f);
    if (m.lines > MAX_FILE_LINES) over.push(`${m.file}: ${m.lines} lines`);
    for (const fn of m.functions)
      if (fn.lines > MAX_FUNCTION_LINES) over.push(`${m.file}:${fn.line} ${fn.name}: ${fn.lines} lines`);
  }
  assert.deepEqual(over, [], `split these:\n${over.join('\n')}`);
});

test('the measure counts code, not blank or comment lines, and sees nested functions', () => {
  const m = measure('.', 'test/structure/measure.ts');
  assert.ok(
    m.functions.some((f) => f.name === 'visit'),
    'the nested arrow `visit` is found',
  );
  const text = readFileSync('test/structure/measure.ts', 'utf8').split('\n');
  assert.ok(m.lines < text.length, 'blank and comment lines are not counted');
});

test("src/version.ts says package.json's version", () => {
  const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { version: string };
  assert.equal(VERSION, pkg.version);
});
