/**
 * The typed resource APIs against a fake cloud answering with the documented shapes: the
 * request each helper sends (path, method, body) and what it makes of the answer.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, beforeEach, describe, test } from 'node:test';
import { OskError } from '../errors.js';
import { OpenStackApiError } from './errors.js';
import type { OpenStackClient } from './index.js';
import { FakeCloud, fakeAdminClient, json, PROJECT_ID, USER_ID } from './testing/fake-cloud.js';

let cloud: FakeCloud;
let os: OpenStackClient;
const VOL = `/volume/v3/${PROJECT_ID}`;

before(async () => {
  cloud = await FakeCloud.start();
  os = fakeAdminClient(cloud);
});
after(async () => {
  await os.close();
  await cloud.stop();
});
beforeEach(() => {
  cloud.requests.length = 0;
});

describe('identity', () => {
  test('projects.find filters by name and domain and insists on one', async () => {
    cloud.on('GET', '/identity/v3/projects', (r) =>
      json(200, {
        projects:
          r.query.get('name') === 'twice'
            ? [
                { id: 'p1', name: 'twice', domain_id: 'd' },
                { id: 'p2', name: 'twice', domain_id: 'd' },
              ]
            : r.query.get('name') === 'service'
              ? [{ id: 'p3', name: 'service', domain_id: r.query.get('domain_id') }]
              : [],
        links: { next: null, self: '', previous: null },
      }),
    );
    assert.equal((await os.identity.projects.find('service', { domainId: 'default' }))?.id, 'p3');
    assert.equal(cloud.calls('/identity/v3/projects')[0]!.url, '/identity/v3/projects?name=service&domain_id=default');
    assert.equal(await os.identity.projects.find('nothing'), undefined);
    await assert.rejects(
      os.identity.projects.find('twice'),
      (e: unknown) => e instanceof OskError && /there are 2 projects named "twice" \(p1, p2\)/.test(e.message),
    );
  });

  test('users.create wraps the body; role grant, check (HEAD) and revoke use the assignment path', async () => {
    cloud.on('POST', '/identity/v3/users', (r) =>
      json(201, { user: { id: 'u9', enabled: true, ...(r.json as { user: object }).user } }),
    );
    const u = await os.identity.users.create({
      name: 'nova',
      domain_id: 'default',
      password: 'pw',
      options: { ignore_password_expiry: true },
    });
    assert.deepEqual(cloud.calls('/identity/v3/users')[0]!.json, {
      user: { name: 'nova', domain_id: 'default', password: 'pw', options: { ignore_password_expiry: true } },
    });
    assert.equal(u.id, 'u9');

    const granted = new Set<string>();
    const path = /^\/identity\/v3\/(projects|domains)\/[^/]+\/users\/[^/]+\/roles\/[^/]+$/;
    cloud.on('PUT', path, (r) => (granted.add(r.path), { status: 204 }));
    cloud.on('HEAD', path, (r) => ({ status: granted.has(r.path) ? 204 : 404 }));
    cloud.on('DELETE', path, (r) =>
      granted.delete(r.path)
        ? { status: 204 }
        : json(404, { error: { code: 404, title: 'Not Found', message: 'Could not find role assignment' } }),
    );
    const g = { roleId: 'admin-role', userId: 'u9', projectId: 'p3' };
    assert.equal(await os.identity.roles.check(g), false);
    await os.identity.roles.grant(g);
    assert.equal(await os.identity.roles.check(g), true);
    assert.deepEqual([...granted], ['/identity/v3/projects/p3/users/u9/roles/admin-role']);
    assert.equal(await os.identity.roles.check({ roleId: 'admin-role', userId: 'u9', domainId: 'default' }), false);
    assert.equal(await os.identity.roles.revoke(g), true);
    assert.equal(await os.identity.roles.revoke(g), false);
  });

  test('role assignments pass flags as bare keys', async () => {
    cloud.on('GET', '/identity/v3/role_assignments', () =>
      json(200, {
        role_assignments: [{ role: { id: 'r' }, user: { id: 'u' }, scope: { project: { id: 'p' } } }],
        links: { next: null },
      }),
    );
    const a = await os.identity.roleAssignments.list({ 'user.id': 'u', effective: true, include_names: false });
    assert.equal(a.length, 1);
    assert.equal(
      cloud.calls('/identity/v3/role_assignments')[0]!.url,
      '/identity/v3/role_assignments?user.id=u&effective=',
    );
  });

  test('services.find matches the name within a type; endpoints.find by service, interface and region', async () => {
    cloud.on('GET', '/identity/v3/services', (r) =>
      json(200, {
        services: r.query.get('type') === 'compute' ? [{ id: 's1', type: 'compute', name: 'nova', enabled: true }] : [],
      }),
    );
    cloud.on('GET', '/identity/v3/endpoints', () =>
      json(200, {
        endpoints: [
          { id: 'e1', service_id: 's1', interface: 'public', region_id: 'RegionOne', url: 'http://x', enabled: true },
          { id: 'e2', service_id: 's1', interface: 'internal', region_id: 'RegionOne', url: 'http://y', enabled: true },
        ],
      }),
    );
    assert.equal((await os.identity.services.find('compute', 'nova'))?.id, 's1');
    assert.equal(await os.identity.services.find('compute', 'other'), undefined);
    assert.equal(
      (await os.identity.endpoints.find({ serviceId: 's1', interface: 'internal', regionId: 'RegionOne' }))?.id,
      'e2',
    );
    assert.equal(
      cloud.calls('/identity/v3/endpoints')[0]!.url,
      '/identity/v3/endpoints?service_id=s1&interface=internal&region_id=RegionOne',
    );
  });

  test("application credentials are made for the token's user; regions.get is undefined when missing", async () => {
    cloud.on('POST', `/identity/v3/users/${USER_ID}/application_credentials`, (r) =>
      json(201, {
        application_credential: {
          id: 'ac1',
          project_id: PROJECT_ID,
          secret: 'generated',
          ...(r.json as { application_credential: object }).application_credential,
        },
      }),
    );
    const ac = await os.identity.applicationCredentials.create({ name: 'osk-health', roles: [{ name: 'reader' }] });
    assert.equal(ac.secret, 'generated');
    assert.deepEqual(cloud.calls(`/identity/v3/users/${USER_ID}/application_credentials`)[0]!.json, {
      application_credential: { name: 'osk-health', roles: [{ name: 'reader' }] },
    });
    cloud.on('GET', '/identity/v3/regions/RegionX', () =>
      json(404, { error: { code: 404, title: 'Not Found', message: 'Could not find region: RegionX.' } }),
    );
    assert.equal(await os.identity.regions.get('RegionX'), undefined);
  });

  test('tokens.validate sends X-Subject-Token; an invalid token is undefined', async () => {
    cloud.on('GET', '/identity/v3/auth/tokens', (r) =>
      r.headers['x-subject-token'] === 'good'
        ? json(200, { token: { expires_at: '2030-01-01T00:00:00.000000Z', methods: ['password'], user: { id: 'u' } } })
        : json(404, { error: { code: 404, title: 'Not Found', message: 'Failed to validate token' } }),
    );
    assert.equal((await os.identity.tokens.validate('good'))?.user.id, 'u');
    assert.equal(await os.identity.tokens.validate('bad'), undefined);
  });
});

describe('compute', () => {
  test('servers.create puts scheduler hints at the top level and is sent once', async () => {
    cloud.on('POST', '/compute/v2.1/servers', () => json(202, { server: { id: 'srv1', adminPass: 'x', links: [] } }));
    const created = await os.compute.servers.create({
      name: 'vm',
      flavorRef: 'f1',
      imageRef: 'i1',
      networks: [{ uuid: 'n1' }],
      scheduler_hints: { group: 'g1' },
    });
    assert.equal(created.id, 'srv1');
    assert.deepEqual(cloud.calls('/compute/v2.1/servers')[0]!.json, {
      server: { name: 'vm', flavorRef: 'f1', imageRef: 'i1', networks: [{ uuid: 'n1' }] },
      'os:scheduler_hints': { group: 'g1' },
    });
  });

  test('waitForStatus returns on ACTIVE and fails at once on ERROR naming the fault', async () => {
    let polls = 0;
    cloud.on('GET', '/compute/v2.1/servers/ok', () =>
      json(200, {
        server: {
          id: 'ok',
          name: 'vm',
          status: ++polls < 3 ? 'BUILD' : 'ACTIVE',
          'OS-EXT-STS:task_state': polls < 3 ? 'spawning' : null,
        },
      }),
    );
    const seen: string[] = [];
    const sv = await os.compute.servers.waitForStatus('ok', 'ACTIVE', { intervalMs: 5, onPoll: (s) => seen.push(s) });
    assert.equal(sv.status, 'ACTIVE');
    assert.deepEqual(seen, ['BUILD (task spawning)', 'BUILD (task spawning)', 'ACTIVE']);

    cloud.on('GET', '/compute/v2.1/servers/bad', () =>
      json(200, {
        server: {
          id: 'bad',
          name: 'vm2',
          status: 'ERROR',
          fault: {
            code: 500,
            message: 'No valid host was found. There are not enough hosts available.',
            created: '2024-01-01T00:00:00Z',
          },
        },
      }),
    );
    await assert.rejects(
      os.compute.servers.waitForStatus('bad', 'ACTIVE', { intervalMs: 5, timeoutMs: 2000 }),
      (e: unknown) => {
        assert.ok(e instanceof OskError);
        assert.equal(
          e.message,
          'server bad (vm2) went to ERROR: No valid host was found. There are not enough hosts available. (code 500)',
        );
        return true;
      },
    );
    assert.equal(cloud.calls('/compute/v2.1/servers/bad').length, 1);
  });

  test('waitForStatus gives up after its timeout saying what the server was doing', async () => {
    cloud.on('GET', '/compute/v2.1/servers/slow', () =>
      json(200, {
        server: { id: 'slow', name: 'vm', status: 'BUILD', 'OS-EXT-STS:task_state': 'block_device_mapping' },
      }),
    );
    await assert.rejects(
      os.compute.servers.waitForStatus('slow', ['ACTIVE', 'SHUTOFF'], { timeoutMs: 50, intervalMs: 20 }),
      /^OskError: server slow is still BUILD \(task block_device_mapping\) after 0 s of waiting for ACTIVE or SHUTOFF$/,
    );
  });

  test('waitForDeleted ends on 404', async () => {
    let n = 0;
    cloud.on('GET', '/compute/v2.1/servers/gone', () =>
      ++n < 2
        ? json(200, { server: { id: 'gone', name: 'vm', status: 'ACTIVE', 'OS-EXT-STS:task_state': 'deleting' } })
        : json(404, { itemNotFound: { code: 404, message: 'Instance gone could not be found.' } }),
    );
    await os.compute.servers.waitForDeleted('gone', { intervalMs: 5 });
    assert.equal(n, 2);
  });

  test('servers.find anchors and escapes the name, since nova takes a regex', async () => {
    cloud.on('GET', '/compute/v2.1/servers/detail', () =>
      json(200, {
        servers: [
          { id: 'a', name: 'web.1' },
          { id: 'b', name: 'web.10' },
        ],
      }),
    );
    assert.equal((await os.compute.servers.find('web.1'))?.id, 'a');
    assert.equal(cloud.calls('/compute/v2.1/servers/detail')[0]!.query.get('name'), '^web\\.1$');
  });

  test('flavors: create, find among public and private, delete that tolerates absence', async () => {
    cloud.on('POST', '/compute/v2.1/flavors', (r) =>
      json(200, { flavor: { id: 'fl1', ...(r.json as { flavor: object }).flavor } }),
    );
    cloud.on('GET', '/compute/v2.1/flavors/detail', () =>
      json(200, { flavors: [{ id: 'fl1', name: 'osk.small', ram: 512, vcpus: 1, disk: 1 }] }),
    );
    cloud.on('DELETE', '/compute/v2.1/flavors/fl1', () => ({ status: 202 }));
    cloud.on('DELETE', '/compute/v2.1/flavors/nope', () =>
      json(404, { itemNotFound: { code: 404, message: 'Flavor nope could not be found.' } }),
    );
    const f = await os.compute.flavors.create({
      name: 'osk.small',
      ram: 512,
      vcpus: 1,
      disk: 1,
      'os-flavor-access:is_public': true,
    });
    assert.equal(f.id, 'fl1');
    assert.equal((await os.compute.flavors.find('osk.small'))?.id, 'fl1');
    assert.equal(cloud.calls('/compute/v2.1/flavors/detail')[0]!.query.get('is_public'), 'None');
    assert.equal(await os.compute.flavors.delete('fl1'), true);
    assert.equal(await os.compute.flavors.delete('nope'), false);
  });

  test('keypairs are unwrapped; a keypair without a public key is refused before any request', async () => {
    cloud.on('GET', '/compute/v2.1/os-keypairs', () =>
      json(200, {
        keypairs: [{ keypair: { name: 'k1', public_key: 'ssh-ed25519 AAA', fingerprint: 'fp', type: 'ssh' } }],
      }),
    );
    assert.deepEqual(
      (await os.compute.keypairs.list()).map((k) => k.name),
      ['k1'],
    );
    await assert.rejects(os.compute.keypairs.create({ name: 'k2', public_key: '' }), /a public key is required/);
  });

  test('volume attach posts volumeAttachment; detach deletes by volume id', async () => {
    cloud.on('POST', '/compute/v2.1/servers/s1/os-volume_attachments', (r) =>
      json(200, {
        volumeAttachment: { id: 'v1', serverId: 's1', volumeId: 'v1', device: '/dev/vdb', ...(r.json as object) },
      }),
    );
    cloud.on('DELETE', '/compute/v2.1/servers/s1/os-volume_attachments/v1', () => ({ status: 202 }));
    const a = await os.compute.volumeAttachments.attach('s1', { volumeId: 'v1' });
    assert.equal(a.device, '/dev/vdb');
    assert.deepEqual(cloud.calls('/compute/v2.1/servers/s1/os-volume_attachments')[0]!.json, {
      volumeAttachment: { volumeId: 'v1' },
    });
    assert.equal(await os.compute.volumeAttachments.detach('s1', 'v1'), true);
  });

  test('server groups are created with the 2.64 policy field', async () => {
    cloud.on('POST', '/compute/v2.1/os-server-groups', (r) =>
      json(200, { server_group: { id: 'g1', members: [], ...(r.json as { server_group: object }).server_group } }),
    );
    const g = await os.compute.serverGroups.create({ name: 'spread', policy: 'anti-affinity' });
    assert.equal(g.policy, 'anti-affinity');
  });
});

describe('network', () => {
  test('networks: find by exact name, create wrapped', async () => {
    cloud.on('GET', '/network/v2.0/networks', (r) =>
      json(200, {
        networks: r.query.get('name') === 'public' ? [{ id: 'n1', name: 'public', 'router:external': true }] : [],
      }),
    );
    cloud.on('POST', '/network/v2.0/networks', (r) =>
      json(201, { network: { id: 'n2', ...(r.json as { network: object }).network } }),
    );
    assert.equal((await os.network.networks.find('public'))?.id, 'n1');
    assert.equal(await os.network.networks.find('private'), undefined);
    const n = await os.network.networks.create({
      name: 'ext',
      'router:external': true,
      'provider:network_type': 'flat',
      'provider:physical_network': 'physnet1',
    });
    assert.equal(n.id, 'n2');
    assert.deepEqual(cloud.calls('/network/v2.0/networks', 'POST')[0]!.json, {
      network: {
        name: 'ext',
        'router:external': true,
        'provider:network_type': 'flat',
        'provider:physical_network': 'physnet1',
      },
    });
  });

  test('router interfaces: add is a PUT that is never retried; hasInterfaceOnSubnet looks at the router ports', async () => {
    cloud.on('PUT', '/network/v2.0/routers/r1/add_router_interface', () => ({ status: 503, body: 'upstream gone' }));
    await assert.rejects(
      os.network.routers.addInterface('r1', { subnet_id: 'sub1' }),
      (e: unknown) => e instanceof OpenStackApiError && e.status === 503,
    );
    assert.equal(cloud.calls('/network/v2.0/routers/r1/add_router_interface').length, 1);
    cloud.on('GET', '/network/v2.0/ports', (r) =>
      json(200, {
        ports:
          r.query.get('device_id') === 'r1'
            ? [{ id: 'p1', fixed_ips: [{ subnet_id: 'sub1', ip_address: '10.0.0.1' }] }]
            : [],
      }),
    );
    assert.equal(await os.network.routers.hasInterfaceOnSubnet('r1', 'sub1'), true);
    assert.equal(await os.network.routers.hasInterfaceOnSubnet('r1', 'sub2'), false);
  });

  test('securityGroupRules.ensure returns the existing rule on 409 SecurityGroupRuleExists', async () => {
    const existing = '0c8c0dc2-3d4c-4a53-8f6b-2a0e3c9b8d11';
    cloud.on('POST', '/network/v2.0/security-group-rules', () =>
      json(409, {
        NeutronError: {
          type: 'SecurityGroupRuleExists',
          message: `Security group rule already exists. Rule id is ${existing}.`,
          detail: '',
        },
      }),
    );
    cloud.on('GET', `/network/v2.0/security-group-rules/${existing}`, () =>
      json(200, {
        security_group_rule: {
          id: existing,
          direction: 'ingress',
          protocol: 'tcp',
          port_range_min: 22,
          port_range_max: 22,
        },
      }),
    );
    const rule = await os.network.securityGroupRules.ensure({
      security_group_id: 'sg',
      direction: 'ingress',
      ethertype: 'IPv4',
      protocol: 'tcp',
      port_range_min: 22,
      port_range_max: 22,
    });
    assert.equal(rule.id, existing);
  });

  test('agents list', async () => {
    cloud.on('GET', '/network/v2.0/agents', () =>
      json(200, {
        agents: [
          {
            id: 'a1',
            agent_type: 'OVN Controller Gateway agent',
            binary: 'ovn-controller',
            host: 'aio',
            alive: true,
            admin_state_up: true,
          },
        ],
      }),
    );
    assert.equal((await os.network.agents.list())[0]!.alive, true);
  });
});

describe('block storage', () => {
  test("volumes: create, waitForStatus, and an error status explained by cinder's user message", async () => {
    cloud.on('POST', `${VOL}/volumes`, (r) =>
      json(202, { volume: { id: 'v1', status: 'creating', ...(r.json as { volume: object }).volume } }),
    );
    const v = await os.blockStorage.volumes.create({ size: 1, name: 'data', volume_type: 'lvm' });
    assert.equal(v.id, 'v1');
    assert.equal(cloud.calls(`${VOL}/volumes`)[0]!.headers['openstack-api-version'], 'volume 3.70');
    let n = 0;
    cloud.on('GET', `${VOL}/volumes/v1`, () =>
      json(200, { volume: { id: 'v1', name: 'data', status: ++n < 2 ? 'creating' : 'available' } }),
    );
    assert.equal(
      (await os.blockStorage.volumes.waitForStatus('v1', 'available', { intervalMs: 5 })).status,
      'available',
    );

    cloud.on('GET', `${VOL}/volumes/v2`, () => json(200, { volume: { id: 'v2', name: 'big', status: 'error' } }));
    cloud.on('GET', `${VOL}/messages`, (r) =>
      json(200, {
        messages:
          r.query.get('resource_uuid') === 'v2'
            ? [
                {
                  id: 'm1',
                  user_message: 'schedule allocate volume: Could not find any available weighted backend.',
                  created_at: '2024-01-02T00:00:00.000000',
                },
                { id: 'm0', user_message: 'older', created_at: '2024-01-01T00:00:00.000000' },
              ]
            : [],
      }),
    );
    await assert.rejects(
      os.blockStorage.volumes.waitForStatus('v2', 'available', { intervalMs: 5, timeoutMs: 2000 }),
      /^OskError: volume v2 \(big\) went to error: schedule allocate volume: Could not find any available weighted backend\.$/,
    );
  });

  test('QoS specs travel flat; associate is a GET with vol_type_id', async () => {
    cloud.on('POST', `${VOL}/qos-specs`, () =>
      json(200, {
        qos_specs: { id: 'q1', name: 'gold', consumer: 'front-end', specs: { total_iops_sec: '1000' } },
        links: [],
      }),
    );
    cloud.on('GET', `${VOL}/qos-specs/q1/associate`, () => ({ status: 202 }));
    const q = await os.blockStorage.qos.create({
      name: 'gold',
      consumer: 'front-end',
      specs: { total_iops_sec: '1000' },
    });
    assert.equal(q.id, 'q1');
    assert.deepEqual(cloud.calls(`${VOL}/qos-specs`)[0]!.json, {
      qos_specs: { total_iops_sec: '1000', name: 'gold', consumer: 'front-end' },
    });
    await os.blockStorage.qos.associate('q1', 'type1');
    assert.equal(cloud.calls(`${VOL}/qos-specs/q1/associate`)[0]!.query.get('vol_type_id'), 'type1');
  });

  test('volume types: find among public and private', async () => {
    cloud.on('GET', `${VOL}/types`, () => json(200, { volume_types: [{ id: 't1', name: 'lvm', is_public: true }] }));
    assert.equal((await os.blockStorage.types.find('lvm'))?.id, 't1');
    assert.equal(cloud.calls(`${VOL}/types`)[0]!.query.get('is_public'), 'None');
  });

  test('attachments list', async () => {
    cloud.on('GET', `${VOL}/attachments`, () =>
      json(200, { attachments: [{ id: 'at1', status: 'attached', instance: 's1', volume_id: 'v1' }] }),
    );
    assert.equal((await os.blockStorage.attachments.list({ volume_id: 'v1' }))[0]!.instance, 's1');
  });
});

describe('image', () => {
  test('create sends properties at the top level; upload PUTs octet-stream bytes from a Buffer', async () => {
    cloud.on('POST', '/image/v2/images', (r) => json(201, { id: 'img1', status: 'queued', ...(r.json as object) }));
    cloud.on('PUT', '/image/v2/images/img1/file', () => ({ status: 204 }));
    const img = await os.image.images.create({
      name: 'cirros',
      disk_format: 'qcow2',
      container_format: 'bare',
      visibility: 'public',
      properties: { hw_disk_bus: 'virtio' },
    });
    assert.equal(img.id, 'img1');
    assert.deepEqual(cloud.calls('/image/v2/images', 'POST')[0]!.json, {
      hw_disk_bus: 'virtio',
      name: 'cirros',
      disk_format: 'qcow2',
      container_format: 'bare',
      visibility: 'public',
    });
    const data = Buffer.from([0x51, 0x46, 0x49, 0xfb, 0, 1, 2, 3]);
    await os.image.images.upload('img1', data);
    const put = cloud.calls('/image/v2/images/img1/file')[0]!;
    assert.equal(put.headers['content-type'], 'application/octet-stream');
    assert.deepEqual(put.body, data);
  });

  test('upload streams a Readable', async () => {
    cloud.on('PUT', '/image/v2/images/img2/file', () => ({ status: 204 }));
    const chunks = [Buffer.alloc(70_000, 1), Buffer.alloc(70_000, 2), Buffer.from('end')];
    await os.image.images.upload('img2', Readable.from(chunks));
    const put = cloud.calls('/image/v2/images/img2/file')[0]!;
    assert.equal(put.headers['transfer-encoding'], 'chunked');
    assert.deepEqual(put.body, Buffer.concat(chunks));
  });

  test('an upload is not retried after a 503', async () => {
    cloud.on('PUT', '/image/v2/images/img3/file', () => ({ status: 503, body: 'busy' }));
    await assert.rejects(
      os.image.images.upload('img3', Buffer.from('x')),
      /image: PUT \/images\/img3\/file failed: 503 Service Unavailable: busy/,
    );
    assert.equal(cloud.calls('/image/v2/images/img3/file').length, 1);
  });
});

describe('placement', () => {
  test('providers by name, inventories and usages', async () => {
    cloud.on('GET', '/placement/resource_providers', (r) =>
      json(200, {
        resource_providers:
          r.query.get('name') === 'aio'
            ? [{ uuid: 'rp1', name: 'aio', generation: 3, parent_provider_uuid: null, root_provider_uuid: 'rp1' }]
            : [],
      }),
    );
    cloud.on('GET', '/placement/resource_providers/rp1/inventories', () =>
      json(200, {
        resource_provider_generation: 3,
        inventories: { VCPU: { total: 8, reserved: 0, min_unit: 1, max_unit: 8, step_size: 1, allocation_ratio: 16 } },
      }),
    );
    cloud.on('GET', '/placement/resource_providers/rp1/usages', () =>
      json(200, { resource_provider_generation: 3, usages: { VCPU: 2, MEMORY_MB: 1024 } }),
    );
    const rp = await os.placement.resourceProviders.find('aio');
    assert.equal(rp?.uuid, 'rp1');
    assert.equal((await os.placement.inventories.get('rp1')).inventories.VCPU?.total, 8);
    assert.equal((await os.placement.usages.ofProvider('rp1')).usages.MEMORY_MB, 1024);
    assert.equal(
      cloud.calls('/placement/resource_providers/rp1/usages')[0]!.headers['openstack-api-version'],
      'placement 1.39',
    );
  });
});
