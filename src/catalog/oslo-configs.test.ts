/**
 * Every generated oslo config file, for a spread of cloud files, checked against the REAL option
 * definitions of Debian 12's OpenStack Zed packages with oslo-config-validator (see
 * test/support/oslo-validator.ts and scripts/install-oslo-validator.sh). Catches misspelled
 * options, options in the wrong section and options newer than Zed that lack a `since:` gate.
 * Only option and section names are checked, not values.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ALL_KINDS, collectCases, fileName, type Kind, writeParts } from '../../test/support/oslo-cases.js';
import { osloValidatorAvailable, validateOsloFiles } from '../../test/support/oslo-validator.js';

const available = osloValidatorAvailable();
const SKIP_REASON = 'oslo-config-validator not installed (run scripts/install-oslo-validator.sh as root)';

const { cases, unknownKinds } = collectCases('zed');
const validatedKinds = new Set<Kind>();
let dir = '';
// Each test runs two validator processes (main + secrets) and is CPU-bound (~0.7 s of Python each).
const CONCURRENCY = Math.max(1, Math.floor(availableParallelism() / 2));

describe('generated oslo configs pass oslo-config-validator (Debian 12 / Zed)', { concurrency: CONCURRENCY }, () => {
  let started = 0;
  before(async () => {
    started = Date.now();
    if (available) dir = await mkdtemp(join(tmpdir(), 'osk-oslo-configs-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
    if (available)
      console.log(
        `# oslo-config-validator: ${cases.length} distinct files (main + secrets each) in ${Date.now() - started} ms`,
      );
  });

  test('every validate kind of the catalog is one the validator harness knows', () => {
    assert.deepEqual(
      unknownKinds,
      [],
      `unknown validate kinds (add them to test/support/oslo-namespaces.json):\n${unknownKinds.join('\n')}`,
    );
  });

  for (const c of cases) {
    test(`${c.file} [${c.kind}] (${c.clouds.join('; ')})`, async (t) => {
      if (!available) return t.skip(SKIP_REASON);
      const files = await writeParts(dir, fileName(c), c.main, c.secrets);
      const r = await validateOsloFiles(c.kind, files);
      validatedKinds.add(c.kind);
      // Valid in Zed, but deprecated for removal: worth knowing, not a failure.
      for (const w of r.warnings) t.diagnostic(`warning: ${w.slice(w.indexOf(': [') + 2)}`);
      assert.ok(
        r.ok,
        `${c.file} from ${c.clouds.join(', ')}:\n  ${r.errors.join('\n  ')}\n--- validator output ---\n${r.output}`,
      );
    });
  }
});

describe('oslo validation coverage and sensitivity', () => {
  test('at least one file of each kind was validated', (t) => {
    if (!available) return t.skip(SKIP_REASON);
    const missing = ALL_KINDS.filter((k) => !validatedKinds.has(k));
    assert.deepEqual(missing, [], `no generated file was validated for: ${missing.join(', ')}`);
  });

  test('a misspelled option injected into a generated nova.conf fails', async (t) => {
    if (!available) return t.skip(SKIP_REASON);
    const nova = cases.find((c) => c.kind === 'nova.conf' && c.file === 'nova/nova.conf');
    assert.ok(nova, 'no generated nova/nova.conf');
    // A real option of the file, misspelled in place, in its own section.
    const m = /^\[(?!DEFAULT\])([^\]]+)\]\n([a-z_]+) = /m.exec(nova.main);
    assert.ok(m?.[1] && m[2], 'nova.conf has no non-DEFAULT section with an option');
    const [, section, option] = m;
    const typo = option.replace(/^(.)(.)/, '$1$2$2'); // auth_strategy -> auuth_strategy
    const broken = nova.main.replace(`[${section}]\n`, `[${section}]\n${typo} = 1\n`);
    const own = await mkdtemp(join(tmpdir(), 'osk-oslo-configs-'));
    try {
      const r = await validateOsloFiles('nova.conf', await writeParts(own, 'nova.conf', broken, nova.secrets));
      assert.equal(r.ok, false, `the validator accepted [${section}] ${typo}:\n${r.output}`);
      assert.ok(
        r.errors.some((e) => e.includes(`[${section}] ${typo}: unknown option`)),
        `expected an error for [${section}] ${typo}, got:\n  ${r.errors.join('\n  ')}`,
      );
      assert.equal(r.errors.length, 1, `only the injected option should fail:\n  ${r.errors.join('\n  ')}`);
    } finally {
      await rm(own, { recursive: true, force: true });
    }
  });
});
