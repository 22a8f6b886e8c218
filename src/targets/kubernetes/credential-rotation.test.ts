import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseCloudFile } from '../../spec/load.js';
import { SecretStore } from '../../state/secret-store.js';
import { CREDENTIAL_ROTATION_NAME } from './credential-rotation.js';
import { CREDENTIAL_ROTATE_SCRIPT } from './credential-rotation-script.js';
import { render } from './render.js';
import { schemaProblems } from './testing/schema.js';
import type { KubeObject } from './objects.js';

const cloud = (keystone = '', profile = 'minimal') => `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: cr
spec:
  profile: ${profile}
${keystone ? `  services:\n    keystone:\n${keystone}` : ''}`;

type Obj = { kind: string; metadata: { name: string }; spec?: any; rules?: any[] };

function rendered(text: string, store = SecretStore.memory('cr')) {
  const { groups } = render(parseCloudFile(text), store);
  const group = groups.find((g) => g.name.endsWith(`-${CREDENTIAL_ROTATION_NAME}`));
  return { group, all: groups.flatMap((g) => g.objects as unknown as Obj[]) };
}

describe('keystone credential key rotation on Kubernetes (rendered objects)', () => {
  test('a weekly CronJob whose service account may only get and update the credential key Secret', () => {
    const { group } = rendered(cloud());
    assert.ok(group, 'on by default');
    assert.deepEqual(schemaProblems(group.objects as KubeObject[]), []);
    const objs = group.objects as unknown as Obj[];
    assert.deepEqual(objs.map((o) => `${o.kind}/${o.metadata.name}`).sort(), [
      'CronJob/keystone-credential-rotation',
      'NetworkPolicy/keystone-credential-rotation',
      'NetworkPolicy/keystone-credential-rotation-to-mariadb',
      'Role/keystone-credential-rotation',
      'RoleBinding/keystone-credential-rotation',
      'ServiceAccount/keystone-credential-rotation',
    ]);
    assert.deepEqual(objs.find((o) => o.kind === 'Role')!.rules, [
      {
        apiGroups: [''],
        resources: ['secrets'],
        resourceNames: ['keystone-credential-keys'],
        verbs: ['get', 'update'],
      },
    ]);
    const cj = objs.find((o) => o.kind === 'CronJob')!;
    assert.equal(cj.spec.schedule, '0 0 */7 * *');
    assert.equal(cj.spec.concurrencyPolicy, 'Forbid');
    const pod = cj.spec.jobTemplate.spec.template.spec;
    assert.equal(pod.serviceAccountName, CREDENTIAL_ROTATION_NAME);
    assert.equal(pod.securityContext.runAsNonRoot, true);
    const c = pod.containers[0];
    // A constant script; keystone-manage with the image's config paths as its arguments.
    assert.deepEqual(c.command, [
      'python3',
      '-c',
      CREDENTIAL_ROTATE_SCRIPT,
      'keystone-manage',
      '--config-file',
      '/etc/keystone/keystone.conf',
      '--config-dir',
      '/etc/keystone/keystone.conf.d',
    ]);
    assert.deepEqual(
      c.env.map((e: { name: string; value?: string }) => [e.name, e.value]),
      [
        ['SECRET_NAME', 'keystone-credential-keys'],
        ['NAMESPACE', undefined],
        ['MIN_AGE_SECONDS', String((7 * 86400) / 2)],
        ['TMPDIR', '/tmp'],
      ],
    );
    assert.equal(c.securityContext.readOnlyRootFilesystem, true);
    // keystone.conf and its database credentials; never a key Secret as a volume (the script
    // reads the credential keys through the API, and the token keys not at all).
    const secrets = pod.volumes.filter((v: { secret?: unknown }) => v.secret).map((v: any) => v.secret.secretName);
    assert.deepEqual(secrets, ['keystone-config-secrets']);
    assert.deepEqual(
      c.volumeMounts.map((m: { mountPath: string }) => m.mountPath),
      [
        '/etc/keystone/keystone.conf',
        '/etc/keystone/keystone-api-uwsgi.ini',
        '/etc/keystone/keystone.conf.d/secrets.conf',
        '/tmp',
      ],
    );
    assert.equal(pod.volumes.find((v: { name: string }) => v.name === 'scratch').emptyDir.medium, 'Memory');
  });

  test('the network: the API server and the database, which accepts it; nothing else', () => {
    const objs = rendered(cloud()).group!.objects as unknown as Obj[];
    const own = objs.find((o) => o.metadata.name === CREDENTIAL_ROTATION_NAME && o.kind === 'NetworkPolicy')!;
    assert.deepEqual(own.spec.policyTypes, ['Egress']);
    assert.deepEqual(
      own.spec.egress.map((e: any) => e.ports.map((p: { port: number }) => p.port)),
      [[443, 6443], [3306]],
    );
    assert.deepEqual(own.spec.egress[1].to, [
      { podSelector: { matchLabels: { 'app.kubernetes.io/instance': 'cr', 'osk.dev/component': 'mariadb' } } },
    ]);
    const db = objs.find((o) => o.metadata.name === `${CREDENTIAL_ROTATION_NAME}-to-mariadb`)!;
    assert.deepEqual(db.spec.podSelector.matchLabels['osk.dev/component'], 'mariadb');
    assert.deepEqual(db.spec.ingress, [
      {
        from: [
          {
            podSelector: {
              matchLabels: { 'app.kubernetes.io/instance': 'cr', 'osk.dev/component': CREDENTIAL_ROTATION_NAME },
            },
          },
        ],
        ports: [{ protocol: 'TCP', port: 3306 }],
      },
    ]);
  });

  test('the interval reaches the CronJob; switched off there is none; the fernet rotation is a separate matter', () => {
    const cj = (
      rendered(cloud('      credentialKeyRotation: { every: 12h }\n')).group!.objects as unknown as Obj[]
    ).find((o) => o.kind === 'CronJob')!;
    assert.equal(cj.spec.schedule, '0 */12 * * *');
    const off = rendered(cloud('      credentialKeyRotation: { enabled: false }\n'));
    assert.equal(off.group, undefined);
    assert.ok(
      off.all.some((o) => o.metadata.name === 'keystone-key-rotation'),
      'fernet keys still rotate',
    );
    const jws = rendered(cloud('      token: { provider: jws }\n'));
    assert.ok(jws.group, 'credential keys rotate whatever signs the tokens');
  });

  test('an interval under 1h or without a cron schedule is refused at its field', () => {
    assert.throws(
      () => parseCloudFile(cloud('      credentialKeyRotation: { every: 30m }\n'), 'c.yaml'),
      /credentialKeyRotation\.every[\s\S]*shorter than 1h/,
    );
    assert.throws(
      () => parseCloudFile(cloud('      credentialKeyRotation: { every: 5h }\n'), 'c.yaml'),
      /credentialKeyRotation\.every[\s\S]*no cron schedule/,
    );
    assert.doesNotThrow(() => parseCloudFile(cloud('      credentialKeyRotation: { enabled: false, every: 5h }\n')));
  });

  test('three credential keys, owned by the cluster: rotated values do not roll the keystone pods', () => {
    const store = SecretStore.memory('cr');
    const hash = () =>
      rendered(cloud(), store).all.find((o) => o.kind === 'Deployment' && o.metadata.name === 'keystone-api')!.spec
        .template.metadata.annotations['osk.dev/config-hash'] as string;
    const before = hash();
    assert.deepEqual(
      Object.keys(store.entries()).filter((n) => n.startsWith('keystone-credential-key-')),
      ['keystone-credential-key-0', 'keystone-credential-key-1', 'keystone-credential-key-2'],
    );
    store.replace('keystone-credential-key-2', 'rotated');
    assert.equal(hash(), before);
  });
});
