import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parseCloudFile } from '../../spec/load.js';
import { SecretStore } from '../../state/secret-store.js';
import { externalSecrets } from './external-secrets.js';
import { render } from './render.js';

const rendered = (name: string, edit = (t: string) => t) => {
  const cloud = parseCloudFile(edit(readFileSync(`examples/${name}`, 'utf8')), name);
  const { model, groups } = render(cloud, SecretStore.memory(cloud.metadata.name));
  return externalSecrets(model, groups);
};

test("the Secrets apply checks first: the user's Ceph key, with the components that mount it; none of osk's own", () => {
  const ha = rendered('ha.yaml');
  assert.deepEqual([...ha.keys()], ['ceph-client-keyring']);
  for (const c of ['cinder-volume', 'nova-compute']) assert.ok(ha.get('ceph-client-keyring')!.includes(c), c);
  const renamed = rendered('ha.yaml', (t) => t.replace('user: cinder', 'user: cinder\n      keyringSecret: rook-key'));
  assert.deepEqual([...renamed.keys()], ['rook-key']);
  assert.deepEqual([...rendered('minimal.yaml').keys()], []);
});
