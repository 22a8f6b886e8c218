/**
 * The oslo config files rendered for 2025.1 (what the Kubernetes target runs by default), checked
 * against 2025.1's own option definitions: Debian 13's OpenStack packages, installed in a root of
 * their own (test/support/oslo-root.ts, cached beside the images), whose oslo-config-generator
 * lists the options the validator then checks every name against. Catches an option Zed has and
 * 2025.1 dropped or renamed, which the Zed check cannot see. As root (debootstrap, chroot); the
 * first run builds the root (minutes), later runs reuse it.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { ALL_KINDS, collectCases, fileName, type Kind, writeParts } from '../../test/support/oslo-cases.js';
import { osloValidatorAvailable, prepareOsloRelease, validateOsloFiles } from '../../test/support/oslo-validator.js';

const ROOT = process.getuid?.() === 0;
const skipReason = !osloValidatorAvailable()
  ? 'oslo-config-validator not installed (run scripts/install-oslo-validator.sh as root)'
  : !ROOT
    ? 'building the Debian 13 root needs root (debootstrap, chroot)'
    : undefined;

const { cases } = collectCases('2025.1');
const validatedKinds = new Set<Kind>();
let dir = '';
const CONCURRENCY = Math.max(1, Math.floor(availableParallelism() / 2));

describe('generated 2025.1 oslo configs pass the option definitions of Debian 13 (2025.1)', {
  concurrency: CONCURRENCY,
}, () => {
  before(
    async () => {
      if (skipReason) return;
      await prepareOsloRelease('2025.1');
      dir = await mkdtemp(join(tmpdir(), 'osk-oslo-2025-'));
    },
    { timeout: 45 * 60_000 },
  );
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  for (const c of cases) {
    test(`${c.file} [${c.kind}] (${c.clouds.join('; ')})`, async (t) => {
      if (skipReason) return t.skip(skipReason);
      const files = await writeParts(dir, fileName(c), c.main, c.secrets);
      const r = await validateOsloFiles(c.kind, files, { release: '2025.1' });
      validatedKinds.add(c.kind);
      for (const w of r.warnings) t.diagnostic(`warning: ${w.slice(w.indexOf(': [') + 2)}`);
      assert.ok(
        r.ok,
        `${c.file} from ${c.clouds.join(', ')}:\n  ${r.errors.join('\n  ')}\n--- validator output ---\n${r.output}`,
      );
    });
  }
});

describe('2025.1 coverage', () => {
  test('a file of each kind was checked', (t) => {
    if (skipReason) return t.skip(skipReason);
    assert.deepEqual(
      ALL_KINDS.filter((k) => !validatedKinds.has(k)),
      [],
    );
  });
});
