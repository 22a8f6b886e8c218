import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { SecretStore } from '../../state/secret-store.js';
import { parseCloudFile } from '../../spec/load.js';
import { allObjects, type KubeObject } from './objects.js';
import { render } from './render.js';
import type { Applied } from './apply-object.js';
import type { KubeApi } from './kube-api.js';
import { beginClaims, templateClaims } from './template-claims.js';

type Claim = {
  metadata: { name: string; namespace: string; labels: Record<string, string>; annotations?: Record<string, string> };
  spec: Record<string, unknown>;
};

const set = (spec: Record<string, unknown>, namespace = 'cloud'): KubeObject =>
  ({
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'db', ...(namespace ? { namespace } : {}) },
    spec: {
      selector: { matchLabels: { app: 'db', 'osk.dev/component': 'db' } },
      volumeClaimTemplates: [
        {
          metadata: { name: 'data', labels: { app: 'template', tier: 'storage' }, annotations: { a: 'b' } },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } },
        },
      ],
      ...spec,
    },
  }) as KubeObject;

test("a StatefulSet's claims are named and labelled as its controller makes them, one per pod", () => {
  const claims = templateClaims(set({ replicas: 3 })) as unknown as Claim[];
  assert.deepEqual(
    claims.map((c) => c.metadata.name),
    ['data-db-0', 'data-db-1', 'data-db-2'],
  );
  for (const c of claims) {
    assert.equal(c.metadata.namespace, 'cloud');
    // The selector's labels over the template's, as the controller merges them.
    assert.deepEqual(c.metadata.labels, { app: 'db', tier: 'storage', 'osk.dev/component': 'db' });
    assert.deepEqual(c.metadata.annotations, { a: 'b' });
    assert.deepEqual(c.spec, { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } });
  }
  // Each claim has its own copy: what is done to one is not done to the set or the others.
  (claims[0]!.spec.resources as { requests: { storage: string } }).requests.storage = '1Gi';
  assert.equal((claims[1]!.spec.resources as { requests: { storage: string } }).requests.storage, '5Gi');
});

test('replicas default to one pod, ordinals start where the set says; no templates, no claims', () => {
  assert.deepEqual(
    templateClaims(set({})).map((c) => c.metadata?.name),
    ['data-db-0'],
  );
  assert.deepEqual(
    templateClaims(set({ replicas: 2, ordinals: { start: 5 } })).map((c) => c.metadata?.name),
    ['data-db-5', 'data-db-6'],
  );
  assert.deepEqual(templateClaims(set({ replicas: 0 })), []);
  assert.deepEqual(templateClaims(set({ volumeClaimTemplates: [] })), []);
  assert.deepEqual(templateClaims(set({}, '')), [], 'no namespace, no claim');
  assert.deepEqual(templateClaims({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' } }), []);
});

test('the ha cloud: a claim for every pod of every StatefulSet with a template, in its namespace', () => {
  const file = parseCloudFile(readFileSync('examples/ha.yaml', 'utf8'), 'ha.yaml');
  const objects = allObjects(render(file, SecretStore.memory('ha')).groups);
  const sets = objects.filter((o) => o.kind === 'StatefulSet') as (KubeObject & {
    spec: { replicas: number; volumeClaimTemplates?: { metadata: { name: string } }[] };
  })[];
  const withClaims = sets.filter((s) => s.spec.volumeClaimTemplates?.length);
  assert.ok(withClaims.length > 0, 'the ha cloud has StatefulSets with claims');
  const names = objects.flatMap(templateClaims).map((c) => `${c.metadata?.namespace}/${c.metadata?.name}`);
  const expected = withClaims.flatMap((s) =>
    s.spec.volumeClaimTemplates!.flatMap((t) =>
      Array.from(
        { length: s.spec.replicas },
        (_, i) => `${s.metadata?.namespace}/${t.metadata.name}-${s.metadata?.name}-${i}`,
      ),
    ),
  );
  assert.deepEqual(names.sort(), expected.sort());
  assert.ok(
    withClaims.some((s) => s.spec.replicas > 1),
    'some of them have more than one pod',
  );
});

/** A KubeApi that answers from `answer` and records what it was asked. */
function fakeApi(answer: (method: string, path: string) => { status: number; body?: unknown } | Error) {
  const asked: { method: string; path: string; body?: unknown }[] = [];
  const api = {
    path: async (apiVersion: string, kind: string, ns?: string, name?: string) =>
      `/${apiVersion === 'v1' ? 'api' : 'apis'}/${apiVersion}/namespaces/${ns}/${kind.toLowerCase()}s${name ? `/${name}` : ''}`,
    request: async (method: string, path: string, o: { body?: unknown } = {}) => {
      asked.push({ method, path, body: o.body });
      await new Promise((r) => setTimeout(r, 1));
      const a = answer(method, path);
      if (a instanceof Error) throw a;
      return a;
    },
  };
  return { api: api as unknown as KubeApi, asked };
}

const applied = (): Applied => ({ created: [], changed: [], unchanged: [], keptSecrets: [], rerun: [] });

test("beginClaims: a StatefulSet's claims are created (kept when they exist), a rendered claim is applied", async () => {
  const claim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'images', namespace: 'cloud' },
    spec: { accessModes: ['ReadWriteOnce'] },
  } as KubeObject;
  const sts = set({ replicas: 2 });
  const { api, asked } = fakeApi((method, path) =>
    method === 'POST'
      ? { status: path.endsWith('claims') ? 409 : 201 }
      : { status: method === 'GET' ? 404 : 201, body: { metadata: {} } },
  );
  const res = applied();
  const early = beginClaims(api, res, [{ name: 'db', component: 'db', objects: [sts, claim] }]);
  assert.deepEqual([...early.made.keys()], [sts]);
  assert.deepEqual([...early.rendered.keys()], [claim]);
  await early.made.get(sts);
  await early.rendered.get(claim);
  const posts = asked.filter((a) => a.method === 'POST');
  assert.deepEqual(
    posts.map((p) => [p.path, (p.body as KubeObject).metadata?.name]),
    [
      ['/api/v1/namespaces/cloud/persistentvolumeclaims', 'data-db-0'],
      ['/api/v1/namespaces/cloud/persistentvolumeclaims', 'data-db-1'],
    ],
  );
  // The rendered claim goes as any object does (server-side apply), and is recorded.
  assert.ok(asked.some((a) => a.method === 'PATCH' && a.path.endsWith('/persistentvolumeclaims/images')));
  assert.deepEqual(res.created, ['PersistentVolumeClaim cloud/images']);
});

test("beginClaims: a claim osk may not make is left to the set's controller; a rendered one's failure is its step's", async () => {
  const claim = {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: 'images', namespace: 'cloud' },
  } as KubeObject;
  const sts = set({});
  const { api } = fakeApi((method) => (method === 'GET' ? { status: 404 } : new Error('forbidden')));
  const unhandled: unknown[] = [];
  const onUnhandled = (e: unknown) => unhandled.push(e);
  process.on('unhandledRejection', onUnhandled);
  try {
    const early = beginClaims(api, applied(), [{ name: 'db', component: 'db', objects: [sts, claim] }]);
    await early.made.get(sts);
    // Not awaited for a while (its step has not begun): no unhandled rejection meanwhile.
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(unhandled, []);
    await assert.rejects(early.rendered.get(claim)!, /forbidden/);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
});
