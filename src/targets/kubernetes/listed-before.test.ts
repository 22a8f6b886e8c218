import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type Applied, applyObject } from './apply-object.js';
import type { KubeApi } from './kube-api.js';
import { ListedBefore } from './listed-before.js';
import type { KubeObject } from './objects.js';

type Asked = { method: string; path: string; query?: Record<string, string | undefined>; accept?: string };

/** A KubeApi of ConfigMaps only: `live` name → resourceVersion; a PATCH of a name sets `after`'s version. */
function fakeApi(
  live: Map<string, string>,
  opts: { listFails?: boolean; after?: Map<string, string>; unlabelled?: Set<string> } = {},
) {
  const asked: Asked[] = [];
  const api = {
    path: async (_v: string, _k: string, ns?: string, name?: string) =>
      `/api/v1/namespaces/${ns}/configmaps${name ? `/${name}` : ''}`,
    request: async (
      method: string,
      path: string,
      o: { query?: Record<string, string | undefined>; accept?: string } = {},
    ) => {
      asked.push({ method, path, ...(o.query ? { query: o.query } : {}), ...(o.accept ? { accept: o.accept } : {}) });
      const name = path.split('/configmaps/')[1];
      if (method === 'GET' && !name) {
        if (opts.listFails) throw new Error('forbidden');
        return {
          status: 200,
          body: {
            // The labelled LIST: what lacks the cloud's label is not in it.
            items: [...live]
              .filter(([n]) => !opts.unlabelled?.has(n))
              .map(([n, rv]) => ({ metadata: { name: n, resourceVersion: rv } })),
          },
        };
      }
      if (method === 'GET')
        return live.has(name!)
          ? { status: 200, body: { metadata: { resourceVersion: live.get(name!) } } }
          : { status: 404, body: {} };
      if (method === 'PATCH') {
        const rv = opts.after?.get(name!) ?? live.get(name!) ?? '100';
        return { status: live.has(name!) ? 200 : 201, body: { metadata: { resourceVersion: rv } } };
      }
      throw new Error(`unexpected ${method} ${path}`);
    },
  };
  return { api: api as unknown as KubeApi, asked };
}

const cm = (name: string, labels: Record<string, string> = { 'app.kubernetes.io/instance': 'c1' }): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace: 'cloud', labels },
});

const applied = (): Applied => ({ created: [], changed: [], unchanged: [], keptSecrets: [], rerun: [] });

test("one metadata-only LIST per kind, by the cloud's label, says each object's state before", async () => {
  const { api, asked } = fakeApi(new Map([['a', '7']]));
  const listed = new ListedBefore(api, 'c1');
  listed.prime([cm('a'), cm('b')]);
  assert.deepEqual(await listed.before(cm('a')), { absent: false, resourceVersion: '7' });
  assert.deepEqual(await listed.before(cm('b')), { absent: true });
  assert.equal(asked.length, 1, 'one LIST for both');
  assert.deepEqual(asked[0]!.query, { labelSelector: 'app.kubernetes.io/instance=c1' });
  assert.match(asked[0]!.accept!, /as=PartialObjectMetadataList/);
  // Not carrying the cloud's label: the labelled list cannot say.
  assert.equal(await listed.before(cm('x', {})), undefined);
  assert.equal(await listed.before(cm('x', { 'app.kubernetes.io/instance': 'other' })), undefined);
  // A kind whose status a controller writes (a claim as it is bound): read just before its apply.
  assert.equal(await listed.before({ ...cm('a'), kind: 'PersistentVolumeClaim' }), undefined);
  assert.equal(asked.length, 1, 'no LIST for those');
});

test('a kind that cannot be listed: undefined, and its objects are asked for with a GET', async () => {
  const { api, asked } = fakeApi(new Map([['a', '7']]), { listFails: true });
  const listed = new ListedBefore(api, 'c1');
  assert.equal(await listed.before(cm('a')), undefined);
  const res = applied();
  await applyObject(api, res, cm('a'), { listed });
  assert.deepEqual(res.unchanged, ['ConfigMap cloud/a']);
  assert.ok(asked.some((a) => a.method === 'GET' && a.path.endsWith('/configmaps/a')));
});

test('applyObject with the list: created, changed and unchanged without a GET per object', async () => {
  const live = new Map([
    ['same', '5'],
    ['edited', '6'],
  ]);
  const { api, asked } = fakeApi(live, { after: new Map([['edited', '9']]) });
  const listed = new ListedBefore(api, 'c1');
  const res = applied();
  for (const name of ['same', 'edited', 'new']) await applyObject(api, res, cm(name), { listed });
  assert.deepEqual(res.unchanged, ['ConfigMap cloud/same']);
  assert.deepEqual(res.changed, ['ConfigMap cloud/edited']);
  assert.deepEqual(res.created, ['ConfigMap cloud/new']);
  assert.deepEqual(
    asked.map((a) => `${a.method} ${a.path}`),
    [
      'GET /api/v1/namespaces/cloud/configmaps',
      'PATCH /api/v1/namespaces/cloud/configmaps/same',
      'PATCH /api/v1/namespaces/cloud/configmaps/edited',
      'PATCH /api/v1/namespaces/cloud/configmaps/new',
    ],
  );
});

test('absent from the list but there (no label of the cloud yet): changed, not created', async () => {
  // The list says nothing of `old` (it lacks the label), the apiserver has it: PATCH answers 200.
  const { api } = fakeApi(new Map([['old', '3']]), { after: new Map([['old', '4']]), unlabelled: new Set(['old']) });
  const listed = new ListedBefore(api, 'c1');
  const res = applied();
  await applyObject(api, res, cm('old'), { listed });
  assert.deepEqual(res.changed, ['ConfigMap cloud/old']);
  assert.deepEqual(res.created, []);
});

test('a credential Secret the list found is kept without a request; one it did not is created', async () => {
  const asked: string[] = [];
  const api = {
    path: async (_v: string, _k: string, ns?: string, name?: string) =>
      `/api/v1/namespaces/${ns}/secrets${name ? `/${name}` : ''}`,
    request: async (method: string, path: string) => {
      asked.push(`${method} ${path}`);
      if (method === 'GET') return { status: 200, body: { items: [{ metadata: { name: 'db-password' } }] } };
      return { status: 201, body: {} };
    },
  } as unknown as KubeApi;
  const credential = (name: string): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: 'cloud',
      labels: { 'app.kubernetes.io/instance': 'c1' },
      annotations: { 'osk.dev/credential': 'true' },
    },
  });
  const listed = new ListedBefore(api, 'c1');
  const res = applied();
  await applyObject(api, res, credential('db-password'), { listed });
  await applyObject(api, res, credential('new-password'), { listed });
  assert.deepEqual(res.keptSecrets, ['Secret cloud/db-password']);
  assert.deepEqual(res.created, ['Secret cloud/new-password']);
  assert.deepEqual(asked, ['GET /api/v1/namespaces/cloud/secrets', 'POST /api/v1/namespaces/cloud/secrets']);
});
