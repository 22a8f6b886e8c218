/**
 * The one-host Ceph cluster as the model says it: its programs in order, every file in the state
 * directory, its keys never on a command line, and the services that open RBD images pointed at
 * it and started after it. (allinone-libvirt.e2e.test.ts runs it for real.)
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cephxKey } from '../config/secrets.js';
import type { HostHypervisor } from './context.js';
import { parseCloudFile } from '../spec/load.js';
import { statePaths } from '../state/paths.js';
import { DEFAULT_CLOUD_YAML } from '../targets/local/cloud.js';
import { bundleFiles } from '../targets/local/files.js';
import { localTargetProblems } from '../targets/local/target-rules.js';
import { localModel } from '../targets/local/up.js';
import { commandExists } from '../../test/cluster/exec.js';

const STATE = '/var/tmp/osk-ceph-host-test/default';
const HOST = { distro: { id: 'debian', versionId: '12', pretty: 'Debian 12' }, hostname: 'aio', root: true } as const;
/** Each secret's value names it, so a test can look for it anywhere. */
const secrets = (n: string) => (n === 'ceph-fsid' ? '11111111-2222-4333-8444-555555555555' : `SECRET-${n}`);

function hostModel(storage: string, hypervisor: HostHypervisor = 'qemu') {
  const yaml = DEFAULT_CLOUD_YAML.replace('  services:\n', `  storage:\n${storage}  services:\n`);
  const file = parseCloudFile(yaml, 'cloud.yaml', localTargetProblems);
  return localModel(file, statePaths('default', STATE), HOST, secrets, hypervisor);
}

const needs = (model: ReturnType<typeof hostModel>, from: string) =>
  model.edges.filter((e) => e.from === from && e.kind === 'needs').map((e) => e.to);

test('a cephx key is what Ceph encodes: AES, 16 bytes, base64; ceph-authtool accepts it', () => {
  const key = cephxKey(Date.UTC(2026, 11, 7));
  const raw = Buffer.from(key, 'base64');
  assert.equal(raw.length, 28);
  assert.equal(raw.readUInt16LE(0), 1, 'type AES');
  assert.equal(raw.readUInt32LE(2), Date.UTC(2026, 11, 7) / 1000, 'created');
  assert.equal(raw.readUInt16LE(10), 16, 'length');
  assert.notEqual(cephxKey(), cephxKey());
  if (!commandExists('ceph-authtool')) return;
  const dir = mkdtempSync(join(tmpdir(), 'osk-cephx-'));
  try {
    const keyring = join(dir, 'keyring');
    execFileSync('ceph-authtool', ['--create-keyring', keyring, '--name', 'client.t', '--add-key', key]);
    const listed = execFileSync('ceph-authtool', ['--list', keyring], { encoding: 'utf8' });
    assert.match(listed, new RegExp(`key = ${key.replace(/[+/]/g, '\\$&')}`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('storage.backend ceph on one host: mon, mgr, OSD and the pools step, before every service that opens RBD images', () => {
  const model = hostModel(
    '    backend: ceph\n    ceph: {user: osk, pools: {volumes: vol, images: img, backups: bak, vms: vm}}\n',
  );
  for (const id of ['ceph-mon', 'ceph-mgr', 'ceph-osd'])
    assert.equal(model.components.get(id)?.host?.kind, 'process', id);
  assert.deepEqual(needs(model, 'ceph-mgr'), ['ceph-mon']);
  assert.deepEqual(needs(model, 'ceph-osd'), ['ceph-mon']);
  assert.deepEqual(needs(model, 'ceph-pools').sort(), ['ceph-mgr', 'ceph-osd']);
  for (const id of ['cinder-volume', 'cinder-backup', 'glance-api', 'nova-compute'])
    assert.ok(needs(model, id).includes('ceph-pools'), `${id} waits for the pools and the user`);
  assert.ok(needs(model, 'nova-compute').includes('libvirt-ceph-secret'), 'and nova-compute for the libvirt secret');
  assert.deepEqual(needs(model, 'libvirt-ceph-secret').sort(), ['ceph-pools', 'libvirt']);

  // The pools and the user of the file reach the step as arguments.
  const pools = model.components.get('ceph-pools')!.host!;
  assert.ok(pools.kind === 'step');
  assert.deepEqual(pools.command.slice(-4), ['vol', 'img', 'bak', 'vm']);
  assert.ok(pools.command.includes('osk'));

  // Every path of ceph.conf is in the state directory; the user's section names its key file.
  const conf = bundleFiles(model, 'ceph').get(`${STATE}/etc/ceph/ceph.conf`)!;
  assert.ok(conf, [...bundleFiles(model, 'ceph').keys()].join(', '));
  for (const line of conf.split('\n').filter((l) => /^(run_dir|admin_socket|\w+_data|keyfile) = /.test(l)))
    assert.ok(line.split(' = ')[1]!.startsWith(`${STATE}/`), line);
  assert.match(conf, /^\[client\.osk\]\nkeyfile = .*\/keys\/client\.osk\.key$/m);
  assert.match(conf, /^mon_host = \[v2:127\.0\.0\.1:3300,v1:127\.0\.0\.1:6789\]$/m);

  // Cinder, Glance and Nova read that file, as the user the step made.
  const cinder = bundleFiles(model, 'cinder').get(`${STATE}/etc/cinder/cinder.conf`)!;
  assert.match(cinder, new RegExp(`^rbd_ceph_conf = ${STATE}/etc/ceph/ceph\\.conf$`, 'm'));
  assert.match(cinder, /^rbd_user = osk$/m);
  assert.match(cinder, /^rbd_pool = vol$/m);
  assert.match(cinder, /^backup_ceph_pool = bak$/m);
  const glance = bundleFiles(model, 'glance').get(`${STATE}/etc/glance/glance-api.conf`)!;
  assert.match(glance, new RegExp(`^rbd_store_ceph_conf = ${STATE}/etc/ceph/ceph\\.conf$`, 'm'));

  // os-brick's keyring: cinder-volume and cinder-backup see the cluster's directory as /etc/ceph.
  for (const id of ['cinder-volume', 'cinder-backup']) {
    const h = model.components.get(id)!.host!;
    assert.ok(h.kind === 'process');
    assert.equal(h.command[0], 'unshare', id);
    const i = h.command.indexOf(`${STATE}/etc/ceph`);
    assert.equal(h.command[i + 1], '/etc/ceph', id);
    assert.ok(h.packages.includes('python3-rbd'), id);
  }
});

test('no Ceph key is ever on a command line or in a program environment: keys are 0600 files and a step environment', () => {
  const model = hostModel('    backend: ceph\n');
  const keys = ['ceph-mon-key', 'ceph-admin-key', 'ceph-client-key'].map((n) => secrets(n));
  for (const c of model.components.values()) {
    const h = c.host;
    if (!h || (h.kind !== 'process' && h.kind !== 'step')) continue;
    const text = JSON.stringify([h.command, h.env ?? {}]);
    for (const k of keys) assert.ok(!text.includes(k), `${c.id} has a key on its command line or environment`);
    if (h.kind === 'process') assert.deepEqual(h.secretEnv ?? {}, {}, `${c.id}: a program's environment is recorded`);
    for (const f of h.files ?? []) if (f.secret?.startsWith('ceph-')) assert.equal(f.mode, 0o600, f.path);
  }
  const configs = [...model.bundles.keys()].flatMap((b) => [...bundleFiles(model, b).values()]).join('\n');
  for (const k of keys) assert.ok(!configs.includes(k), 'no key in a config file');
});

test('with the fake hypervisor, no libvirt secret; without storage.backend ceph, no Ceph and the fake volume backend', () => {
  const fake = hostModel('    backend: ceph\n', 'fake');
  assert.ok(fake.components.has('ceph-osd'));
  assert.ok(!fake.components.has('libvirt-ceph-secret'));
  assert.ok(!needs(fake, 'nova-compute').includes('libvirt-ceph-secret'));
  const local = hostModel('    backend: local\n');
  assert.ok(![...local.components.keys()].some((id) => id.startsWith('ceph-')));
  const cinder = bundleFiles(local, 'cinder').get(`${STATE}/etc/cinder/cinder.conf`)!;
  assert.match(cinder, /^volume_driver = cinder\.tests\.fake_driver\.FakeLoggingVolumeDriver$/m);
  assert.equal(local.components.get('cinder-backup')!.host!.kind, 'skip');
});
