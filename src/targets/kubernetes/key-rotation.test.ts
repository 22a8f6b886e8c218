import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SecretStore } from '../../state/secret-store.js';
import { render } from './render.js';
import { parseCloudFile } from '../../spec/load.js';
import { KEY_ROTATION_NAME, ROTATE_SCRIPT } from './key-rotation.js';

const cloud = (keystone = '') => `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: kr
spec:
  profile: minimal
${keystone ? `  services:\n    keystone:\n${keystone}` : ''}`;

type Obj = {
  kind: string;
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: any;
  rules?: any[];
};

function rotationGroup(text: string, store = SecretStore.memory('kr')) {
  const { groups } = render(parseCloudFile(text), store);
  return { group: groups.find((g) => g.name.endsWith('-keystone-key-rotation')), groups };
}

describe('keystone key rotation on Kubernetes (rendered objects)', () => {
  test('a CronJob on the default schedule, whose service account may only get and update the fernet key Secret', () => {
    const { group } = rotationGroup(cloud());
    assert.ok(group, 'the rotation is on by default');
    const objs = group.objects as unknown as Obj[];
    assert.deepEqual(objs.map((o) => o.kind).sort(), [
      'CronJob',
      'NetworkPolicy',
      'Role',
      'RoleBinding',
      'ServiceAccount',
    ]);
    const role = objs.find((o) => o.kind === 'Role')!;
    assert.deepEqual(role.rules, [
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['keystone-fernet-keys'], verbs: ['get', 'update'] },
    ]);
    const cj = objs.find((o) => o.kind === 'CronJob')!;
    assert.equal(cj.spec.schedule, '0 0 * * *');
    assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
    const pod = cj.spec.jobTemplate.spec.template.spec;
    assert.equal(pod.serviceAccountName, KEY_ROTATION_NAME);
    const c = pod.containers[0];
    // The script is a constant: the cloud file reaches it only through the environment.
    assert.deepEqual(c.command, ['python3', '-c', ROTATE_SCRIPT]);
    assert.deepEqual(
      c.env.map((e: { name: string; value?: string }) => [e.name, e.value]),
      [
        ['SECRET_NAME', 'keystone-fernet-keys'],
        ['NAMESPACE', undefined],
        ['MAX_ACTIVE_KEYS', '3'],
      ],
    );
  });

  test('the interval and key count of the cloud file reach the CronJob; switched off there is none', () => {
    const cj = (
      rotationGroup(cloud('      token: { maxActiveKeys: 4 }\n      keyRotation: { every: 6h }\n')).group!
        .objects as unknown as Obj[]
    ).find((o) => o.kind === 'CronJob')!;
    assert.equal(cj.spec.schedule, '0 */6 * * *');
    assert.equal(
      cj.spec.jobTemplate.spec.template.spec.containers[0].env.find(
        (e: { name: string }) => e.name === 'MAX_ACTIVE_KEYS',
      ).value,
      '4',
    );
    assert.equal(rotationGroup(cloud('      keyRotation: { enabled: false }\n')).group, undefined);
  });

  test('an interval that would drop keys before their tokens expire, or has no cron schedule, is refused', () => {
    assert.throws(
      () => parseCloudFile(cloud('      keyRotation: { every: 30m }\n'), 'c.yaml'),
      /keyRotation\.every[\s\S]*tokens live 3600 s/,
    );
    assert.throws(() => parseCloudFile(cloud('      keyRotation: { every: 5h }\n'), 'c.yaml'), /no cron schedule/);
    assert.throws(
      () => parseCloudFile(cloud('      keyRotation: { every: "1h; rm -rf /" }\n'), 'c.yaml'),
      /an interval such as 30m/,
    );
  });

  test('rotated keys do not roll the keystone pods: the config hash ignores their values', () => {
    const store = SecretStore.memory('kr');
    const hashOf = () => {
      const dep = rotationGroup(cloud(), store)
        .groups.flatMap((g) => g.objects as unknown as Obj[])
        .find((o) => o.kind === 'Deployment' && o.metadata.name === 'keystone-api')!;
      return dep.spec.template.metadata.annotations['osk.dev/config-hash'] as string;
    };
    const before = hashOf();
    store.replace('keystone-fernet-key-0', 'rotated-value');
    assert.equal(hashOf(), before);
    store.replace('keystone-db-password', 'changed');
    assert.notEqual(hashOf(), before, 'other credentials still roll the pods');
  });
});
