/**
 * The real Cluster API managers on the local test control plane: the core manager, the kubeadm
 * bootstrap and control-plane providers (cluster-api v1.12.10) and CAPO v0.14.7, each a process
 * of its own on 127.0.0.1, ended by PID.
 *
 * Webhooks are on, as in a management cluster, because they are not optional here: CAPO v0.14
 * still reads Clusters and Machines as cluster.x-k8s.io/v1beta1 while v1.12 stores v1beta2, so
 * the API server must convert through the core manager's conversion webhook (a CRD without one
 * only relabels the apiVersion, and CAPO would never see the cluster's infrastructure as ready).
 * One self-signed certificate for 127.0.0.1 serves all four; the CRDs' conversion and the
 * projects' own admission webhook configurations (config/webhook/manifests.yaml, from the same
 * module zips) point at each manager's port by URL instead of a Service.
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import type { KubeApi } from '../../src/targets/kubernetes/kube-api.js';
import type { EnsureOptions } from './build.js';
import { capiPath, ensureClusterApiManagers, type Manager } from './capi-managers.js';
import { freePorts } from './control-plane.js';
import { type CrdSet, installCrds, moduleDocuments } from './crds.js';
import { alive } from '../support/process.js';

/** Which manager serves which API group's conversion, and where its admission webhooks are declared. */
const SERVES: Record<Manager, { groups: string[]; set: CrdSet; webhooks: string }> = {
  core: {
    groups: ['cluster.x-k8s.io', 'addons.cluster.x-k8s.io', 'runtime.cluster.x-k8s.io', 'ipam.cluster.x-k8s.io'],
    set: 'cluster-api',
    webhooks: 'config/webhook/manifests.yaml',
  },
  bootstrap: {
    groups: ['bootstrap.cluster.x-k8s.io'],
    set: 'cluster-api-kubeadm',
    webhooks: 'bootstrap/kubeadm/config/webhook/manifests.yaml',
  },
  controlPlane: {
    groups: ['controlplane.cluster.x-k8s.io'],
    set: 'cluster-api-kubeadm',
    webhooks: 'controlplane/kubeadm/config/webhook/manifests.yaml',
  },
  openstack: {
    groups: ['infrastructure.cluster.x-k8s.io'],
    set: 'capo',
    webhooks: 'config/webhook/manifests.yaml',
  },
};
const MANAGERS = Object.keys(SERVES) as Manager[];

export interface ClusterApiManagers {
  pids: Record<Manager, number>;
  logs: Record<Manager, string>;
  /** SIGTERM to each manager (by PID), SIGKILL after 10 s. */
  stop(): Promise<void>;
  /** Throws, with its log's end, when a manager has exited (a manager can pass /readyz and die later). */
  assertRunning(): void;
}

/** A self-signed certificate for IP 127.0.0.1: its own CA bundle. */
function webhookCertificate(dir: string): string {
  mkdirSync(dir, { recursive: true });
  const r = spawnSync(
    'openssl',
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=127.0.0.1'].concat([
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'tls.key'),
      '-out',
      join(dir, 'tls.crt'),
    ]),
    { encoding: 'utf8' },
  );
  if (r.status !== 0) throw new Error(`openssl could not make the webhook certificate: ${r.stderr}`);
  return Buffer.from(readFileSync(join(dir, 'tls.crt'))).toString('base64');
}

/** The project's webhook configurations, named per manager and pointed at its port. */
async function registerWebhooks(api: KubeApi, m: Manager, port: number, caBundle: string): Promise<void> {
  for (const doc of moduleDocuments(SERVES[m].set, [SERVES[m].webhooks])) {
    const kind = doc.kind as string;
    const meta = doc.metadata as { name: string };
    meta.name = `capi-${m.toLowerCase()}-${meta.name}`;
    for (const w of doc.webhooks as { clientConfig: Record<string, unknown> }[]) {
      const path = (w.clientConfig.service as { path: string }).path;
      w.clientConfig = { url: `https://127.0.0.1:${port}${path}`, caBundle };
    }
    const plural =
      kind === 'MutatingWebhookConfiguration' ? 'mutatingwebhookconfigurations' : 'validatingwebhookconfigurations';
    await api.request('POST', `/apis/admissionregistration.k8s.io/v1/${plural}`, {
      body: doc,
      what: `create ${meta.name}`,
    });
  }
}

function ready(port: number): Promise<boolean> {
  return new Promise((res) => {
    const req = get({ host: '127.0.0.1', port, path: '/readyz', timeout: 2000 }, (r) => {
      r.resume();
      res(r.statusCode === 200);
    });
    req.on('error', () => res(false));
    req.on('timeout', () => req.destroy());
  });
}

/** Signals a PID only while it still runs the binary it was started as (a PID can be reused). */
function signal(pid: number, binary: string, sig: NodeJS.Signals): void {
  try {
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith(binary)) return;
    process.kill(pid, sig);
  } catch {
    // gone already
  }
}

/**
 * Installs the CRDs (conversion by the managers) and the admission webhooks, starts the four
 * managers against `kubeconfig` and waits until each is ready (its /readyz, which includes the
 * webhook server).
 */
export async function startClusterApiManagers(
  api: KubeApi,
  opts: { kubeconfig: string; dir: string } & EnsureOptions,
): Promise<ClusterApiManagers> {
  const bins = await ensureClusterApiManagers(opts);
  const certDir = join(opts.dir, 'certs');
  const caBundle = webhookCertificate(certDir);
  const ports = await freePorts(MANAGERS.flatMap((m) => [`${m}-webhook`, `${m}-health`, `${m}-metrics`]));
  const port = (m: Manager, what: 'webhook' | 'health' | 'metrics'): number => ports[`${m}-${what}`]!;
  const owner = (group: string) => MANAGERS.find((m) => SERVES[m].groups.includes(group));
  await installCrds(api, ['cluster-api', 'cluster-api-kubeadm', 'capo', 'orc'], (group) => {
    const m = owner(group);
    return m ? { url: `https://127.0.0.1:${port(m, 'webhook')}/convert`, caBundle } : undefined;
  });
  for (const m of MANAGERS) await registerWebhooks(api, m, port(m, 'webhook'), caBundle);

  mkdirSync(join(opts.dir, 'logs'), { recursive: true });
  const pids = {} as Record<Manager, number>;
  const logs = {} as Record<Manager, string>;
  for (const m of MANAGERS) {
    logs[m] = join(opts.dir, 'logs', `${m}.log`);
    const out = openSync(logs[m], 'a');
    const child = spawn(
      bins[m],
      [
        `--webhook-port=${port(m, 'webhook')}`,
        `--webhook-cert-dir=${certDir}`,
        `--health-addr=127.0.0.1:${port(m, 'health')}`,
        `--diagnostics-address=127.0.0.1:${port(m, 'metrics')}`,
        '--insecure-diagnostics',
        '--leader-elect=false',
        '--v=2',
      ],
      { env: { ...process.env, KUBECONFIG: opts.kubeconfig }, stdio: ['ignore', out, out], detached: true },
    );
    closeSync(out);
    child.unref();
    if (!child.pid) throw new Error(`${bins[m]} did not start`);
    pids[m] = child.pid;
  }
  const stop = async () => {
    for (const m of MANAGERS) signal(pids[m], bins[m], 'SIGTERM');
    const t0 = Date.now();
    while (MANAGERS.some((m) => alive(pids[m])) && Date.now() - t0 < 10_000)
      await new Promise((r) => setTimeout(r, 200));
    for (const m of MANAGERS) signal(pids[m], bins[m], 'SIGKILL');
  };
  const t0 = Date.now();
  for (const m of MANAGERS) {
    while (!(await ready(port(m, 'health')))) {
      if (!alive(pids[m]) || Date.now() - t0 > 180_000) {
        await stop();
        throw new Error(`${m} manager not ready:\n${readFileSync(logs[m], 'utf8').slice(-4000)}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const assertRunning = () => {
    for (const m of MANAGERS)
      if (!alive(pids[m])) throw new Error(`the ${m} manager exited:\n${readFileSync(logs[m], 'utf8').slice(-3000)}`);
  };
  return { pids, logs, stop, assertRunning };
}

type Obj = Record<string, unknown> & { metadata: { name: string }; status?: Record<string, unknown> };

/** Server-side apply of rendered objects into a namespace, with fieldValidation=Strict. */
export async function applyObjects(
  api: KubeApi,
  ns: string,
  objects: { apiVersion: string; kind: string; metadata: { name: string } }[],
): Promise<void> {
  for (const o of objects)
    await api.request('PATCH', capiPath(o, ns), {
      body: o,
      contentType: 'application/apply-patch+yaml',
      query: { fieldManager: 'osk-test', fieldValidation: 'Strict' },
      what: `apply ${o.kind} ${o.metadata.name}`,
    });
}

/** Polls a list or an object until `done` returns a value; the last state is in the timeout error. */
export async function waitForApi<T>(
  api: KubeApi,
  path: string,
  done: (body: Obj & { items?: Obj[] }) => T | undefined,
  opts: { timeoutMs: number; what: string; logs?: Record<string, string>; check?: () => void },
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    opts.check?.();
    const r = await api.request<Obj & { items?: Obj[] }>('GET', path, { ok: [404] });
    last = r.body;
    const v = r.status === 404 ? undefined : done(r.body);
    if (v !== undefined) return v;
    if (Date.now() - t0 > opts.timeoutMs) {
      const tails = Object.entries(opts.logs ?? {}).map(
        ([m, f]) => `--- ${m}\n${readFileSync(f, 'utf8').split('\n').slice(-25).join('\n')}`,
      );
      throw new Error(
        `${opts.what}: not after ${opts.timeoutMs / 1000} s; last:\n${JSON.stringify(last).slice(0, 3000)}\n${tails.join('\n')}`,
      );
    }
    await new Promise((res) => setTimeout(res, 2000));
  }
}
