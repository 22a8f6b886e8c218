import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IMAGE_KEYS } from '../spec/image-keys.js';
import { parseCloudFile } from '../spec/load.js';
import type { CloudSpec } from '../spec/schema.js';
import { allPinnedImages, builtImage, imageFor } from './images.js';

const spec = (images?: CloudSpec['images']): CloudSpec => {
  const file = parseCloudFile(readFileSync('examples/minimal.yaml', 'utf8'), 'minimal.yaml');
  return { ...file.spec, release: '2025.1', ...(images ? { images } : {}) };
};
const images = (extra: Partial<NonNullable<CloudSpec['images']>>): CloudSpec['images'] => ({
  source: 'published',
  pullPolicy: 'IfNotPresent',
  pullSecrets: [],
  ...extra,
});

test('source published (the default) resolves every key to its pinned image', () => {
  const pinned = allPinnedImages();
  for (const s of [spec(), spec(images({}))])
    for (const key of IMAGE_KEYS) assert.ok(pinned.has(imageFor(key, s)), `${key}: ${imageFor(key, s)}`);
  assert.equal(imageFor('mariadb', spec()), 'docker.io/library/mariadb:11.4.8');
});

test('source debian resolves every key to the reference osk images build gives it', () => {
  const s = spec(images({ source: 'debian' }));
  for (const key of IMAGE_KEYS) assert.equal(imageFor(key, s), builtImage(key, '2025.1', 'trixie'));
  assert.equal(imageFor('keystone', s), 'localhost/osk/keystone:2025.1-trixie');
  assert.match(imageFor('osk', s), /^localhost\/osk:\d/);
});

test('with source debian the registry replaces localhost and overrides still win per key', () => {
  const s = spec(
    images({
      source: 'debian',
      registry: 'registry.example.com:5000/mirror',
      overrides: { nova: 'other.example.com/nova:patched' },
    }),
  );
  assert.equal(imageFor('keystone', s), 'registry.example.com:5000/mirror/osk/keystone:2025.1-trixie');
  assert.equal(imageFor('mariadb', s), 'registry.example.com:5000/mirror/osk/mariadb:2025.1-trixie');
  assert.equal(imageFor('nova', s), 'other.example.com/nova:patched');
  assert.ok(imageFor('osk', s).startsWith('registry.example.com:5000/mirror/osk:'));
});

test('source debian with a release Debian has no packages of is a bug past the loader, not a silent pinned image', () => {
  const s = { ...spec(images({ source: 'debian' })), release: '2025.2' as const };
  assert.throws(() => imageFor('keystone', s), /2025\.2/);
});
