/**
 * The probes of `osk health`, through osk's own OpenStack client: a Keystone token issue, one
 * list call per API, a Neutron port create/delete and (with `write`) a Cinder volume
 * create/delete. Each call is timed on its own; a failure keeps the client's message (the
 * server's error, or why it could not be reached), never a stack trace.
 */
import type { OpenStackClient, ServiceType } from '../openstack/index.js';
import { OskError } from '../errors.js';
import { summarize, type ApiStats, type Sample } from './health.js';

interface ProbeOptions {
  /** Calls per probe. */
  n: number;
  concurrency: number;
  /** Also create and delete volumes. */
  write: boolean;
  /** How long a volume may take to become available / gone. */
  volumeTimeoutMs?: number;
  /** Called when a probe starts (progress on stderr). */
  onProbe?: (api: string, call: string) => void;
}

const PROBE_NET = 'osk-health-probe';

function message(e: unknown): string {
  if (e instanceof OskError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}

async function timed(fn: () => Promise<unknown>): Promise<Sample> {
  const t0 = performance.now();
  try {
    await fn();
    return { ok: true, ms: performance.now() - t0 };
  } catch (e) {
    return { ok: false, ms: performance.now() - t0, error: message(e) };
  }
}

/** Run `fn(i)` for i in 0..n-1, at most `concurrency` at a time; results in index order. */
async function pool<T>(n: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= n) return;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, n)) }, worker));
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runProbes(os: OpenStackClient, o: ProbeOptions): Promise<ApiStats[]> {
  const s = os.session;
  const stats: ApiStats[] = [];
  const probe = async (api: string, call: string, fn: () => Promise<unknown>) => {
    o.onProbe?.(api, call);
    stats.push(summarize(api, call, await pool(o.n, o.concurrency, () => timed(fn))));
  };
  const list =
    (service: ServiceType, path: string, query: Record<string, string | number> = { limit: 10 }) =>
    () =>
      s.request(service, 'GET', path, { query });

  // Log in once first: the list calls then measure the API, not Keystone. When this fails every
  // probe below fails with the same message, which is the truth.
  await s.getToken().catch(() => undefined);

  await probe('keystone', 'POST /v3/auth/tokens', () => s.issueToken(s.options.auth));
  await probe('nova', 'GET /servers?limit=10', list('compute', '/servers'));
  await probe('neutron', 'GET /v2.0/networks?limit=10', list('network', '/networks'));
  await probe('cinder', 'GET /volumes?limit=10', list('block-storage', '/volumes'));
  await probe('glance', 'GET /v2/images?limit=10', list('image', '/images'));
  await probe('placement', 'GET /resource_providers', list('placement', '/resource_providers', {}));
  // Octavia is optional: probed when the catalog lists it (no token: the probes above failed).
  const listed = (service: ServiceType) => s.endpoint(service).then(Boolean, () => false);
  if (await listed('load-balancer'))
    await probe('octavia', 'GET /v2/lbaas/loadbalancers?limit=10', list('load-balancer', '/v2/lbaas/loadbalancers'));

  stats.push(...(await probePorts(os, o)));

  if (o.write) stats.push(...(await probeVolumes(os, o)));
  return stats;
}

/** Ports: created and deleted on a network of their own, removed afterwards (when this run made it). */
async function probePorts(os: OpenStackClient, o: ProbeOptions): Promise<ApiStats[]> {
  const s = os.session;
  let net: { id: string } | undefined;
  let madeNet = false;
  let netError: string | undefined;
  try {
    net = await os.network.networks.find(PROBE_NET);
    if (!net) {
      net = await os.network.networks.create({ name: PROBE_NET });
      madeNet = true;
    }
  } catch (e) {
    netError = `cannot find or create network ${PROBE_NET} for the port probe: ${message(e)}`;
  }
  o.onProbe?.('neutron-port', 'POST /v2.0/ports + DELETE /v2.0/ports/{id}');
  const creates: Sample[] = [];
  const deletes: Sample[] = [];
  await pool(o.n, o.concurrency, async (i) => {
    if (!net) {
      creates.push({ ok: false, ms: 0, error: netError ?? 'no network' });
      return;
    }
    let id: string | undefined;
    creates.push(
      await timed(async () => {
        id = (await os.network.ports.create({ network_id: net!.id, name: `${PROBE_NET}-${i}` })).id;
      }),
    );
    if (id) deletes.push(await timed(() => s.request('network', 'DELETE', `/ports/${id}`)));
  });
  const stats = [summarize('neutron-port', 'POST /v2.0/ports', creates)];
  if (deletes.length) stats.push(summarize('neutron-port', 'DELETE /v2.0/ports/{id}', deletes));
  if (net && madeNet) await os.network.networks.delete(net.id).catch(() => undefined);
  return stats;
}

/** Volumes (with --write): created until available, deleted until gone. */
async function probeVolumes(os: OpenStackClient, o: ProbeOptions): Promise<ApiStats[]> {
  const s = os.session;
  o.onProbe?.('cinder-volume', 'create 1 GiB volume → available, delete → gone');
  const timeout = o.volumeTimeoutMs ?? 120_000;
  const made: Sample[] = [];
  const gone: Sample[] = [];
  await pool(o.n, o.concurrency, async (i) => {
    let id: string | undefined;
    made.push(
      await timed(async () => {
        id = (await os.blockStorage.volumes.create({ name: `osk-health-probe-${i}`, size: 1 })).id;
        const deadline = Date.now() + timeout;
        for (;;) {
          const v = await os.blockStorage.volumes.get(id);
          if (v.status === 'available') return;
          if (v.status === 'error') throw new OskError(`volume ${id} went to status error`);
          if (Date.now() > deadline)
            throw new OskError(`volume ${id} not available within ${timeout / 1000} s (status ${v.status})`);
          await sleep(100);
        }
      }),
    );
    if (!id) return;
    gone.push(
      await timed(async () => {
        await os.blockStorage.volumes.delete(id!);
        const deadline = Date.now() + timeout;
        for (;;) {
          const r = await s.request<{ volume?: { status?: string } }>('block-storage', 'GET', `/volumes/${id}`, {
            okStatuses: [404],
          });
          if (r.status === 404) return;
          if (r.body.volume?.status === 'error_deleting')
            throw new OskError(`volume ${id} went to status error_deleting`);
          if (Date.now() > deadline)
            throw new OskError(`volume ${id} not deleted within ${timeout / 1000} s (status ${r.body.volume?.status})`);
          await sleep(100);
        }
      }),
    );
  });
  const stats = [summarize('cinder-volume', 'create → available', made)];
  if (gone.length) stats.push(summarize('cinder-volume', 'delete → gone', gone));
  return stats;
}
