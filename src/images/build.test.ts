/**
 * A real build (as root, with debootstrap, umoci and skopeo from scripts/install-test-tools.sh):
 * the memcached image of the minimal example, from a fresh cache, into an OCI archive whose
 * layers are read back; then the same build again, which must come from the cache in seconds.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Reporter } from '../reporter.js';
import { parseCloudFile } from '../spec/load.js';
import { buildImages } from './build.js';
import { missingTools } from './host.js';
import { imagePlan, selectImages } from './plan.js';

const TOOLS = ['debootstrap', 'umoci', 'skopeo', 'chroot', 'mount'] as const;

async function skipReason(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'needs root (debootstrap, chroot, mounts)';
  const missing = await missingTools(TOOLS);
  if (missing.length) return `needs ${missing.join(', ')} (bash scripts/install-test-tools.sh installs them)`;
  return undefined;
}

function quietReporter(lines: string[]): Reporter {
  return {
    begin: (id, what) => void lines.push(`${id}: ${what}`),
    waiting: () => undefined,
    done: (id, outcome, detail) => void lines.push(`${id} ${outcome} ${detail ?? ''}`),
    fail: (id, message) => void lines.push(`${id} failed: ${message}`),
    note: (line) => void lines.push(line),
    inFlight: () => [],
    close: () => undefined,
  };
}

interface Descriptor {
  digest: string;
  annotations?: Record<string, string>;
}

/** The archive's image: its name, config, and the files of each layer. */
async function readArchive(file: string, dir: string) {
  execFileSync('tar', ['-xf', file, '-C', dir], { stdio: 'ignore' });
  const blob = (d: string) => join(dir, 'blobs', ...d.split(':'));
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const manifest = JSON.parse(await readFile(blob(index.manifests[0]!.digest), 'utf8')) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  const config = JSON.parse(await readFile(blob(manifest.config.digest), 'utf8')) as {
    config: { User?: string; Env?: string[] };
  };
  const files = manifest.layers.map((l) =>
    execFileSync('tar', ['-tzf', blob(l.digest)], { maxBuffer: 64 << 20 })
      .toString()
      .split('\n'),
  );
  const fileOf = (layer: number, path: string) =>
    execFileSync('tar', ['-xzOf', blob(manifest.layers[layer]!.digest), path]).toString();
  return { name: index.manifests[0]!.annotations?.['org.opencontainers.image.ref.name'], config, files, fileOf };
}

test('images build: memcached from Debian trixie into an OCI archive, then again from the cache', async (t) => {
  const reason = await skipReason();
  if (reason) {
    t.diagnostic(`skipped: ${reason}`);
    console.log(`# images build test skipped: ${reason}`);
    t.skip(reason);
    return;
  }
  const work = await mkdtemp(join(tmpdir(), 'osk-images-'));
  t.after(() => rm(work, { recursive: true, force: true }));
  const env = { ...process.env, OSK_CACHE_DIR: join(work, 'cache') };
  const file = parseCloudFile(await readFile('examples/minimal.yaml', 'utf8'), 'minimal.yaml');
  const plan = imagePlan(file);
  const images = selectImages(plan, ['memcached']);
  const lines: string[] = [];
  const opts = { reporter: quietReporter(lines), outputDir: join(work, 'out'), env };

  const t0 = Date.now();
  const first = await buildImages(plan, images, opts);
  const cold = (Date.now() - t0) / 1000;
  assert.equal(first.base.built, true);
  assert.equal(first.images[0]!.cached, false);
  const archive = first.images[0]!.archive!;
  assert.equal(archive, join(work, 'out', 'memcached.tar'));

  const image = await readArchive(archive, await mkdtemp(join(work, 'unpacked-')));
  assert.equal(image.name, 'localhost/osk/memcached:2025.1-trixie');
  assert.equal(image.config.config.User ?? '', '', 'no USER: root unless the pod says (as the published images)');
  assert.equal(image.files.length, 2, 'the base layer and the memcached layer');
  assert.ok(image.files[0]!.includes('usr/bin/apt-get'), 'the base is a Debian root');
  assert.ok(
    !image.files[0]!.some((f) => f.startsWith('var/lib/apt/lists/') && f.endsWith('Packages')),
    'no apt indexes',
  );
  assert.ok(image.files[1]!.includes('usr/bin/memcached'), 'memcached is in its own layer');
  assert.ok(image.files[1]!.includes('etc/memcached.conf'));
  assert.ok(!image.files[1]!.some((f) => f.startsWith('usr/bin/apt')), 'the layer holds only what the install changed');
  assert.ok(!image.files[1]!.includes('usr/sbin/policy-rc.d'), 'no build-time file is left');
  assert.match(image.fileOf(1, 'etc/passwd'), /^memcache:x:11211:11211:/m);

  const t1 = Date.now();
  const second = await buildImages(plan, images, opts);
  const warm = (Date.now() - t1) / 1000;
  assert.equal(second.base.built, false);
  assert.equal(second.images[0]!.cached, true);
  assert.equal(second.images[0]!.digest, first.images[0]!.digest, 'the same image');
  assert.ok(warm < 30, `a rebuild with nothing changed took ${warm} s`);
  t.diagnostic(
    `cold ${cold.toFixed(1)} s, warm ${warm.toFixed(1)} s; layers ${first.images[0]!.layers.join(' + ')} bytes`,
  );
});
