import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { builtImage, imageFor } from '../catalog/images.js';
import { ExitCode, OskError } from '../errors.js';
import { IMAGE_KEYS } from '../spec/image-keys.js';
import { parseCloudFile } from '../spec/load.js';
import type { CloudFile } from '../spec/schema.js';
import { renderedExamples } from '../targets/kubernetes/testing/examples.js';
import { contentId } from './cache.js';
import { mirrorsOf, sourcesFor } from './host.js';
import { imagePlan, LOCI_BIN, selectImages, suiteOf } from './plan.js';
import { RECIPES } from './recipes.js';

const example = (name: string): CloudFile => parseCloudFile(readFileSync(`examples/${name}`, 'utf8'), name);

/** Every image reference in the rendered objects (containers of pods, Jobs and CronJobs). */
function renderedImages(objects: unknown[]): Set<string> {
  const out = new Set<string>();
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') {
      const o = v as Record<string, unknown>;
      if (typeof o.image === 'string' && Array.isArray(o.command ?? o.args ?? [])) out.add(o.image);
      Object.values(o).forEach(walk);
    }
  };
  walk(objects);
  return out;
}

test('every image the examples render maps to an image of the plan, with a recipe and the built reference', () => {
  for (const { name, objects } of renderedExamples()) {
    const file = example(name);
    const plan = imagePlan(file);
    const byRef = new Map(IMAGE_KEYS.map((k) => [imageFor(k, file.spec), k]));
    const rendered = [...renderedImages(objects)];
    assert.ok(rendered.length >= 10, `${name}: ${rendered.length} images`);
    const keys = new Set(plan.images.map((i) => i.key));
    for (const ref of rendered) {
      const key = byRef.get(ref);
      assert.ok(key, `${name}: ${ref} is the image of no key`);
      assert.ok(keys.has(key), `${name}: ${key} (${ref}) is rendered but not in the plan`);
    }
    assert.equal(
      keys.size,
      new Set(rendered.map((r) => byRef.get(r))).size,
      `${name}: the plan has images no pod runs`,
    );
    for (const i of plan.images) {
      assert.ok(RECIPES[i.key], i.key);
      assert.equal(i.reference, builtImage(i.key, file.spec.release, 'trixie'));
      assert.ok(i.users.length > 0, i.key);
    }
  }
});

test('the paths the catalog names exist in the image definitions: LOCI paths and exporter paths are linked', () => {
  const plan = imagePlan(example('minimal.yaml'));
  // Debian's program directories have the packages' programs (the build checks each command there);
  // any other path the catalog names must be a link of the definition.
  const debianProgram = /^\/(usr\/)?s?bin\/[^/]+$/;
  for (const i of plan.images.filter((x) => !x.unavailable)) {
    for (const cmd of i.commands.filter((c) => c.startsWith('/') && !debianProgram.test(c)))
      assert.ok(i.links[cmd], `${i.key}: ${cmd} is named by the catalog but the image has no link for it`);
    if (RECIPES[i.key].loci) {
      assert.match(i.env.PATH!, new RegExp(`^${LOCI_BIN}:`), `${i.key}: the LOCI directory comes first on PATH`);
      for (const cmd of i.commands.filter((c) => !c.includes('/')))
        assert.ok(i.links[`${LOCI_BIN}/${cmd}`], `${i.key}: ${cmd} has no LOCI link`);
    }
  }
  const keystone = plan.images.find((i) => i.key === 'keystone')!;
  assert.equal(keystone.links[`${LOCI_BIN}/keystone-wsgi-public`], '/usr/bin/keystone-wsgi-public');
  assert.equal(keystone.links[`${LOCI_BIN}/uwsgi`], '/usr/bin/uwsgi-core');
  assert.equal(keystone.env.UWSGI_PLUGIN, 'python3', "Debian's uwsgi loads Python as a plugin");
  const exporter = plan.images.find((i) => i.key === 'mysqld-exporter')!;
  assert.equal(exporter.links['/bin/mysqld_exporter'], '/usr/bin/prometheus-mysqld-exporter');
});

test("an image's packages are the catalog's host packages of its components, and its user the pods' uid", () => {
  const plan = imagePlan(example('minimal.yaml'));
  const get = (key: string) => plan.images.find((i) => i.key === key)!;
  assert.ok(get('keystone').packages.includes('keystone'));
  assert.ok(get('placement').packages.includes('placement-api'));
  assert.ok(get('cinder').packages.includes('cinder-volume'));
  assert.ok(get('nova').packages.includes('nova-conductor'));
  assert.deepEqual(get('memcached').packages, ['memcached']);
  assert.equal(get('memcached').uid, 11211);
  assert.equal(get('memcached').account, 'memcache');
  assert.equal(get('keystone').uid, 42424);
  for (const i of plan.images.filter((x) => !x.unavailable)) assert.ok(i.packages.length > 0, `${i.key} has packages`);
  // The pods of every long-running OpenStack service run as 42424: the image's account has it.
  for (const i of plan.images.filter((x) => RECIPES[x.key].loci && x.key !== 'openstack-client')) {
    assert.equal(i.uid, 42424, i.key);
    assert.ok(i.account, i.key);
  }
});

test('--only: unknown and unbuildable images are bad input; without it, every buildable image', () => {
  const plan = imagePlan(example('minimal.yaml'));
  const all = selectImages(plan, undefined);
  assert.ok(all.length > 5 && all.every((i) => !i.unavailable));
  assert.ok(!all.some((i) => i.key === 'memcached-exporter'));
  assert.ok(all.some((i) => i.key === 'mariadb') && all.some((i) => i.key === 'rabbitmq'));
  assert.deepEqual(
    selectImages(plan, ['memcached', 'keystone']).map((i) => i.key),
    ['memcached', 'keystone'],
  );
  for (const bad of [['nope'], ['memcached-exporter'], ['aws-cli']]) {
    assert.throws(
      () => selectImages(plan, bad),
      (e: unknown) => e instanceof OskError && e.exitCode === ExitCode.invalidInput && e.message.includes(bad[0]!),
    );
  }
});

test('a release Debian has no packages of is bad input naming the ones it has', () => {
  const file = example('minimal.yaml');
  assert.deepEqual(suiteOf(file), { suite: 'trixie', debian: '13' });
  const old = { ...file, spec: { ...file.spec, release: '2024.2' as const } };
  assert.throws(
    () => imagePlan(old),
    (e: unknown) => e instanceof OskError && e.exitCode === ExitCode.invalidInput && /2025\.1/.test(e.hint ?? ''),
  );
});

test('mirrors come from the host apt sources, deb822 or one-line, with Debian defaults', () => {
  const deb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
`;
  assert.deepEqual(mirrorsOf([deb822]), {
    archive: 'http://mirror.example/debian',
    security: 'http://mirror.example/debian-security',
  });
  assert.deepEqual(mirrorsOf(['deb [arch=amd64] http://m.example/d bookworm main\ndeb-src http://x/ y main\n']), {
    archive: 'http://m.example/d',
    security: 'http://deb.debian.org/debian-security',
  });
  assert.match(
    sourcesFor(mirrorsOf([deb822]), 'trixie'),
    /Suites: trixie trixie-updates\n[\s\S]*Suites: trixie-security/,
  );
});

test('content ids do not depend on key order and change with any value', () => {
  assert.equal(contentId({ a: 1, b: [1, 2] }), contentId({ b: [1, 2], a: 1 }));
  assert.notEqual(contentId({ a: 1, b: [1, 2] }), contentId({ a: 1, b: [2, 1] }));
  assert.match(contentId('x'), /^[0-9a-f]{16}$/);
});

test('a cloud with images.source debian runs the images the plan builds, under the same keys', () => {
  const file = example('minimal.yaml');
  const debian: CloudFile = {
    ...file,
    spec: { ...file.spec, images: { source: 'debian', pullPolicy: 'IfNotPresent', pullSecrets: [] } },
  };
  const published = imagePlan(file);
  const built = imagePlan(debian);
  assert.deepEqual(
    built.images.map((i) => [i.key, i.users]),
    published.images.map((i) => [i.key, i.users]),
  );
  for (const i of built.images) assert.equal(imageFor(i.key, debian.spec), i.reference);
});
