/**
 * The guest image's cache from empty: two builds at once make one image (the second waits for the
 * lock, then finds it), a work directory a killed build left is cleared, and a third call only
 * asks apt for the versions. Needs the Debian mirror of the host's apt sources; no root.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { missingTools } from '../host.js';
import { ensureGuestImage } from './build.js';

test('two guest image builds at once in an empty cache make one image', async (t) => {
  const missing = await missingTools(['apt-get', 'apt-cache', 'dpkg-deb', 'mkfs.fat', 'mcopy', 'syslinux', 'qemu-img']);
  if (missing.length) return t.skip(`needs ${missing.join(', ')} (bash scripts/install-test-tools.sh installs them)`);
  const cache = await mkdtemp(join(tmpdir(), 'osk-guest-cache-'));
  t.after(() => rm(cache, { recursive: true, force: true }));
  const env = { ...process.env, OSK_CACHE_DIR: cache };
  await mkdir(join(cache, 'guest', 'work-999999999', 'tree'), { recursive: true });
  const [a, b] = await Promise.all([ensureGuestImage({ env }), ensureGuestImage({ env })]);
  assert.deepEqual([a.built, b.built].sort(), [false, true], 'one built it, the other found it');
  assert.equal(a.key, b.key);
  const built = a.built ? a : b;
  t.diagnostic(
    `cold build (apt lists and packages downloaded) ${built.seconds.toFixed(1)} s: ${built.packages.length} packages, kernel ${built.kernelVersion}`,
  );
  for (const f of [a.disk, a.kernel, a.initrd]) assert.ok(existsSync(f), f);
  assert.deepEqual(
    (await readdir(join(cache, 'guest'))).sort(),
    ['apt', 'debs', a.key].sort(),
    'no work directory left',
  );
  const again = await ensureGuestImage({ env });
  assert.equal(again.built, false);
  assert.equal(again.dir, a.dir);
  t.diagnostic(`warm: ${again.seconds.toFixed(1)} s (apt-get update and the versions)`);
});
