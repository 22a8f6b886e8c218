import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { builtImage, imageFor, inRegistry } from '../catalog/images.js';
import { ExitCode, OskError } from '../errors.js';
import { IMAGE_KEYS } from '../spec/image-keys.js';
import { parseCloudFile } from '../spec/load.js';
import type { CloudFile } from '../spec/schema.js';
import { renderedExamples } from '../targets/kubernetes/testing/examples.js';
import { contentId } from './cache.js';
import { mirrorsOf, sourcesFor } from './host.js';
import { imagePlan, LOCI_BIN, pushReferences, selectImages, suiteOf } from './plan.js';
import { diagnosePush } from './push.js';
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

test('--push REGISTRY writes where the cloud with images.registry REGISTRY pulls; any other cloud is refused (exit 2)', () => {
  const file = example('minimal.yaml');
  type Images = NonNullable<CloudFile['spec']['images']>;
  const withImages = (images: Pick<Images, 'source' | 'registry' | 'overrides'>): CloudFile => ({
    ...file,
    spec: { ...file.spec, images: { pullPolicy: 'IfNotPresent', pullSecrets: [], ...images } },
  });
  for (const registry of ['10.250.1.1:5000', 'registry.example.com/osk', 'registry.example.com:443/a/b/']) {
    const cloud = withImages({ source: 'debian', registry });
    const images = selectImages(imagePlan(cloud), undefined);
    const refs = pushReferences(cloud, images, registry, 'cloud.yaml');
    assert.deepEqual(
      refs,
      images.map((i) => imageFor(i.key, cloud.spec)),
      `${registry}: every pushed reference is the one the cloud renders`,
    );
    assert.ok(refs.every((r) => r.startsWith(registry.replace(/\/$/, '')) && !r.includes('localhost')));
  }
  assert.equal(inRegistry('localhost/osk:0.1.0', 'r.example.com/x'), 'r.example.com/x/osk:0.1.0');

  const refusal = (cloud: CloudFile, registry: string): OskError => {
    const images = selectImages(imagePlan(cloud), ['memcached', 'keystone']);
    try {
      pushReferences(cloud, images, registry, 'cloud.yaml');
    } catch (e) {
      assert.ok(e instanceof OskError);
      assert.equal(e.exitCode, ExitCode.invalidInput);
      return e;
    }
    assert.fail(`--push ${registry} was accepted`);
  };
  const other = refusal(withImages({ source: 'debian', registry: 'a.example.com' }), 'b.example.com');
  assert.match(
    other.message,
    /memcached: the cloud runs a\.example\.com\/osk\/memcached:2025\.1-trixie, the push would write b\.example\.com\/osk\/memcached/,
  );
  assert.equal(other.hint, 'set spec.images.registry: b.example.com in cloud.yaml');
  const published = refusal(withImages({ source: 'published', registry: 'b.example.com' }), 'b.example.com');
  assert.equal(published.hint, 'set spec.images.source: debian in cloud.yaml');
  const overridden = refusal(
    withImages({ source: 'debian', registry: 'b.example.com', overrides: { keystone: 'mine.example.com/keystone:1' } }),
    'b.example.com',
  );
  assert.match(overridden.message, /keystone: the cloud runs mine\.example\.com\/keystone:1/);
  assert.doesNotMatch(overridden.message, /memcached/);
  assert.match(overridden.hint ?? '', /images\.overrides names keystone/);
});

test("a failed push is told apart from skopeo's words: plain HTTP, certificate, unreachable, credentials", () => {
  const o = { registry: 'r.example.com:5000/osk', insecure: false };
  // skopeo 1.9's messages (Debian 12), as seen against the test registries.
  const kinds = [
    ['Get "https://r.example.com:5000/v2/": http: server gave HTTP response to HTTPS client', 'plain-http'],
    [
      'Get "https://r.example.com:5000/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      'certificate',
    ],
    [
      'pinging container registry r.example.com:5000: Get "https://r.example.com:5000/v2/": dial tcp 10.0.0.9:5000: connect: connection refused',
      'unreachable',
    ],
    ['dial tcp: lookup r.example.com on 10.0.0.1:53: no such host', 'unreachable'],
    [
      'checking whether a blob sha256:da42 exists in r.example.com:5000/osk/memcached: unauthorized: authentication required',
      'credentials',
    ],
    ['Copying blob sha256:4010403f\nwriting manifest: something else broke', 'other'],
  ] as const;
  for (const [text, kind] of kinds) assert.equal(diagnosePush(text, o).kind, kind, text);
  assert.match(diagnosePush(kinds[0][0], o).why, /^the registry r\.example\.com:5000 speaks plain HTTP/);
  assert.match(diagnosePush(kinds[4][0], { ...o, authfile: '/a.json' }).hint ?? '', /in \/a\.json/);
});

test("a cloud on an existing Ceph: the images that open RBD get Ceph's client libraries, none gets the cluster's daemons", () => {
  const file = parseCloudFile(
    `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata: {name: rbd}
spec:
  profile: minimal
  release: "2025.1"
  storage: {backend: ceph, ceph: {monitors: ["10.0.0.1:3300"]}}
`,
    'cloud.yaml',
  );
  const plan = imagePlan(file);
  const packages = (key: string) => plan.images.find((i) => i.key === key)?.packages ?? [];
  for (const key of ['cinder', 'glance', 'nova']) assert.ok(packages(key).includes('python3-rbd'), key);
  for (const i of plan.images)
    for (const daemon of ['ceph-mon', 'ceph-mgr', 'ceph-osd'])
      assert.ok(!i.packages.includes(daemon), `${i.key}: ${daemon}`);
});
