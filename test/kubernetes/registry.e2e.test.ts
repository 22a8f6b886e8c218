/**
 * `osk images build --push` against real registries (CNCF distribution, built from the Go module
 * proxy: test/cluster/registry.ts), and a real node pulling what was pushed, as a user's cluster
 * would: the memcached image built from Debian 13 (or taken from the warm image cache), pushed to
 * the test cluster's registry at the node network's host end, named by `osk render` exactly as
 * pushed, and run by the rendered memcached pod spec on the real node, whose containerd pulls it
 * over plain HTTP (its hosts.toml) and answers memcached's protocol from the host. Before that,
 * the refusals: another registry than the cloud's (exit 2, nothing pushed), plain HTTP without
 * --push-insecure, a registry that is not there, and a registry that wants credentials (refused
 * without them, accepted with skopeo's auth file from --authfile).
 *
 * Needs root, the tools of scripts/install-test-tools.sh and `npm run build` (it runs bin/osk.js).
 * OSK_SKIP_CLUSTER_TESTS=1 skips it.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ensureRegistry } from '../cluster/build.js';
import { type Cluster, startCluster } from '../cluster/control-plane.js';
import { commandExists, outputOf } from '../cluster/exec.js';
import { type KubeObject, waitFor } from '../cluster/kube.js';
import { realNodeUnsupported } from '../cluster/real-node.js';
import { registryPassword, startRegistry } from '../cluster/registry.js';
import { clusterSkipReason, runOsk } from './support.js';

function skipReason(): string | undefined {
  return (
    clusterSkipReason() ??
    realNodeUnsupported() ??
    (['debootstrap', 'skopeo'].find((c) => !commandExists(c))
      ? 'debootstrap or skopeo is missing (scripts/install-test-tools.sh installs them)'
      : undefined)
  );
}

const NS = 'pull';

const cloud = (registry: string) => `apiVersion: osk.dev/v1alpha1
kind: Cloud
metadata:
  name: pushed
  namespace: ${NS}
spec:
  profile: minimal
  release: "2025.1"
  images:
    source: debian
    registry: ${registry}
`;

/** A port nothing listens on: bound by this process, then closed. */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** memcached's text protocol: "version" answered with "VERSION x.y.z". */
function memcachedVersion(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = connect({ host, port }, () => c.write('version\r\n'));
    let got = '';
    c.setTimeout(5000, () => c.destroy(new Error(`no answer from ${host}:${port}`)));
    c.on('data', (d) => {
      got += d;
      if (got.includes('\r\n')) {
        c.end();
        resolve(got.trim());
      }
    });
    c.on('error', reject);
  });
}

/** The pod spec of the rendered memcached workload (`osk render -o json` output). */
function memcachedPodSpec(renderJson: string): Record<string, unknown> & { containers: Record<string, unknown>[] } {
  const items = (JSON.parse(renderJson) as { items: KubeObject[] }).items;
  const workload = items.find(
    (o) => /^(StatefulSet|Deployment)$/.test(o.kind ?? '') && o.metadata.name === 'memcached',
  );
  const spec = (workload?.spec?.template as { spec?: Record<string, unknown> } | undefined)?.spec;
  assert.ok(spec, 'osk render has a memcached workload');
  return spec as Record<string, unknown> & { containers: Record<string, unknown>[] };
}

interface Built {
  images: { key: string; pushed?: { reference: string; digest: string } }[];
}
type Pod = KubeObject & {
  status: {
    phase?: string;
    podIP?: string;
    containerStatuses?: {
      imageID?: string;
      ready?: boolean;
      state?: { waiting?: { reason?: string; message?: string } };
    }[];
  };
};

test('osk images build --push: refusals, credentials, and a real node pulls and runs the pushed image', {
  skip: skipReason(),
  timeout: 60 * 60_000,
}, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'osk-registry-e2e-'));
  let cluster: Cluster | undefined;
  let authRegistry: Awaited<ReturnType<typeof startRegistry>> | undefined;
  t.after(async () => {
    await authRegistry?.stop();
    await cluster?.stop({ graceMs: 5000 });
    rmSync(dir, { recursive: true, force: true });
  });
  const log = (l: string) => t.diagnostic(l);
  cluster = await startCluster({ nodes: 0, realNode: true, dir: join(dir, 'cluster'), stopOnExit: true, log });
  const node = cluster.state.realNode;
  assert.ok(node?.registry, 'a cluster with a real node records its registry');
  const registry = node.registry;
  const env = { ...process.env, KUBECONFIG: cluster.kubeconfig, OSK_STATE_DIR: join(dir, 'state'), CI: 'true' };
  const osk = (args: string[]) => runOsk(args, env, log);
  const cloudFile = join(dir, 'cloud.yaml');
  writeFileSync(cloudFile, cloud(registry));
  // One build uses the image cache at a time (its lock); another test or user may hold it for
  // minutes on a shared machine: wait for it rather than fail.
  const build = async (file: string, ...more: string[]) => {
    const deadline = Date.now() + 40 * 60_000;
    for (;;) {
      const r = await osk(['images', 'build', '-f', file, '--only', 'memcached', ...more]);
      const busy = /another osk images build \(pid \d+\) is using the cache/.exec(r.stderr);
      if (!busy || Date.now() > deadline) return r;
      t.diagnostic(`${busy[0]}: waiting`);
      await new Promise((resolve) => setTimeout(resolve, 10_000));
    }
  };
  const catalog = async () => (await (await fetch(`http://${registry}/v2/_catalog`)).json()) as { repositories: [] };

  await t.test('a push elsewhere than the cloud names is refused before anything is built', async () => {
    const r = await build(cloudFile, '--push', `${registry}/elsewhere`, '--push-insecure');
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /would not run what is pushed/);
    assert.match(r.stderr, new RegExp(`the cloud runs ${registry}/osk/memcached:2025\\.1-trixie`));
    assert.match(r.stderr, new RegExp(`set spec\\.images\\.registry: ${registry}/elsewhere`));
    assert.doesNotMatch(r.stderr, /resolving/, 'nothing was built');
    assert.deepEqual((await catalog()).repositories, [], 'nothing was pushed');
  });

  await t.test('TLS is verified unless --push-insecure', async () => {
    const r = await build(cloudFile, '--push', registry);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`cannot push to ${registry}: the registry ${registry} speaks plain HTTP`));
    assert.match(r.stderr, /add --push-insecure/);
  });

  await t.test('a registry that is not there fails in seconds, naming it', async () => {
    const gone = `127.0.0.1:${await closedPort()}`;
    const file = join(dir, 'gone.yaml');
    writeFileSync(file, cloud(gone));
    const started = Date.now();
    const r = await build(file, '--push', gone, '--push-insecure');
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, new RegExp(`the registry ${gone} cannot be reached`));
    assert.doesNotMatch(r.stderr, /resolving/, 'the registry is checked before the build');
    t.diagnostic(`refused in ${Date.now() - started} ms`);
  });

  await t.test('credentials: refused without them, pushed with --authfile', async () => {
    const binary = await ensureRegistry({ log });
    const authDir = join(dir, 'auth-registry');
    mkdirSync(authDir);
    // The registry creates the missing htpasswd file with user "docker" and logs the password.
    authRegistry = await startRegistry(binary, authDir, {
      address: `127.0.0.1:${await closedPort()}`,
      htpasswd: join(authDir, 'htpasswd'),
    });
    const address = authRegistry.address;
    const file = join(dir, 'auth.yaml');
    writeFileSync(file, cloud(address));
    // skopeo's default auth file is root's own; an empty one of the test's keeps that out.
    const empty = join(dir, 'empty-auth.json');
    writeFileSync(empty, '{"auths":{}}\n', { mode: 0o600 });
    const refused = await build(file, '--push', address, '--push-insecure', '--authfile', empty);
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(refused.stderr, new RegExp(`pushing ${address}/osk/memcached:2025\\.1-trixie failed`));
    assert.match(refused.stderr, new RegExp(`the registry ${address} refused the credentials`));

    const password = registryPassword(authRegistry.log);
    assert.ok(password, `the registry logged the password it provisioned (${authRegistry.log})`);
    const authfile = join(dir, 'auth.json');
    const auth = Buffer.from(`docker:${password}`).toString('base64');
    writeFileSync(authfile, `${JSON.stringify({ auths: { [address]: { auth } } })}\n`, { mode: 0o600 });
    const ok = await build(file, '--push', address, '--push-insecure', '--authfile', authfile, '-o', 'json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(
      (JSON.parse(ok.stdout) as Built).images[0]?.pushed?.reference,
      `${address}/osk/memcached:2025.1-trixie`,
    );
    assert.doesNotMatch(ok.stderr + ok.stdout, new RegExp(password), 'the password is never printed');
  });

  let pushed: { reference: string; digest: string } | undefined;
  await t.test('push to the cluster registry: osk render names what was pushed', async () => {
    const r = await build(cloudFile, '--push', registry, '--push-insecure', '-o', 'json');
    assert.equal(r.code, 0, r.stderr);
    pushed = (JSON.parse(r.stdout) as Built).images.find((i) => i.key === 'memcached')?.pushed;
    assert.ok(pushed, r.stdout);
    assert.equal(pushed.reference, `${registry}/osk/memcached:2025.1-trixie`);
    assert.match(pushed.digest, /^sha256:[0-9a-f]{64}$/);
    // The registry holds that manifest under that tag.
    const m = await fetch(`http://${registry}/v2/osk/memcached/manifests/2025.1-trixie`, {
      method: 'HEAD',
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(m.status, 200);
    assert.equal(m.headers.get('docker-content-digest'), pushed.digest);

    const rendered = await osk(['render', '-f', cloudFile, '-o', 'json']);
    assert.equal(rendered.code, 0, rendered.stderr);
    const images = memcachedPodSpec(rendered.stdout).containers.map((c) => c.image);
    assert.deepEqual(images, [pushed.reference], "the cloud's memcached pod runs exactly the pushed reference");
  });

  await t.test('the real node pulls the pushed image and runs the cloud’s memcached pod spec', async () => {
    assert.ok(pushed, 'the push above succeeded');
    const { client } = cluster!;
    const ctr = ['--address', node.socket, '--namespace', 'k8s.io', 'images', 'ls', '-q'];
    assert.ok(!outputOf('ctr', ctr).split('\n').includes(pushed.reference), 'the node does not have it before');

    const rendered = await osk(['render', '-f', cloudFile, '-o', 'json']);
    assert.equal(rendered.code, 0, rendered.stderr);
    const podSpec = memcachedPodSpec(rendered.stdout);
    // The rendered pod spec as it is (command, uid, probes, security context), pulled Always so
    // the kubelet asks the registry; only its ServiceAccount (another rendered object) is left out.
    const { serviceAccountName: _sa, ...spec } = podSpec;
    const containers = spec.containers.map((c) => ({ ...c, imagePullPolicy: 'Always' }));
    await client.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(`/api/v1/namespaces/${NS}/pods`, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'memcached' },
      spec: { ...spec, containers },
    });
    const started = Date.now();
    const reference = pushed.reference;
    const pod = await waitFor(
      'pod memcached Ready',
      async () => {
        const p = await client.get<Pod>(`/api/v1/namespaces/${NS}/pods/memcached`);
        const waiting = p.status.containerStatuses?.[0]?.state?.waiting;
        if (waiting?.reason === 'ErrImagePull' || waiting?.reason === 'ImagePullBackOff')
          throw new Error(`the node could not pull ${reference}: ${waiting.message}`);
        return p.status.containerStatuses?.[0]?.ready ? p : undefined;
      },
      { timeoutMs: 180_000, fatal: (e) => String(e).includes('could not pull') },
    );
    t.diagnostic(`pulled and ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // The running container's image is the pushed manifest, by digest.
    assert.equal(
      pod.status.containerStatuses?.[0]?.imageID,
      `${pushed.reference.replace(/:[^:/]+$/, '')}@${pushed.digest}`,
    );
    const events = await client.list<KubeObject & { reason?: string; message?: string }>(
      `/api/v1/namespaces/${NS}/events?fieldSelector=involvedObject.name%3Dmemcached`,
    );
    const pulled = events.find((e) => e.reason === 'Pulled');
    assert.match(
      pulled?.message ?? '',
      new RegExp(`Successfully pulled image "${pushed.reference}"`),
      JSON.stringify(events),
    );
    assert.ok(outputOf('ctr', ctr).split('\n').includes(pushed.reference), "the image is in the node's containerd now");
    // Real traffic: memcached answers its protocol at the pod's address, from the host.
    assert.match(await memcachedVersion(pod.status.podIP!, 11211), /^VERSION \d+\.\d+/);
  });
});
