/**
 * The plain-data YAML writer against the `yaml` package it stands in for:
 *  - on random JSON values (fast-check, with YAML's awkward strings mixed in): both YAML 1.1 and
 *    1.2 readers get the value back, and the text is `yaml`'s byte for byte wherever `yaml`'s own
 *    text reads back right (see the one deliberate difference in src/plain-yaml.ts);
 *  - on every object `osk render` makes of the examples: `yaml`'s text byte for byte.
 * The seed is fixed so a failure reproduces; FUZZ_SEED and FUZZ_RUNS explore further.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse, stringify } from 'yaml';
import { toPlainYaml } from './plain-yaml.js';
import { renderedExamples } from './targets/kubernetes/testing/examples.js';

const SEED = Number(process.env.FUZZ_SEED ?? 20261206);
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);

const reference = (value: unknown) => stringify(value, { version: '1.1', lineWidth: 0, aliasDuplicateObjects: false });

/** Strings that YAML reads as something else, or that need quoting, escapes or a block. */
const awkward = fc.constantFrom(
  '',
  ' ',
  'yes',
  'No',
  'on',
  'OFF',
  'y',
  'null',
  '~',
  'true',
  '0',
  '-1',
  '0755',
  '0o17',
  '0x1F',
  '0X1F',
  '0b101',
  '1_000',
  '1e3',
  '.5',
  '1.',
  '.inf',
  '-.Inf',
  '.nan',
  '12:30:00',
  '2026-12-06',
  '2026-12-06T10:00:00Z',
  '<<',
  '-',
  '?',
  '- a',
  '? a',
  'a: b',
  'a:',
  'a #b',
  '#c',
  '&x',
  '*x',
  '!x',
  '|',
  '>',
  "'q'",
  '"q"',
  'it\'s "x"',
  '%YAML',
  '---',
  '...',
  'a\n---\nb',
  '@x',
  '`x',
  '[a]',
  '{a}',
  'a,b',
  'tab\there',
  'trail ',
  ' lead',
  'line\n',
  'line\n\n',
  '\nlead',
  '  indented\nblock\n',
  'two\nlines',
  'end\n  \n',
  'nul\u0000',
  'bell\u0007',
  'esc\u001b',
  'del\u007f',
  'c1\u0085',
  'nbsp\u00a0',
  'ls\u2028',
  'lone\ud800',
  'back\\slash',
  'back\\u0000slash',
  'ünïcode ✓',
  'x'.repeat(1100),
);

const text = fc.oneof(
  { weight: 3, arbitrary: awkward },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.oneof(awkward, fc.constantFrom('\n', ' ', '\t', ':', '#', '-')), { maxLength: 6 })
      .map((parts) => parts.join('')),
  },
);

const { value: plainValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    text,
    fc.integer(),
    fc.double(),
    fc.boolean(),
    fc.constant(null),
    tie('array'),
    tie('object'),
  ),
  array: fc.array(tie('value'), { maxLength: 4 }),
  object: fc.dictionary(text, tie('value'), { maxKeys: 4 }),
}));

/**
 * The two deliberate differences (src/plain-yaml.ts): strings Go reads as numbers, which this
 * writer quotes; multi-line values that need quotes, which it writes on one line.
 */
const GO_NUMBER = /^[-+]?0(?:[bB][01_]+|[oO][0-7_]+|[xX][0-9a-fA-F_]+)$/;
const QUOTED_LINES = (s: string) =>
  s.includes('\n') && (/\n[\t ]+$|^[\t\n ]*$/.test(s) || /[\x00-\x08\x0b-\x1f\x7f-\x9f\u{D800}-\u{DFFF}]/u.test(s));
const differsOnPurpose = (value: unknown): boolean =>
  typeof value === 'string'
    ? GO_NUMBER.test(value) || QUOTED_LINES(value)
    : typeof value === 'object' && value !== null
      ? Object.entries(value).some(([k, v]) => GO_NUMBER.test(k) || differsOnPurpose(v))
      : false;

/** What JSON.parse would make of the value: the data the writer is for (no -0, no NaN). */
const asJson = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

test('random plain values: both YAML versions read them back, and the text is yaml’s', () => {
  fc.assert(
    fc.property(plainValue, (raw) => {
      const value = asJson(raw);
      const out = toPlainYaml(value);
      for (const version of ['1.1', '1.2'] as const)
        assert.deepEqual(parse(out, { version }), value, `YAML ${version} reads back:\n${out}`);
      const theirs = reference(value);
      const theirsReadsBack = (['1.1', '1.2'] as const).every((version) => {
        try {
          return JSON.stringify(parse(theirs, { version })) === JSON.stringify(value);
        } catch {
          return false;
        }
      });
      if (theirsReadsBack && !differsOnPurpose(value)) assert.equal(out, theirs);
    }),
    { seed: SEED, numRuns: Math.round(3000 * RUNS) },
  );
});

test('strings Go would read as numbers are quoted, and only those', () => {
  for (const s of ['0o17', '0X1F', '0B1', '-0x1f']) assert.equal(toPlainYaml({ v: s }), `v: "${s}"\n`);
  // A hash that starts like a prefix but has digits Go's prefix does not take stays plain.
  for (const s of ['0bedfba65d395a62', '0o9', '0xg1']) assert.equal(toPlainYaml({ v: s }), `v: ${s}\n`);
});

test('every object osk renders of the examples is written as yaml writes it', () => {
  for (const { name, objects } of renderedExamples())
    for (const obj of objects)
      assert.equal(toPlainYaml(obj), reference(obj), `${name}: ${obj.kind} ${obj.metadata?.name}`);
});
