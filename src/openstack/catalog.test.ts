import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OskError } from '../errors.js';
import { apiBase, selectEndpoint, type CatalogService } from './catalog.js';

const catalog: CatalogService[] = [
  {
    type: 'compute',
    name: 'nova',
    endpoints: [
      {
        id: '1',
        interface: 'public',
        region: 'RegionOne',
        region_id: 'RegionOne',
        url: 'https://pub-one.example/compute/v2.1',
      },
      { id: '2', interface: 'internal', region: 'RegionOne', region_id: 'RegionOne', url: 'http://int-one:8774/v2.1' },
      { id: '3', interface: 'admin', region: 'RegionOne', region_id: 'RegionOne', url: 'http://adm-one:8774/v2.1' },
      {
        id: '4',
        interface: 'public',
        region: 'RegionTwo',
        region_id: 'RegionTwo',
        url: 'https://pub-two.example/compute/v2.1',
      },
      { id: '5', interface: 'internal', region: 'RegionTwo', region_id: 'RegionTwo', url: 'http://int-two:8774/v2.1' },
    ],
  },
  {
    type: 'volumev3',
    name: 'cinderv3',
    endpoints: [{ id: '6', interface: 'public', region_id: 'RegionOne', url: 'http://cinder:8776/v3/abc' }],
  },
  // A catalog entry without region_id (older Keystone): the `region` field is used.
  {
    type: 'network',
    endpoints: [{ id: '7', interface: 'public', region: 'RegionTwo', url: 'http://neutron-two:9696' }],
  },
];

test('endpoint selection by interface and region', () => {
  assert.equal(selectEndpoint(catalog, { serviceType: 'compute' }), 'https://pub-one.example/compute/v2.1');
  assert.equal(selectEndpoint(catalog, { serviceType: 'compute', interface: 'internal' }), 'http://int-one:8774/v2.1');
  assert.equal(selectEndpoint(catalog, { serviceType: 'compute', interface: 'admin' }), 'http://adm-one:8774/v2.1');
  assert.equal(
    selectEndpoint(catalog, { serviceType: 'compute', region: 'RegionTwo' }),
    'https://pub-two.example/compute/v2.1',
  );
  assert.equal(
    selectEndpoint(catalog, { serviceType: 'compute', interface: 'internal', region: 'RegionTwo' }),
    'http://int-two:8774/v2.1',
  );
  assert.equal(selectEndpoint(catalog, { serviceType: 'network', region: 'RegionTwo' }), 'http://neutron-two:9696');
});

test('block-storage is found under its catalog alias volumev3', () => {
  assert.equal(selectEndpoint(catalog, { serviceType: 'block-storage' }), 'http://cinder:8776/v3/abc');
});

test('a missing endpoint lists what the catalog has', () => {
  assert.throws(
    () => selectEndpoint(catalog, { serviceType: 'compute', interface: 'admin', region: 'RegionTwo' }),
    (e: unknown) =>
      e instanceof OskError &&
      e.message ===
        'the service catalog has no admin endpoint for service type compute in region RegionTwo (it has: compute public in RegionOne, compute internal in RegionOne, compute admin in RegionOne, compute public in RegionTwo, compute internal in RegionTwo)' &&
      /region_name/.test(e.hint ?? ''),
  );
  assert.throws(
    () => selectEndpoint(catalog, { serviceType: 'placement' }),
    (e: unknown) =>
      e instanceof OskError &&
      /no public endpoint for service type placement$/.test(e.message) &&
      /not registered/.test(e.hint ?? ''),
  );
});

test('API bases: the version is added where the catalog URL lacks it, never twice', () => {
  const cases: [string, string, string][] = [
    ['identity', 'http://k:5000', 'http://k:5000/v3'],
    ['identity', 'http://k:5000/v3/', 'http://k:5000/v3'],
    ['identity', 'https://h/identity', 'https://h/identity/v3'],
    ['network', 'http://n:9696/', 'http://n:9696/v2.0'],
    ['network', 'http://n:9696/v2.0', 'http://n:9696/v2.0'],
    ['image', 'http://g:9292', 'http://g:9292/v2'],
    ['image', 'http://g:9292/v2/', 'http://g:9292/v2'],
    ['compute', 'http://c:8774/v2.1', 'http://c:8774/v2.1'],
    ['compute', 'http://c:8774/v2.1/abc123', 'http://c:8774/v2.1/abc123'],
    ['compute', 'http://c:8774', 'http://c:8774/v2.1'],
    ['block-storage', 'http://v:8776/v3/abc', 'http://v:8776/v3/abc'],
    ['block-storage', 'http://v:8776', 'http://v:8776/v3'],
    ['placement', 'http://p:8778/', 'http://p:8778'],
  ];
  for (const [type, url, want] of cases) assert.equal(apiBase(type, url), want, `${type} ${url}`);
});
