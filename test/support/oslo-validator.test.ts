import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { namespaces, osloValidatorAvailable, validateOsloFiles } from './oslo-validator.js';

const available = osloValidatorAvailable();
const skip = available ? false : 'oslo-config-validator not installed (run scripts/install-oslo-validator.sh as root)';

let dir = '';
async function file(name: string, text: string): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, text);
  return path;
}

const NOVA_MAIN = `[DEFAULT]
my_ip = 10.0.0.5
enabled_apis = osapi_compute,metadata
rpc_conn_pool_size = 30

[api]
auth_strategy = keystone

[libvirt]
virt_type = kvm
cpu_mode = host-passthrough

[keystone_authtoken]
www_authenticate_uri = http://keystone:5000
auth_url = http://keystone:5000
memcached_servers = memcached:11211
auth_type = password
project_domain_name = Default
user_domain_name = Default
project_name = service
username = nova

[placement]
region_name = RegionOne
auth_type = password
auth_url = http://keystone:5000/v3
project_name = service
project_domain_name = Default
username = placement
user_domain_name = Default

[oslo_concurrency]
lock_path = /var/lib/nova/tmp

[vnc]
enabled = true
server_listen = 0.0.0.0
`;

const NOVA_SECRETS = `[DEFAULT]
transport_url = rabbit://nova:s3cret@rabbitmq:5672/

[api_database]
connection = mysql+pymysql://nova:s3cret@mariadb/nova_api

[database]
connection = mysql+pymysql://nova:s3cret@mariadb/nova

[keystone_authtoken]
password = s3cret

[placement]
password = s3cret
`;

describe('oslo-config-validator against Debian Zed option definitions', { skip }, () => {
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'osk-oslo-validator-test-'));
  });
  after(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('namespaces are listed for every kind', () => {
    for (const [kind, list] of Object.entries(namespaces)) {
      assert.ok(list.length > 0, kind);
    }
    assert.ok(namespaces['nova.conf'].includes('keystonemiddleware.auth_token'));
    assert.ok(namespaces['ml2_conf.ini'].includes('neutron.ml2.ovn'));
  });

  test('a valid nova.conf split into main + secrets passes', async () => {
    const main = await file('nova.conf', NOVA_MAIN);
    const secrets = await file('nova-secrets.conf', NOVA_SECRETS);
    const r = await validateOsloFiles('nova.conf', [main, secrets]);
    assert.deepEqual(r.errors, [], r.output);
    assert.equal(r.ok, true);
  });

  test('a misspelled option fails and is named', async () => {
    const main = await file('nova-typo.conf', NOVA_MAIN);
    const secrets = await file('nova-typo-secrets.conf', NOVA_SECRETS.replace('transport_url =', 'transprot_url ='));
    const r = await validateOsloFiles('nova.conf', [main, secrets]);
    assert.equal(r.ok, false);
    assert.equal(r.errors.length, 1, r.errors.join('\n'));
    assert.match(r.errors[0] ?? '', /\[DEFAULT\] transprot_url: unknown option/);
    assert.match(r.errors[0] ?? '', /did you mean "transport_url"/);
    assert.match(r.errors[0] ?? '', /nova-typo-secrets\.conf/);
  });

  test('a misspelled group fails', async () => {
    const main = await file('nova-group.conf', NOVA_MAIN.replace('[libvirt]', '[libvrit]'));
    const r = await validateOsloFiles('nova.conf', [main]);
    assert.equal(r.ok, false);
    assert.ok(
      r.errors.some((e) => /\[libvrit\] virt_type: unknown group "libvrit" \(did you mean "libvirt"\?\)/.test(e)),
      r.errors.join('\n'),
    );
  });

  test('a misspelled [keystone_authtoken] option fails (the validator itself ignores that group)', async () => {
    const main = await file('nova-ks.conf', NOVA_MAIN);
    const secrets = await file(
      'nova-ks-secrets.conf',
      NOVA_SECRETS.replace('password = s3cret\n', 'pasword = s3cret\n'),
    );
    const r = await validateOsloFiles('nova.conf', [main, secrets]);
    assert.equal(r.ok, false);
    assert.deepEqual(r.errors.length, 1, r.errors.join('\n'));
    assert.match(r.errors[0] ?? '', /\[keystone_authtoken\] pasword: unknown option \(did you mean "password"\?\)/);
  });

  test('a deprecated option name fails unless allowed', async () => {
    const main = await file('nova-dep.conf', `${NOVA_MAIN}\n[DEFAULT]\napi_paste_config = /etc/nova/api-paste.ini\n`);
    const r = await validateOsloFiles('nova.conf', [main]);
    assert.equal(r.ok, false);
    assert.match(r.errors.join('\n'), /\[DEFAULT\] api_paste_config: deprecated name, use \[wsgi\] api_paste_config/);
    const lenient = await validateOsloFiles('nova.conf', [main], { allowDeprecated: true });
    assert.equal(lenient.ok, true, lenient.errors.join('\n'));
    assert.ok(
      lenient.warnings.some((w) => /\[DEFAULT\] api_paste_config: deprecated name/.test(w)),
      lenient.warnings.join('\n'),
    );
    // valid in Zed, but the validator alone would not mention it
    assert.ok(lenient.warnings.some((w) => /\[api\] auth_strategy: deprecated for removal since 21\.0\.0/.test(w)));
  });

  test('value types are not checked by oslo-config-validator', async () => {
    const main = await file('nova-type.conf', NOVA_MAIN.replace('enabled = true', 'enabled = notabool'));
    const r = await validateOsloFiles('nova.conf', [main]);
    assert.equal(r.ok, true, r.errors.join('\n'));
  });

  test('an unparsable file fails', async () => {
    const bad = await file('nova-bad.conf', '[DEFAULT]\nthis line has no equals sign\n');
    const r = await validateOsloFiles('nova.conf', [bad]);
    assert.equal(r.ok, false);
    assert.match(r.errors.join('\n'), /ParseError/);
  });

  test('a valid ML2/OVN ml2_conf.ini passes', async () => {
    const ml2 = await file(
      'ml2_conf.ini',
      `[ml2]
type_drivers = geneve,flat,vlan
tenant_network_types = geneve
mechanism_drivers = ovn
extension_drivers = port_security
overlay_ip_version = 4

[ml2_type_geneve]
vni_ranges = 1:65536
max_header_size = 38

[ml2_type_flat]
flat_networks = physnet1

[securitygroup]
enable_security_group = true

[ovn]
ovn_nb_connection = tcp:ovn-nb:6641
ovn_sb_connection = tcp:ovn-sb:6642
ovn_l3_scheduler = leastloaded
ovn_metadata_enabled = true
`,
    );
    const r = await validateOsloFiles('ml2_conf.ini', [ml2]);
    assert.deepEqual(r.errors, [], r.output);
    assert.equal(r.ok, true);
  });

  test('ml2_conf.ini with a misspelled [ovn] option fails', async () => {
    const ml2 = await file(
      'ml2_typo.ini',
      '[ml2]\nmechanism_drivers = ovn\n[ovn]\novn_nb_conection = tcp:ovn-nb:6641\n',
    );
    const r = await validateOsloFiles('ml2_conf.ini', [ml2]);
    assert.equal(r.ok, false);
    assert.match(
      r.errors.join('\n'),
      /\[ovn\] ovn_nb_conection: unknown option \(did you mean "ovn_nb_connection"\?\)/,
    );
  });

  test('[keystone_authtoken] is an unknown group for keystone.conf', async () => {
    const ks = await file(
      'keystone.conf',
      '[database]\nconnection = mysql+pymysql://k:p@db/keystone\n[token]\nprovider = fernet\n[fernet_tokens]\nkey_repository = /etc/keystone/fernet-keys/\n[keystone_authtoken]\npassword = x\n',
    );
    const r = await validateOsloFiles('keystone.conf', [ks]);
    assert.equal(r.ok, false);
    assert.deepEqual(r.errors.length, 1, r.errors.join('\n'));
    assert.match(r.errors[0] ?? '', /\[keystone_authtoken\] password: unknown group/);
  });

  test('cinder backend sections named by enabled_backends are checked against backend options', async () => {
    const good = await file(
      'cinder.conf',
      '[DEFAULT]\nenabled_backends = lvm-1\n[lvm-1]\nvolume_driver = cinder.volume.drivers.lvm.LVMVolumeDriver\nvolume_group = cinder-volumes\nvolume_backend_name = lvm\ntarget_helper = lioadm\n',
    );
    assert.deepEqual((await validateOsloFiles('cinder.conf', [good])).errors, []);
    const bad = await file('cinder-bad.conf', '[DEFAULT]\nenabled_backends = lvm-1\n[lvm-1]\nvolume_grup = x\n');
    const r = await validateOsloFiles('cinder.conf', [bad]);
    assert.equal(r.ok, false);
    assert.match(r.errors.join('\n'), /\[lvm-1\] volume_grup: unknown option \(did you mean "volume_group"\?\)/);
  });
});
