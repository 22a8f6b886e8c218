import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import { OskError, SpecError } from '../errors.js';
import { buildModel } from '../plan/model.js';
import { cronPeriodMinutes } from './cron.js';
import { quantityValue } from './rules.js';
import { didYouMean } from './did-you-mean.js';
import { decodeCloudText, LIMITS, parseCloudFile } from './load.js';
import { readCloudBytes, readCloudStream } from '../state/cloud-file.js';

function problemsOf(text: string) {
  try {
    parseCloudFile(text, 'cloud.yaml');
  } catch (e) {
    assert.ok(e instanceof SpecError, `expected SpecError, got ${String(e)}`);
    return e.problems;
  }
  assert.fail('expected the file to be rejected');
}

const head = 'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: demo\n';

test('the examples are valid cloud files', () => {
  for (const f of ['examples/minimal.yaml', 'examples/ha.yaml']) {
    const cloud = parseCloudFile(readFileSync(f, 'utf8'), f);
    assert.equal(cloud.kind, 'Cloud');
  }
});

test('a cloud file with only metadata gets the schema defaults', () => {
  const c = parseCloudFile(head);
  assert.equal(c.spec.profile, 'minimal');
  assert.equal(c.spec.region, 'RegionOne');
  assert.equal(c.spec.release, '2025.1');
});

test('every problem of a file is reported at once, each with line, column and field path', () => {
  const text = `${head}spec:\n  profile: hA\n  replcias: 3\n  infra:\n    mariadb:\n      replicas: 2\n  services:\n    nova:\n      api:\n        replicas: "three"\n  network:\n    mtu: 100\n`;
  const p = problemsOf(text);
  const byPath = Object.fromEntries(p.map((x) => [x.path, x]));
  assert.equal(p.length, 5, p.map((x) => x.message).join('\n'));
  assert.deepEqual([byPath['spec.profile']!.line, byPath['spec.profile']!.col], [6, 12]);
  assert.match(byPath['spec.profile']!.message, /did you mean "ha"/);
  assert.equal(byPath['spec.replcias']!.line, 7);
  assert.match(byPath['spec.replcias']!.message, /unknown field "replcias"/);
  assert.match(byPath['spec.infra.mariadb.replicas']!.message, /odd number/);
  assert.match(byPath['spec.services.nova.api.replicas']!.message, /expected a number, found "three"/);
  assert.equal(byPath['spec.services.nova.api.replicas']!.line, 14);
  assert.match(byPath['spec.network.mtu']!.message, /≥ 1280, found 100/);
  for (const x of p) assert.equal(x.file, 'cloud.yaml');
});

test('an unknown key gets a did-you-mean from the keys allowed at its place', () => {
  const p = problemsOf(`${head}spec:\n  infra:\n    mariadb:\n      innodbBufferPolSize: 1G\n`);
  assert.equal(p.length, 1);
  assert.match(p[0]!.message, /did you mean "innodbBufferPoolSize"/);
  assert.deepEqual([p[0]!.line, p[0]!.col], [8, 7]);
});

test('duplicate keys, YAML syntax errors, empty files and wrong kinds are caught', () => {
  assert.match(problemsOf(`${head}spec:\n  region: A\n  region: B\n`)[0]!.message, /duplicate key/);
  assert.match(problemsOf('apiVersion: [1,\n')[0]!.message, /YAML syntax error/);
  assert.match(problemsOf('')[0]!.message, /empty/);
  assert.match(problemsOf('# only a comment\n')[0]!.message, /empty/);
  const kinds = problemsOf('apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n');
  assert.deepEqual(
    kinds.map((k) => k.path),
    ['apiVersion', 'kind'],
  );
  assert.match(problemsOf('- a\n- b\n')[0]!.message, /expected a mapping/);
  assert.match(problemsOf(`${head}---\n${head}`)[0]!.message, /second YAML document/);
});

test('values of the wrong type name what was expected and what was found', () => {
  const p = problemsOf(
    `${head}spec:\n  monitoring:\n    enabled: "yes"\n  infra:\n    rabbitmq:\n      memoryHighWatermark: 2\n  storage:\n    backend: nfs\n`,
  );
  const msgs = p.map((x) => `${x.path}: ${x.message}`).join('\n');
  assert.match(msgs, /spec.monitoring.enabled: expected true or false, found "yes"/);
  assert.match(msgs, /memoryHighWatermark: expected a number ≤ 0.9, found 2/);
  assert.match(msgs, /storage.backend: expected one of "ceph", "lvm", "local", found "nfs"/);
});

test('cross-field rules name the field to fix', () => {
  const p = problemsOf(
    `${head}spec:\n  storage:\n    backend: ceph\n  services:\n    horizon:\n      expose: ingress\n  endpoints:\n    tls:\n      enabled: true\n`,
  );
  const paths = p.map((x) => x.path).sort();
  assert.deepEqual(paths, ['spec.endpoints.tls', 'spec.endpoints.tls', 'spec.services.horizon.expose']);
});

test('a missing required field says so', () => {
  const p = problemsOf('apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata: {}\n');
  assert.equal(p[0]!.path, 'metadata.name');
  assert.match(p[0]!.message, /required field is missing/);
});

// ---- every value is checked with the rules of where it lands ------------------------------

const RULES: { name: string; yaml: string; path: string; message: RegExp }[] = [
  {
    name: 'interface with shell',
    yaml: 'spec:\n  network:\n    providerNetworks:\n      - { name: p1, interface: "bond1; nsenter -t 1 sh" }\n',
    path: 'spec.network.providerNetworks.0.interface',
    message: /Linux interface name/,
  },
  {
    name: 'interface longer than 15',
    yaml: 'spec:\n  network:\n    providerNetworks:\n      - { name: p1, interface: abcdefghijklmnop }\n',
    path: 'spec.network.providerNetworks.0.interface',
    message: /Linux interface name/,
  },
  {
    name: 'interface ..',
    yaml: 'spec:\n  network:\n    providerNetworks:\n      - { name: p1, interface: ".." }\n',
    path: 'spec.network.providerNetworks.0.interface',
    message: /other than "\." or "\.\."/,
  },
  {
    name: 'bridge with a quote',
    yaml: 'spec:\n  network:\n    providerNetworks:\n      - { name: p1, interface: bond1, bridge: "br\\" x" }\n',
    path: 'spec.network.providerNetworks.0.bridge',
    message: /Linux interface name/,
  },
  {
    name: 'bridge br-int',
    yaml: 'spec:\n  network:\n    providerNetworks:\n      - { name: p1, interface: bond1, bridge: br-int }\n',
    path: 'spec.network.providerNetworks.0.bridge',
    message: /integration bridge/,
  },
  {
    name: 'newline in an LVM volume group',
    yaml: 'spec:\n  storage:\n    lvm: { volumeGroup: "vg\\n[DEFAULT]" }\n',
    path: 'spec.storage.lvm.volumeGroup',
    message: /one line of text without control characters \(found a newline/,
  },
  {
    name: 'newline in a Ceph pool',
    yaml: 'spec:\n  storage:\n    backend: ceph\n    ceph: { monitors: ["10.0.0.1"], pools: { volumes: "v\\nx" } }\n',
    path: 'spec.storage.ceph.pools.volumes',
    message: /newline/,
  },
  {
    name: 'ceph monitor with a path',
    yaml: 'spec:\n  storage:\n    backend: ceph\n    ceph: { monitors: ["10.0.0.1:6789/x"] }\n',
    path: 'spec.storage.ceph.monitors.0',
    message: /host\[:port\]/,
  },
  {
    name: 'ceph monitor port 70000',
    yaml: 'spec:\n  storage:\n    backend: ceph\n    ceph: { monitors: ["mon1:70000"] }\n',
    path: 'spec.storage.ceph.monitors.0',
    message: /port from 1 to 65535/,
  },
  {
    name: 'keyringSecret not a name',
    yaml: 'spec:\n  storage:\n    backend: ceph\n    ceph: { monitors: ["mon1"], keyringSecret: "Ceph Key" }\n',
    path: 'spec.storage.ceph.keyringSecret',
    message: /Kubernetes object name/,
  },
  {
    name: 'volume type with shell',
    yaml: 'spec:\n  storage:\n    cinderBackends:\n      - { name: a, volumeType: "x; curl e.com | sh" }\n',
    path: 'spec.storage.cinderBackends.0.volumeType',
    message: /Cinder volume type name/,
  },
  {
    name: 'storageClass upper case',
    yaml: 'spec:\n  storage:\n    storageClass: Fast_SSD\n',
    path: 'spec.storage.storageClass',
    message: /Kubernetes object name/,
  },
  {
    name: 'claim storageClass',
    yaml: 'spec:\n  infra:\n    mariadb:\n      storage: { storageClass: "a/b" }\n',
    path: 'spec.infra.mariadb.storage.storageClass',
    message: /Kubernetes object name/,
  },
  {
    name: 'pull secret',
    yaml: 'spec:\n  images:\n    pullSecrets: [My_Secret]\n',
    path: 'spec.images.pullSecrets.0',
    message: /Kubernetes object name/,
  },
  {
    name: 'issuer',
    yaml: 'spec:\n  endpoints:\n    publicDomain: x.example.com\n    tls: { enabled: true, issuer: "Lets Encrypt" }\n',
    path: 'spec.endpoints.tls.issuer',
    message: /Kubernetes object name/,
  },
  {
    name: 'ingress class',
    yaml: 'spec:\n  endpoints:\n    ingressClassName: NGINX\n',
    path: 'spec.endpoints.ingressClassName',
    message: /Kubernetes object name/,
  },
  {
    name: 'tls secret',
    yaml: 'spec:\n  endpoints:\n    publicDomain: x.example.com\n    tls: { enabled: true, secretName: "-x" }\n',
    path: 'spec.endpoints.tls.secretName',
    message: /Kubernetes object name/,
  },
  {
    name: 'DNS label over 63',
    yaml: `spec:\n  endpoints:\n    publicDomain: ${'a'.repeat(64)}.example.com\n`,
    path: 'spec.endpoints.publicDomain',
    message: /at most 63 characters each/,
  },
  {
    name: 'node selector key',
    yaml: 'spec:\n  nodes:\n    compute:\n      selector: { "bad key!": "x" }\n',
    path: 'spec.nodes.compute.selector.bad key!',
    message: /label key/,
  },
  {
    name: 'node selector value over 63',
    yaml: `spec:\n  nodes:\n    compute:\n      selector: { role: ${'v'.repeat(64)} }\n`,
    path: 'spec.nodes.compute.selector.role',
    message: /label value/,
  },
  {
    name: 'label key prefix',
    yaml: 'spec:\n  nodes:\n    gpu:\n      selector: { "Example.COM/gpu": "true" }\n',
    path: 'spec.nodes.gpu.selector.Example.COM/gpu',
    message: /prefix that is a DNS subdomain/,
  },
  {
    name: 'image override reference',
    yaml: 'spec:\n  images:\n    overrides: { keystone: "my registry/keystone:1" }\n',
    path: 'spec.images.overrides.keystone',
    message: /image reference/,
  },
  {
    name: 'image override tag',
    yaml: 'spec:\n  images:\n    overrides: { nova: "r.example.com/nova:$(id)" }\n',
    path: 'spec.images.overrides.nova',
    message: /image reference/,
  },
  {
    name: 'images built from Debian for a release Debian has no packages of',
    yaml: 'spec:\n  release: "2024.2"\n  images:\n    source: debian\n',
    path: 'spec.images.source',
    message: /release 2024\.2 has no images built from Debian/,
  },
  {
    name: 'images built from Debian for 2025.2',
    yaml: 'spec:\n  release: "2025.2"\n  images: { source: debian }\n',
    path: 'spec.images.source',
    message: /release 2025\.2 has no images built from Debian/,
  },
  {
    name: 'registry with scheme',
    yaml: 'spec:\n  images:\n    registry: "https://mirror.example.com"\n',
    path: 'spec.images.registry',
    message: /registry host/,
  },
  {
    name: 'cron out of range',
    yaml: 'spec:\n  backup:\n    schedule: "61 25 * * *"\n',
    path: 'spec.backup.schedule',
    message: /field 1 \(minute\) "61" is out of range 0-59/,
  },
  {
    name: 'cron hour',
    yaml: 'spec:\n  backup:\n    schedule: "0 25 * * *"\n',
    path: 'spec.backup.schedule',
    message: /field 2 \(hour\) "25" is out of range 0-23/,
  },
  {
    name: 'cron never runs',
    yaml: 'spec:\n  backup:\n    schedule: "0 0 30 2 *"\n',
    path: 'spec.backup.schedule',
    message: /never runs/,
  },
  {
    name: 'cron four fields',
    yaml: 'spec:\n  backup:\n    schedule: "0 2 * *"\n',
    path: 'spec.backup.schedule',
    message: /five fields/,
  },
  {
    name: 'S3 credentials in the URL',
    yaml: 'spec:\n  backup:\n    offsite: { url: "s3://AKIAXXX:secret@bucket/prod" }\n',
    path: 'spec.backup.offsite.url',
    message: /carries credentials/,
  },
  {
    name: 'endpoint credentials',
    yaml: 'spec:\n  backup:\n    offsite: { url: "s3://bucket/p", endpoint: "https://u:p@minio.example.com" }\n',
    path: 'spec.backup.offsite.endpoint',
    message: /carries credentials/,
  },
  {
    name: 'endpoint scheme',
    yaml: 'spec:\n  backup:\n    offsite: { url: "s3://bucket/p", endpoint: "ftp://minio.example.com" }\n',
    path: 'spec.backup.offsite.endpoint',
    message: /http or https URL/,
  },
  {
    name: 'S3 prefix with a quote',
    yaml: 'spec:\n  backup:\n    offsite: { url: "s3://bucket/a\\"b" }\n',
    path: 'spec.backup.offsite.url',
    message: /S3 prefix/,
  },
  {
    name: 'hostPath /',
    yaml: 'spec:\n  storage:\n    glance:\n      cache: { hostPath: / }\n',
    path: 'spec.storage.glance.cache.hostPath',
    message: /absolute path/,
  },
  {
    name: 'hostPath /etc',
    yaml: 'spec:\n  storage:\n    glance:\n      cache: { hostPath: /etc }\n',
    path: 'spec.storage.glance.cache.hostPath',
    message: /system directory/,
  },
  {
    name: 'hostPath inside /proc',
    yaml: 'spec:\n  storage:\n    glance:\n      cache: { hostPath: /proc/1/root }\n',
    path: 'spec.storage.glance.cache.hostPath',
    message: /inside \/proc/,
  },
  {
    name: 'hostPath /var/run',
    yaml: 'spec:\n  storage:\n    glance:\n      cache: { hostPath: /var/run/x }\n',
    path: 'spec.storage.glance.cache.hostPath',
    message: /inside \/var\/run/,
  },
  {
    name: 'hostPath ..',
    yaml: 'spec:\n  storage:\n    glance:\n      cache: { hostPath: /var/lib/../../etc }\n',
    path: 'spec.storage.glance.cache.hostPath',
    message: /"\.\."/,
  },
  {
    name: 'toleration Exists with a value',
    yaml: 'spec:\n  nodes:\n    compute:\n      tolerations: [{ key: k, operator: Exists, value: v }]\n',
    path: 'spec.nodes.compute.tolerations.0.value',
    message: /operator Exists must not have a value/,
  },
  {
    name: 'toleration without key',
    yaml: 'spec:\n  nodes:\n    compute:\n      tolerations: [{ operator: Equal, value: v }]\n',
    path: 'spec.nodes.compute.tolerations.0.operator',
    message: /needs operator: Exists/,
  },
  {
    name: 'GPU selector that adds nothing to compute',
    yaml: 'spec:\n  nodes:\n    gpu:\n      selector: { openstack-compute-node: enabled }\n',
    path: 'spec.nodes.gpu.selector',
    message: /adds no label to the compute selector/,
  },
  {
    name: 'toleration effect',
    yaml: 'spec:\n  nodes:\n    compute:\n      tolerations: [{ key: k, effect: NoRun }]\n',
    path: 'spec.nodes.compute.tolerations.0.effect',
    message: /NoSchedule/,
  },
  {
    name: 'limit below request',
    yaml: 'spec:\n  services:\n    nova:\n      api:\n        resources: { requests: { memory: 1Gi }, limits: { memory: 512Mi } }\n',
    path: 'spec.services.nova.api.resources.limits.memory',
    message: /limit 512Mi is below the request 1Gi/,
  },
  {
    name: 'cpu limit below request',
    yaml: 'spec:\n  infra:\n    ovn:\n      northd:\n        resources: { requests: { cpu: 1500m }, limits: { cpu: "1" } }\n',
    path: 'spec.infra.ovn.northd.resources.limits.cpu',
    message: /below the request 1500m/,
  },
  {
    name: 'size 0',
    yaml: 'spec:\n  infra:\n    rabbitmq:\n      storage: { size: 0Gi }\n',
    path: 'spec.infra.rabbitmq.storage.size',
    message: /greater than 0/,
  },
  {
    name: 'cache size 0',
    yaml: 'spec:\n  storage:\n    glance:\n      cache: { hostPath: /srv/glance, maxSize: "0" }\n',
    path: 'spec.storage.glance.cache.maxSize',
    message: /greater than 0/,
  },
  {
    name: '150 %',
    yaml: 'spec:\n  monitoring:\n    thresholds: { containerCpu: 150% }\n',
    path: 'spec.monitoring.thresholds.containerCpu',
    message: /greater than 0% and less than 100%/,
  },
  {
    name: '0 %',
    yaml: 'spec:\n  monitoring:\n    thresholds: { neutronPortFailureRate: 0% }\n',
    path: 'spec.monitoring.thresholds.neutronPortFailureRate',
    message: /greater than 0%/,
  },
  {
    name: 'duration 0',
    yaml: 'spec:\n  monitoring:\n    thresholds: { gatewayP99: 0ms }\n',
    path: 'spec.monitoring.thresholds.gatewayP99',
    message: /greater than 0/,
  },
  { name: 'namespace kube-system', yaml: '', path: 'metadata.namespace', message: /namespace of Kubernetes itself/ },
  { name: 'tab in a region', yaml: 'spec:\n  region: "Region\\tOne"\n', path: 'spec.region', message: /found a tab/ },
  {
    name: 'unicode line separator',
    yaml: 'spec:\n  region: "Region\\u2028One"\n',
    path: 'spec.region',
    message: /control character U\+2028/,
  },
];

for (const r of RULES) {
  test(`refused at load time with its place in the file: ${r.name}`, () => {
    const text =
      r.name === 'namespace kube-system'
        ? 'apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: demo\n  namespace: kube-system\n'
        : head + r.yaml;
    const p = problemsOf(text);
    const hit = p.find((x) => x.path === r.path);
    assert.ok(hit, `no problem at ${r.path}; got:\n${p.map((x) => `${x.path}: ${x.message}`).join('\n')}`);
    assert.match(hit.message, r.message);
    assert.ok(hit.line >= 4 && hit.col >= 1, `located: ${hit.line}:${hit.col}`);
  });
}

test('the namespaces of Kubernetes itself and default are refused, with a reason and a fix', () => {
  for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease', 'kube-anything']) {
    const p = problemsOf(`apiVersion: osk.dev/v1alpha1\nkind: Cloud\nmetadata:\n  name: demo\n  namespace: ${ns}\n`);
    assert.equal(p[0]!.path, 'metadata.namespace');
    assert.match(p[0]!.message, /default-deny NetworkPolicy/);
    assert.match(p[0]!.hint ?? '', /namespace of its own/);
  }
});

test('two provider networks on one physnet, interface or bridge are refused', () => {
  const p = problemsOf(
    `${head}spec:\n  network:\n    providerNetworks:\n      - { name: p1, interface: bond1 }\n      - { name: p1, interface: bond2, bridge: br-two }\n      - { name: p3, interface: bond1, bridge: br-three }\n      - { name: p4, interface: bond4, bridge: br-two }\n`,
  );
  const msgs = p.map((x) => `${x.path}: ${x.message}`).join('\n');
  assert.match(msgs, /providerNetworks\.1\.name: physnet "p1" is already used by providerNetworks\[0\]/);
  assert.match(msgs, /providerNetworks\.2\.interface: interface "bond1" is already used by providerNetworks\[0\]/);
  assert.match(msgs, /providerNetworks\.3\.bridge: bridge "br-two" is already used by providerNetworks\[1\]/);
});

test("a multus network outside the cloud's namespace is refused; its own namespace is fine", () => {
  const p = problemsOf(
    `${head}  namespace: cloud\nspec:\n  network:\n    multus:\n      networks:\n        - { name: storage, namespace: other }\n        - { name: mgmt, namespace: cloud }\n`,
  );
  assert.deepEqual(
    p.map((x) => x.path),
    ['spec.network.multus.networks.0.namespace'],
  );
  assert.match(p[0]!.message, /not the cloud's own "cloud"/);
});

test("metadata.labels are checked as Kubernetes labels and may not take osk's own keys", () => {
  const p = problemsOf(
    `${head}  labels:\n    app.kubernetes.io/managed-by: me\n    osk.dev/cloud: x\n    "team name": a\n    team: "a b"\n    example.com/ok: fine\n`,
  );
  const byPath = Object.fromEntries(p.map((x) => [x.path, x.message]));
  assert.match(byPath['metadata.labels.app.kubernetes.io/managed-by']!, /set by osk/);
  assert.match(byPath['metadata.labels.osk.dev/cloud']!, /set by osk/);
  assert.match(byPath['metadata.labels.team name']!, /label key/);
  assert.match(byPath['metadata.labels.team']!, /label value/);
  assert.equal(p.length, 4);
});

test('a typo in an images.overrides key is an error with a did-you-mean', () => {
  const p = problemsOf(`${head}spec:\n  images:\n    overrides:\n      keystnoe: r.example.com/keystone:1\n`);
  assert.equal(p.length, 1);
  assert.equal(p[0]!.path, 'spec.images.overrides.keystnoe');
  assert.match(p[0]!.message, /did you mean "keystone"/);
  assert.deepEqual([p[0]!.line, p[0]!.col], [8, 7]);
});

test('the load-time cron check and the renderer agree on every schedule', () => {
  const schedules = [
    '0 2 * * *',
    '@daily',
    '*/15 * * * *',
    '0 1,13 * * *',
    '0 0 * * 1-5',
    '61 * * * *',
    '0 25 * * *',
    '0 0 30 2 *',
    '0 0 * * 8',
    '5-1 * * * *',
    '*/0 * * * *',
    'a b c d e',
    '@every 1h',
    '0 0 1 13 *',
  ];
  for (const s of schedules) {
    const accepted = (() => {
      try {
        parseCloudFile(`${head}spec:\n  backup:\n    schedule: "${s}"\n`);
        return true;
      } catch {
        return false;
      }
    })();
    assert.equal(accepted, cronPeriodMinutes(s) !== undefined, s);
  }
});

test('leaving a service block out keeps the service: only enabled: false disables it', () => {
  const without = buildModel(parseCloudFile(`${head}spec:\n  services:\n    glance: {}\n`));
  assert.ok(without.components.has('cinder-api'), 'cinder is deployed when its block is absent');
  const disabled = buildModel(parseCloudFile(`${head}spec:\n  services:\n    cinder: { enabled: false }\n`));
  assert.ok(!disabled.components.has('cinder-api'));
});

// ---- bounded input ------------------------------------------------------------------------

test('a file over 1 MiB, an endless device, binary data and non-UTF-8 text are clear errors', async () => {
  assert.throws(
    () => parseCloudFile(head + '#'.repeat(LIMITS.fileBytes)),
    (e: unknown) => e instanceof OskError && e.exitCode === 2 && /larger than 1 MiB/.test(e.message),
  );
  await assert.rejects(
    readCloudBytes('/dev/zero'),
    (e: unknown) => e instanceof OskError && e.exitCode === 2 && /larger than 1 MiB/.test(e.message),
  );
  await assert.rejects(readCloudBytes('/nonexistent/cloud.yaml'), /no such file/);
  assert.throws(
    () => decodeCloudText(Buffer.from('apiVersion: x\n\0\0'), 'f.yaml'),
    (e: unknown) => e instanceof SpecError && /binary data/.test(e.message) && e.problems[0]!.line === 2,
  );
  assert.throws(
    () => decodeCloudText(Buffer.from([0x61, 0x3a, 0x20, 0xc3, 0x28]), 'f.yaml'),
    (e: unknown) => e instanceof SpecError && /not UTF-8/.test(e.message) && e.problems[0]!.col === 4,
  );
  assert.throws(
    () => decodeCloudText(Buffer.from([0xed, 0xa0, 0x80]), 'f.yaml'),
    /not UTF-8/,
    'a UTF-16 surrogate is not UTF-8',
  );
  assert.equal(decodeCloudText(Buffer.from('\ufeffname: é ✓ 😀', 'utf8')), 'name: é ✓ 😀');
});

test('an alias expansion bomb and deep nesting are refused before they are expanded', () => {
  const bomb =
    'a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\n';
  assert.match(problemsOf(bomb)[0]!.message, /aliases/);
  const manyAliases =
    'a: &a x\nb: [' +
    Array(LIMITS.aliases + 1)
      .fill('*a')
      .join(',') +
    ']\n';
  assert.match(problemsOf(manyAliases)[0]!.message, /more than 100 YAML aliases/);
  assert.match(
    problemsOf(`${head}spec: ${'['.repeat(200_000)}${']'.repeat(200_000)}\n`)[0]!.message,
    /nested more than 32 levels/,
  );
  let block = `${head}spec:\n`;
  for (let i = 1; i < 60; i++) block += `${'  '.repeat(i)}k${i}:\n`;
  assert.match(problemsOf(block)[0]!.message, /nested more than 32 levels/);
});

test('a long string is refused where it is, whatever the field', () => {
  const p = problemsOf(`${head}spec:\n  region: ${'r'.repeat(5000)}\n  ? ${'k'.repeat(5000)}\n  : 1\n`);
  assert.match(p.find((x) => x.path === 'spec.region')!.message, /5000 characters long, expected at most 4096/);
  assert.ok(p.some((x) => /key is 5000 characters long/.test(x.message)));
});

test('50,000 unknown keys: the first 50 problems are listed with suggestions, the rest counted', () => {
  let text = `${head}spec:\n  relase: x\n`;
  for (let i = 0; i < 50_000; i++) text += `  k${i}: 1\n`;
  try {
    parseCloudFile(text, 'big.yaml');
    assert.fail('accepted');
  } catch (e) {
    assert.ok(e instanceof SpecError);
    assert.equal(e.problems.length, LIMITS.problems);
    assert.equal(e.omitted, 50_001 - LIMITS.problems);
    assert.match(e.problems[0]!.message, /unknown field "relase"; did you mean "release"/);
    assert.match(e.message, /^50001 problems in big\.yaml/);
    assert.match(e.message, /… and 49951 more problems$/);
  }
});

test("a user's limit below a default request, or request above a default limit, never yields limit < request", () => {
  const model = buildModel(
    parseCloudFile(
      `${head}spec:\n  services:\n    nova:\n      api:\n        resources: { limits: { memory: 64Mi, cpu: 50m } }\n      scheduler:\n        resources: { requests: { memory: 64Gi, cpu: "32" } }\n`,
    ),
  );
  const api = model.components.get('nova-api')!.settings.resources;
  assert.deepEqual(
    [api.requests.memory, api.limits.memory, api.requests.cpu, api.limits.cpu],
    ['64Mi', '64Mi', '50m', '50m'],
  );
  const sched = model.components.get('nova-scheduler')!.settings.resources;
  assert.equal(sched.requests.memory, '64Gi');
  assert.equal(sched.limits.memory, '64Gi');
  for (const c of model.components.values()) {
    const { requests, limits } = c.settings.resources;
    assert.ok(quantityValue(limits.memory)! >= quantityValue(requests.memory)!, c.id);
    if (limits.cpu) assert.ok(quantityValue(limits.cpu)! >= quantityValue(requests.cpu)!, c.id);
  }
});

test('standard input is read with the same bound: an endless stream is dropped at 1 MiB', async () => {
  let produced = 0;
  const endless = Readable.from(
    (function* () {
      for (;;) {
        produced += 64 * 1024;
        yield Buffer.alloc(64 * 1024, 0x61);
      }
    })(),
  );
  await assert.rejects(
    readCloudStream(endless, '<stdin>'),
    (e: unknown) => e instanceof OskError && e.exitCode === 2 && /<stdin> is larger than 1 MiB/.test(e.message),
  );
  assert.ok(produced <= LIMITS.fileBytes + 3 * 64 * 1024, `read ${produced} bytes`);
  assert.equal(decodeCloudText(await readCloudStream(Readable.from([Buffer.from(head)]))), head);
});

test('did-you-mean ignores words no key could be a typo of, and still finds close ones', () => {
  assert.equal(didYouMean('x'.repeat(100_000), ['replicas', 'resources']), undefined);
  assert.equal(didYouMean('replcias', ['replicas', 'resources']), 'replicas');
});
