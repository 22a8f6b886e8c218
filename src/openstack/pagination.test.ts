import assert from 'node:assert/strict';
import { after, before, beforeEach, test } from 'node:test';
import { Session } from './session.js';
import { FakeCloud, json, PROJECT_ID, type Recorded } from './testing/fake-cloud.js';

let cloud: FakeCloud;
let s: Session;

before(async () => {
  cloud = await FakeCloud.start();
  s = new Session({
    auth: {
      type: 'password',
      authUrl: cloud.authUrl,
      username: 'admin',
      password: 'p',
      scope: { project: { name: 'admin' } },
    },
    retryDelayMs: 1,
  });
});
after(async () => {
  await s.close();
  await cloud.stop();
});
beforeEach(() => {
  cloud.requests.length = 0;
});

const items = (n: number): { id: string; name: string }[] =>
  Array.from({ length: n }, (_, i) => ({ id: `id-${String(i).padStart(3, '0')}`, name: `n${i}` }));

/** A page of `all` after `marker`, of `limit` items, the way nova/neutron/cinder answer. */
function page(
  r: Recorded,
  all: { id: string }[],
  defaultLimit: number,
): { slice: { id: string }[]; more: boolean; limit: number } {
  const limit = Number(r.query.get('limit') ?? defaultLimit);
  const marker = r.query.get('marker');
  const start = marker ? all.findIndex((x) => x.id === marker) + 1 : 0;
  const slice = all.slice(start, start + limit);
  return { slice, more: slice.length === limit, limit };
}

test('neutron: follows networks_links rel=next; the link host is not trusted, only its query', async () => {
  const all = items(7);
  cloud.on('GET', '/network/v2.0/networks', (r) => {
    const { slice, more, limit } = page(r, all, 1000);
    const links = [{ rel: 'previous', href: 'http://neutron-internal:9696/v2.0/networks?page_reverse=True' }];
    if (more)
      links.push({
        rel: 'next',
        href: `http://neutron-internal:9696/v2.0/networks?limit=${limit}&shared=false&marker=${slice.at(-1)!.id}`,
      });
    return json(200, { networks: slice, networks_links: links });
  });
  const got = await s.list<{ id: string }>('network', '/networks', 'networks', {
    pageSize: 3,
    query: { shared: false },
  });
  assert.deepEqual(
    got.map((x) => x.id),
    all.map((x) => x.id),
  );
  const calls = cloud.calls('/network/v2.0/networks');
  // 3 + 3 + 1: the short last page ends it.
  assert.deepEqual(
    calls.map((c) => c.url),
    [
      '/network/v2.0/networks?shared=false&limit=3',
      '/network/v2.0/networks?shared=false&limit=3&marker=id-002',
      '/network/v2.0/networks?shared=false&limit=3&marker=id-005',
    ],
  );
});

test('nova: servers_links, including a last page that is exactly full', async () => {
  const all = items(4);
  cloud.on('GET', '/compute/v2.1/servers/detail', (r) => {
    const { slice, more, limit } = page(r, all, 1000);
    return json(200, {
      servers: slice,
      ...(more
        ? {
            servers_links: [
              {
                rel: 'next',
                href: `${cloud.base}/compute/v2.1/servers/detail?limit=${limit}&marker=${slice.at(-1)?.id}`,
              },
            ],
          }
        : {}),
    });
  });
  const got = await s.list<{ id: string }>('compute', '/servers/detail', 'servers', { pageSize: 2 });
  assert.equal(got.length, 4);
  // 2 + 2 + an empty page that ends it.
  assert.equal(cloud.calls('/compute/v2.1/servers/detail').length, 3);
});

test("glance: the top-level next, relative to the endpoint's root", async () => {
  const all = items(5);
  // Glance pages by itself (api_limit_max): no limit asked, pages of 2 here.
  cloud.on('GET', '/image/v2/images', (r) => {
    const { slice, more, limit } = page(r, all, 2);
    return json(200, {
      images: slice,
      first: '/v2/images',
      schema: '/v2/schemas/images',
      ...(more ? { next: `/v2/images?marker=${slice.at(-1)!.id}&limit=${limit}` } : {}),
    });
  });
  const got = await s.list<{ id: string }>('image', '/images', 'images');
  assert.deepEqual(
    got.map((x) => x.id),
    all.map((x) => x.id),
  );
  assert.deepEqual(
    cloud.calls('/image/v2/images').map((c) => c.url),
    ['/image/v2/images', '/image/v2/images?marker=id-001&limit=2', '/image/v2/images?marker=id-003&limit=2'],
  );
});

test('cinder: volumes_links on the project-scoped endpoint', async () => {
  const all = items(3);
  cloud.on('GET', `/volume/v3/${PROJECT_ID}/volumes/detail`, (r) => {
    const { slice, more, limit } = page(r, all, 1000);
    return json(200, {
      volumes: slice,
      ...(more
        ? {
            volumes_links: [
              {
                rel: 'next',
                href: `http://cinder/v3/${PROJECT_ID}/volumes/detail?limit=${limit}&marker=${slice.at(-1)!.id}`,
              },
            ],
          }
        : {}),
    });
  });
  assert.equal((await s.list('block-storage', '/volumes/detail', 'volumes', { pageSize: 2 })).length, 3);
});

test('no links: a full page continues with marker = the last id', async () => {
  const all = items(5);
  cloud.on('GET', '/compute/v2.1/os-hypervisors/detail', (r) => json(200, { hypervisors: page(r, all, 1000).slice }));
  const got = await s.list<{ id: string }>('compute', '/os-hypervisors/detail', 'hypervisors', { pageSize: 2 });
  assert.equal(got.length, 5);
  assert.deepEqual(
    cloud.calls('/compute/v2.1/os-hypervisors/detail').map((c) => c.query.get('marker')),
    [null, 'id-001', 'id-003'],
  );
});

test('a service that ignores marker does not loop forever', async () => {
  // Keystone: no paging at all, the same list whatever the query.
  cloud.on('GET', '/identity/v3/users', () =>
    json(200, { users: items(2), links: { self: 'x', next: null, previous: null } }),
  );
  const got = await s.list('identity', '/users', 'users', { pageSize: 2 });
  assert.equal(got.length, 2);
  assert.equal(cloud.calls('/identity/v3/users').length, 2);
  // Without pageSize, one request.
  cloud.requests.length = 0;
  await s.list('identity', '/users', 'users');
  assert.equal(cloud.calls('/identity/v3/users').length, 1);
});

test('keystone links.next, when set, is followed', async () => {
  cloud.on('GET', '/identity/v3/projects', (r) =>
    r.query.get('page') === '2'
      ? json(200, { projects: [{ id: 'b' }], links: { next: null } })
      : json(200, { projects: [{ id: 'a' }], links: { next: `${cloud.authUrl}/projects?page=2` } }),
  );
  assert.deepEqual(
    (await s.list<{ id: string }>('identity', '/projects', 'projects')).map((p) => p.id),
    ['a', 'b'],
  );
});

test('an answer without the expected list is an error, not an empty list', async () => {
  cloud.on('GET', '/network/v2.0/subnets', () => json(200, { subnet: [] }));
  await assert.rejects(
    s.list('network', '/subnets', 'subnets'),
    /network: GET \/subnets: the answer has no "subnets" list \(got \{"subnet":\[\]\}\)/,
  );
});
