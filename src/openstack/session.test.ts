import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { OskError } from '../errors.js';
import { OpenStackApiError, OpenStackUnreachableError } from './errors.js';
import { Session, type SessionOptions } from './session.js';
import { FakeCloud, json, PROJECT_ID, USER_ID } from './testing/fake-cloud.js';
import { freePort } from '../../test/support/net.js';

let cloud: FakeCloud;
const sessions: Session[] = [];

function session(cloudUrl: string, extra: Partial<SessionOptions> = {}): Session {
  const s = new Session({
    auth: {
      type: 'password',
      authUrl: cloudUrl,
      username: 'admin',
      userDomainName: 'Default',
      password: 's3cret',
      scope: { project: { name: 'admin', domainName: 'Default' } },
    },
    retryDelayMs: 1,
    ...extra,
  });
  sessions.push(s);
  return s;
}

before(async () => {
  cloud = await FakeCloud.start();
});
after(async () => {
  for (const s of sessions) await s.close();
  await cloud.stop();
});
beforeEach(() => {
  cloud.requests.length = 0;
  cloud.authRequests.length = 0;
  cloud.authReply = undefined;
  cloud.tokenLifetimeMs = 3_600_000;
});

describe('Keystone v3 authentication', () => {
  test('password auth sends the v3 body with user domain and project scope, and uses the subject token', async () => {
    cloud.on('GET', '/compute/v2.1/flavors/detail', () => json(200, { flavors: [] }));
    const s = session(`${cloud.base}/identity`); // no /v3: added
    await s.get('compute', '/flavors/detail');
    assert.deepEqual(cloud.authRequests[0], {
      auth: {
        identity: {
          methods: ['password'],
          password: { user: { name: 'admin', domain: { name: 'Default' }, password: 's3cret' } },
        },
        scope: { project: { name: 'admin', domain: { name: 'Default' } } },
      },
    });
    const auth = cloud.calls('/identity/v3/auth/tokens')[0]!;
    assert.equal(auth.headers['content-type'], 'application/json');
    const call = cloud.calls('/compute/v2.1/flavors/detail')[0]!;
    assert.match(String(call.headers['x-auth-token']), /^gAAAAA-fake-token-/);
    const token = await s.getToken();
    assert.equal(token.body.user.id, USER_ID);
    assert.equal(token.body.project?.id, PROJECT_ID);
    // Keystone's microsecond timestamps parse.
    assert.ok(token.expiresAt > Date.now() + 3_000_000);
  });

  test('ids, domain scope, system scope, unscoped and application credentials build the documented bodies', async () => {
    const bodies: [SessionOptions['auth'], unknown][] = [
      [
        { type: 'password', authUrl: cloud.authUrl, userId: 'u1', password: 'p', scope: { project: { id: 'p1' } } },
        {
          auth: {
            identity: { methods: ['password'], password: { user: { id: 'u1', password: 'p' } } },
            scope: { project: { id: 'p1' } },
          },
        },
      ],
      [
        {
          type: 'password',
          authUrl: cloud.authUrl,
          username: 'u',
          userDomainId: 'd1',
          password: 'p',
          scope: { project: { name: 'x', domainId: 'd2' } },
        },
        {
          auth: {
            identity: { methods: ['password'], password: { user: { name: 'u', domain: { id: 'd1' }, password: 'p' } } },
            scope: { project: { name: 'x', domain: { id: 'd2' } } },
          },
        },
      ],
      [
        {
          type: 'password',
          authUrl: cloud.authUrl,
          username: 'u',
          password: 'p',
          scope: { domain: { name: 'Default' } },
        },
        // No user domain given: the `default` domain id, as the openstack CLI assumes.
        {
          auth: {
            identity: {
              methods: ['password'],
              password: { user: { name: 'u', domain: { id: 'default' }, password: 'p' } },
            },
            scope: { domain: { name: 'Default' } },
          },
        },
      ],
      [
        { type: 'password', authUrl: cloud.authUrl, username: 'u', password: 'p', scope: { system: 'all' } },
        {
          auth: {
            identity: {
              methods: ['password'],
              password: { user: { name: 'u', domain: { id: 'default' }, password: 'p' } },
            },
            scope: { system: { all: true } },
          },
        },
      ],
      [
        { type: 'password', authUrl: cloud.authUrl, username: 'u', password: 'p' },
        {
          auth: {
            identity: {
              methods: ['password'],
              password: { user: { name: 'u', domain: { id: 'default' }, password: 'p' } },
            },
          },
        },
      ],
      [
        { type: 'applicationCredential', authUrl: cloud.authUrl, id: 'ac1', secret: 'sh' },
        {
          auth: {
            identity: { methods: ['application_credential'], application_credential: { id: 'ac1', secret: 'sh' } },
          },
        },
      ],
      [
        {
          type: 'applicationCredential',
          authUrl: cloud.authUrl,
          name: 'mon',
          username: 'u',
          userDomainName: 'Default',
          secret: 'sh',
        },
        {
          auth: {
            identity: {
              methods: ['application_credential'],
              application_credential: { name: 'mon', user: { name: 'u', domain: { name: 'Default' } }, secret: 'sh' },
            },
          },
        },
      ],
    ];
    for (const [auth, want] of bodies) {
      cloud.authRequests.length = 0;
      await session(cloud.authUrl, { auth }).authenticate();
      assert.deepEqual(cloud.authRequests[0], want);
    }
  });

  test('an unscoped token has no catalog: identity calls go to auth_url', async () => {
    cloud.on('GET', '/identity/v3/auth/projects', () => json(200, { projects: [{ id: 'p', name: 'demo' }] }));
    const s = session(cloud.authUrl, {
      auth: { type: 'password', authUrl: cloud.authUrl, username: 'u', password: 'p' },
    });
    assert.deepEqual(await s.get('identity', '/auth/projects'), { projects: [{ id: 'p', name: 'demo' }] });
    await assert.rejects(s.endpoint('compute'), /service catalog has no public endpoint for service type compute/);
  });

  test('wrong credentials: a 401 from Keystone names the user and says to check clouds.yaml', async () => {
    cloud.authReply = json(
      401,
      { error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' } },
      { 'x-openstack-request-id': 'req-badpw' },
    );
    const s = session(cloud.authUrl, { cloudName: 'lab' });
    await assert.rejects(s.get('compute', '/servers'), (e: unknown) => {
      assert.ok(e instanceof OpenStackApiError);
      assert.equal(
        e.message,
        'identity: POST /auth/tokens failed: 401 Unauthorized: The request you have made requires authentication. (request req-badpw)',
      );
      assert.match(e.hint!, /refused user admin@Default \(project admin\).*clouds\.yaml of cloud "lab"/);
      assert.equal(e.exitCode, 1);
      return true;
    });
  });

  test('the token is cached: one login for many calls, also when they start together', async () => {
    cloud.on('GET', '/network/v2.0/networks', () => json(200, { networks: [] }));
    const s = session(cloud.authUrl);
    await Promise.all([s.get('network', '/networks'), s.get('network', '/networks'), s.get('network', '/networks')]);
    await s.get('network', '/networks');
    assert.equal(cloud.authRequests.length, 1);
    assert.equal(cloud.calls('/network/v2.0/networks').length, 4);
  });

  test('the token is renewed shortly before expires_at', async () => {
    cloud.on('GET', '/placement/resource_providers', () => json(200, { resource_providers: [] }));
    let now = Date.now();
    const s = session(cloud.authUrl, { now: () => now, reauthMarginMs: 60_000 });
    cloud.tokenLifetimeMs = 10 * 60_000;
    await s.get('placement', '/resource_providers');
    now += 8 * 60_000; // 2 minutes left: still good
    await s.get('placement', '/resource_providers');
    assert.equal(cloud.authRequests.length, 1);
    now += 90_000; // 30 s left: inside the margin
    await s.get('placement', '/resource_providers');
    assert.equal(cloud.authRequests.length, 2);
    const tokens = cloud.calls('/placement/resource_providers').map((r) => r.headers['x-auth-token']);
    assert.equal(tokens[0], tokens[1]);
    assert.notEqual(tokens[1], tokens[2]);
  });

  test('a token that lives shorter than the margin is still used until half its life', async () => {
    cloud.on('GET', '/placement/traits', () => json(200, { traits: [] }));
    let now = Date.now();
    const s = session(cloud.authUrl, { now: () => now, reauthMarginMs: 60_000 });
    cloud.tokenLifetimeMs = 40_000;
    await s.get('placement', '/traits');
    await s.get('placement', '/traits');
    now += 15_000;
    await s.get('placement', '/traits');
    assert.equal(cloud.authRequests.length, 1);
    now += 10_000; // past half of its 40 s
    await s.get('placement', '/traits');
    assert.equal(cloud.authRequests.length, 2);
  });

  test('a 401 for a token Keystone no longer accepts logs in again once and repeats the call', async () => {
    cloud.on('GET', '/compute/v2.1/os-services', () => json(200, { services: [] }));
    const s = session(cloud.authUrl);
    await s.get('compute', '/os-services');
    cloud.validTokens.clear(); // e.g. Keystone rotated its fernet keys
    assert.deepEqual(await s.get('compute', '/os-services'), { services: [] });
    assert.equal(cloud.authRequests.length, 2);
    const calls = cloud.calls('/compute/v2.1/os-services');
    assert.equal(calls.length, 3);
    assert.notEqual(calls[1]!.headers['x-auth-token'], calls[2]!.headers['x-auth-token']);
  });

  test('a second 401 right after logging in again is an error, not a loop', async () => {
    cloud.on('GET', '/compute/v2.1/os-hypervisors/detail', () =>
      json(401, {
        error: { code: 401, title: 'Unauthorized', message: 'The request you have made requires authentication.' },
      }),
    );
    const s = session(cloud.authUrl);
    await assert.rejects(
      s.get('compute', '/os-hypervisors/detail'),
      (e: unknown) => e instanceof OpenStackApiError && e.status === 401,
    );
    assert.equal(cloud.calls('/compute/v2.1/os-hypervisors/detail').length, 2);
    assert.equal(cloud.authRequests.length, 2);
  });
});

describe('endpoints and headers', () => {
  test('compute, volume and placement get their microversion headers; network and image none', async () => {
    for (const p of [
      '/compute/v2.1/servers',
      `/volume/v3/${PROJECT_ID}/volumes`,
      '/placement/resource_providers',
      '/network/v2.0/ports',
      '/image/v2/images',
    ]) {
      cloud.on('GET', p, () => json(200, {}));
    }
    const s = session(cloud.authUrl);
    await s.get('compute', '/servers');
    await s.get('block-storage', '/volumes');
    await s.get('placement', '/resource_providers');
    await s.get('network', '/ports');
    await s.get('image', '/images');
    const h = (p: string): Record<string, unknown> => cloud.calls(p)[0]!.headers;
    assert.equal(h('/compute/v2.1/servers')['openstack-api-version'], 'compute 2.93');
    assert.equal(h('/compute/v2.1/servers')['x-openstack-nova-api-version'], '2.93');
    assert.equal(h(`/volume/v3/${PROJECT_ID}/volumes`)['openstack-api-version'], 'volume 3.70');
    assert.equal(h('/placement/resource_providers')['openstack-api-version'], 'placement 1.39');
    assert.equal(h('/network/v2.0/ports')['openstack-api-version'], undefined);
    assert.equal(h('/image/v2/images')['openstack-api-version'], undefined);
    assert.equal(h('/compute/v2.1/servers').accept, 'application/json');
  });

  test('microversions can be set per session and per call', async () => {
    cloud.on('GET', '/compute/v2.1/flavors', () => json(200, {}));
    const s = session(cloud.authUrl, { microversions: { compute: '2.60' } });
    await s.get('compute', '/flavors');
    await s.get('compute', '/flavors', { microversion: '2.1' });
    await s.get('compute', '/flavors', { microversion: null });
    const calls = cloud.calls('/compute/v2.1/flavors');
    assert.equal(calls[0]!.headers['openstack-api-version'], 'compute 2.60');
    assert.equal(calls[1]!.headers['x-openstack-nova-api-version'], '2.1');
    assert.equal(calls[2]!.headers['openstack-api-version'], undefined);
  });

  test('interface and region choose the endpoint; an override wins over the catalog', async () => {
    cloud.on('GET', /\/network\/v2\.0\/agents$/, () => json(200, { agents: [] }));
    await session(cloud.authUrl, { interface: 'internal' }).get('network', '/agents');
    await session(cloud.authUrl, { region: 'RegionTwo' }).get('network', '/agents');
    await session(cloud.authUrl, { endpointOverrides: { network: `${cloud.base}/elsewhere/network/` } }).get(
      'network',
      '/agents',
    );
    assert.deepEqual(
      cloud.calls(/\/agents$/).map((r) => r.path),
      ['/internal/network/v2.0/agents', '/r2/network/v2.0/agents', '/elsewhere/network/v2.0/agents'],
    );
    await assert.rejects(session(cloud.authUrl, { region: 'RegionNine' }).get('network', '/agents'), (e: unknown) => {
      assert.ok(e instanceof OskError);
      assert.match(
        e.message,
        /no public endpoint for service type network in region RegionNine \(it has: network public in RegionOne, network internal in RegionOne, network public in RegionTwo\)/,
      );
      return true;
    });
  });

  test('query values: arrays repeat, undefined is left out', async () => {
    cloud.on('GET', '/image/v2/images', () => json(200, { images: [] }));
    await session(cloud.authUrl).get('image', '/images', { query: { tag: ['a', 'b'], name: undefined, limit: 5 } });
    assert.equal(cloud.calls('/image/v2/images')[0]!.url, '/image/v2/images?tag=a&tag=b&limit=5');
  });

  test('service error bodies become one clear OpenStackApiError', async () => {
    cloud.on('POST', '/compute/v2.1/servers', () =>
      json(
        400,
        { badRequest: { code: 400, message: 'Invalid flavorRef provided.' } },
        { 'x-compute-request-id': 'req-6f0e', 'x-openstack-request-id': 'req-6f0e' },
      ),
    );
    cloud.on('GET', /\/network\/v2\.0\/networks\/.+/, () =>
      json(404, { NeutronError: { type: 'NetworkNotFound', message: 'Network nope could not be found.', detail: '' } }),
    );
    cloud.on('GET', /\/image\/v2\/images\/.+/, () => ({
      status: 404,
      headers: { 'x-openstack-request-id': 'req-g' },
      body: '404 Not Found\n\nNo image found with ID nope\n\n   ',
    }));
    cloud.on('GET', /\/placement\/resource_providers\/.+/, () =>
      json(
        404,
        {
          errors: [
            {
              status: 404,
              title: 'Not Found',
              detail: 'The resource could not be found.\n\n No resource provider with uuid nope found  ',
              request_id: 'req-p',
              code: 'placement.undefined_code',
            },
          ],
        },
        { 'x-openstack-request-id': 'req-p' },
      ),
    );
    cloud.on('GET', /\/volume\/v3\/.+\/volumes\/.+/, () =>
      json(404, { itemNotFound: { code: 404, message: 'Volume nope could not be found.' } }),
    );
    cloud.on('GET', '/identity/v3/projects/nope', () =>
      json(404, { error: { code: 404, title: 'Not Found', message: 'Could not find project: nope.' } }),
    );
    const s = session(cloud.authUrl);
    const cases: [() => Promise<unknown>, string][] = [
      [
        () => s.post('compute', '/servers', { server: {} }),
        'compute: POST /servers failed: 400 Bad Request: Invalid flavorRef provided. (request req-6f0e)',
      ],
      [
        () => s.get('network', '/networks/nope'),
        'network: GET /networks/nope failed: 404 Not Found: Network nope could not be found. (request req-404-fake)',
      ],
      [
        () => s.get('image', '/images/nope'),
        'image: GET /images/nope failed: 404 Not Found: No image found with ID nope (request req-g)',
      ],
      [
        () => s.get('placement', '/resource_providers/nope'),
        'placement: GET /resource_providers/nope failed: 404 Not Found: The resource could not be found. No resource provider with uuid nope found (request req-p)',
      ],
      [
        () => s.get('block-storage', '/volumes/nope'),
        'block-storage: GET /volumes/nope failed: 404 Not Found: Volume nope could not be found. (request req-404-fake)',
      ],
      [
        () => s.get('identity', '/projects/nope'),
        'identity: GET /projects/nope failed: 404 Not Found: Could not find project: nope. (request req-404-fake)',
      ],
    ];
    for (const [call, message] of cases) {
      await assert.rejects(call(), (e: unknown) => {
        assert.ok(e instanceof OpenStackApiError, String(e));
        assert.equal(e.message, message);
        return true;
      });
    }
    const e = (await s.get('network', '/networks/nope').then(
      () => assert.fail('no error'),
      (x: unknown) => x,
    )) as OpenStackApiError;
    assert.equal(e.errorType, 'NetworkNotFound');
    assert.equal(e.status, 404);
    assert.equal(e.service, 'network');
    assert.equal(e.path, '/networks/nope');
  });
});

describe('retries and timeouts', () => {
  test('an idempotent call is retried after a 503 and a 502; a POST is not', async () => {
    let n = 0;
    cloud.on('GET', '/compute/v2.1/flaky', () =>
      ++n === 1
        ? { status: 503, body: 'Service Unavailable' }
        : n === 2
          ? { status: 502, body: 'Bad Gateway' }
          : json(200, { ok: true }),
    );
    const s = session(cloud.authUrl);
    assert.deepEqual(await s.get('compute', '/flaky'), { ok: true });
    assert.equal(cloud.calls('/compute/v2.1/flaky').length, 3);

    cloud.on('POST', '/compute/v2.1/servers', () => ({ status: 503, body: 'Service Unavailable' }));
    await assert.rejects(
      s.post('compute', '/servers', { server: { name: 'x' } }),
      (e: unknown) => e instanceof OpenStackApiError && e.status === 503 && /Service Unavailable/.test(e.message),
    );
    assert.equal(cloud.calls('/compute/v2.1/servers', 'POST').length, 1);
    // …unless the caller says the POST is idempotent.
    let m = 0;
    cloud.on('POST', '/compute/v2.1/flavors/f1/os-extra_specs', () =>
      ++m === 1 ? { status: 504, body: 'Gateway Timeout' } : json(200, { extra_specs: {} }),
    );
    await s.post('compute', '/flavors/f1/os-extra_specs', { extra_specs: {} }, { idempotent: true });
    assert.equal(cloud.calls('/compute/v2.1/flavors/f1/os-extra_specs').length, 2);
  });

  test('retries are bounded: the last 503 is reported', async () => {
    cloud.on('DELETE', '/compute/v2.1/servers/s1', () =>
      json(503, { computeFault: { code: 503, message: 'nova-api is restarting' } }),
    );
    const s = session(cloud.authUrl, { retries: 2 });
    await assert.rejects(
      s.delete('compute', '/servers/s1'),
      /compute: DELETE \/servers\/s1 failed: 503 Service Unavailable: nova-api is restarting/,
    );
    assert.equal(cloud.calls('/compute/v2.1/servers/s1').length, 3);
  });

  test('a dropped connection is retried for GET, not for POST', async () => {
    let n = 0;
    cloud.on('GET', '/network/v2.0/drop', () => (++n === 1 ? 'destroy' : json(200, { ok: 1 })));
    cloud.on('POST', '/network/v2.0/drop', () => 'destroy');
    const s = session(cloud.authUrl);
    assert.deepEqual(await s.get('network', '/drop'), { ok: 1 });
    assert.equal(cloud.calls('/network/v2.0/drop', 'GET').length, 2);
    await assert.rejects(
      s.post('network', '/drop', {}),
      (e: unknown) => e instanceof OpenStackUnreachableError && e.reason === 'connect',
    );
    assert.equal(cloud.calls('/network/v2.0/drop', 'POST').length, 1);
  });

  test('a service that does not answer times out with a message naming the service and endpoint', async () => {
    cloud.on('GET', '/compute/v2.1/servers/detail', () => 'hang');
    const s = session(cloud.authUrl, { timeoutMs: 200 });
    // The fake never answers: only the 0.2 s timeout can end the call (its message says which).
    await assert.rejects(s.get('compute', '/servers/detail'), (e: unknown) => {
      assert.ok(e instanceof OpenStackUnreachableError);
      assert.equal(
        e.message,
        `compute: GET /servers/detail: no answer from ${cloud.base}/compute/v2.1 within 0.2 s: the compute service may be down or overloaded`,
      );
      assert.equal(e.reason, 'timeout');
      assert.match(e.hint!, /Keystone catalog \(compute, interface public\)/);
      return true;
    });
    // A timeout is not retried: the call was made once.
    assert.equal(cloud.calls('/compute/v2.1/servers/detail').length, 1);
  });

  test('a body that stalls after the headers also times out', async () => {
    const raw = await FakeCloud.start();
    // A server that sends headers and half a body, then nothing.
    raw.on('GET', '/image/v2/images', () => 'hang');
    const s = session(cloud.authUrl, { timeoutMs: 300, endpointOverrides: { image: `${cloud.base}/stall` } });
    cloud.on('GET', '/stall/v2/images', () => ({
      status: 200,
      headers: { 'content-type': 'application/json', 'content-length': '1000' },
      body: '{"images": [',
    }));
    await assert.rejects(
      s.get('image', '/images'),
      (e: unknown) => e instanceof OpenStackUnreachableError && e.reason === 'timeout',
    );
    await raw.stop();
  });

  test('connection refused says which endpoint and that the service may be down, after retrying', async () => {
    const port = await freePort();
    const events: string[] = [];
    const s = session(cloud.authUrl, {
      endpointOverrides: { placement: `http://127.0.0.1:${port}/placement` },
      cloudName: 'lab',
      onRequest: (e) => events.push(`${e.attempt}:${e.error ?? e.status}`),
    });
    await assert.rejects(s.get('placement', '/resource_providers'), (e: unknown) => {
      assert.ok(e instanceof OpenStackUnreachableError);
      assert.equal(
        e.message,
        `placement: GET /resource_providers: cannot reach http://127.0.0.1:${port}/placement (connection refused) (tried 4 times): the placement service may be down`,
      );
      assert.equal(e.code, 'ECONNREFUSED');
      assert.match(e.hint!, /placement endpoint override of cloud "lab"/);
      return true;
    });
    assert.deepEqual(
      events.filter((x) => x.endsWith('ECONNREFUSED')),
      ['0:ECONNREFUSED', '1:ECONNREFUSED', '2:ECONNREFUSED', '3:ECONNREFUSED'],
    );
  });

  test('an unreachable Keystone is reported as the auth_url', async () => {
    const port = await freePort();
    const s = session(`http://127.0.0.1:${port}/v3`, { retries: 0, cloudName: 'lab' });
    await assert.rejects(s.get('compute', '/servers'), (e: unknown) => {
      assert.ok(e instanceof OpenStackUnreachableError);
      assert.match(
        e.message,
        new RegExp(
          `^identity: POST /auth/tokens: cannot reach http://127.0.0.1:${port}/v3 \\(connection refused\\): the identity service may be down$`,
        ),
      );
      assert.match(e.hint!, /auth_url of cloud "lab"/);
      return true;
    });
  });

  test('an unknown host name is a DNS error naming the host', async () => {
    const s = session(cloud.authUrl, { retries: 0, endpointOverrides: { image: 'http://no-such-host.invalid:9292' } });
    await assert.rejects(
      s.get('image', '/images'),
      (e: unknown) =>
        e instanceof OpenStackUnreachableError &&
        e.reason === 'dns' &&
        /cannot resolve no-such-host\.invalid/.test(e.message),
    );
  });
});
