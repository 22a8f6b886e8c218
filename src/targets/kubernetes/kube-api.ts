/**
 * The Kubernetes API as osk uses it: kubeconfig and contexts (with every auth kubectl supports)
 * from @kubernetes/client-node, and raw HTTPS requests of our own, because server-side apply
 * must send the object as rendered (client-node's typed serialisers drop fields they do not
 * know) and because every failure must become an error a user can act on: which server, which
 * verb on which resource, which object and field. Transient failures (connection refused during
 * an apiserver restart, 429, 5xx) are retried with backoff.
 */
import { Agent as HttpsAgent, request as httpsRequest, type RequestOptions } from 'node:https';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { ExitCode, OskError } from '../../errors.js';

interface ApiStatus {
  kind?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    causes?: { field?: string; message?: string; reason?: string }[];
  };
}

export class KubeApiError extends OskError {
  constructor(
    message: string,
    readonly status: number,
    readonly reason: string | undefined,
    opts: { hint?: string; exitCode?: ExitCode } = {},
  ) {
    super(message, opts);
    this.name = 'KubeApiError';
  }
}

interface KubeResource {
  /** e.g. /apis/apps/v1 */
  base: string;
  plural: string;
  namespaced: boolean;
}

interface RequestOpts {
  body?: unknown;
  contentType?: string;
  query?: Record<string, string | undefined>;
  /** Statuses returned instead of thrown (e.g. 404 for "absent", 409 for "already exists"). */
  ok?: number[];
  /** What the request is about, for messages: "apply Deployment openstack/nova-api". */
  what?: string;
  /** Per-exchange timeout (default 60 s). */
  timeoutMs?: number;
  /** false: one exchange, no retry (for best-effort reads such as pod logs). */
  retry?: boolean;
  /** The Accept header (default application/json), e.g. to ask for metadata only. */
  accept?: string;
}

const TRANSIENT = new Set([429, 500, 502, 503, 504]);
const TRANSIENT_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'UND_ERR_SOCKET']);

/** A response body: JSON when it parses, else the text (a proxy's error page), undefined when empty. */
function parseBody(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return text;
  }
}

export class KubeApi {
  /** Requests sent (retries included), for the benchmark's requests-per-object figure. */
  requests = 0;
  /**
   * Whether the server ever answered. Before that, a refused connection most likely means a
   * wrong server address: fail within seconds. After it, it means a restart: keep retrying.
   */
  private contacted = false;
  /**
   * Told, about every 10 s while requests are being retried, what osk waits for (an apiserver
   * restart can take minutes; silence would look like a hang).
   */
  onWait: ((line: string) => void) | undefined;
  private lastWaitNote = 0;
  private readonly resources = new Map<string, KubeResource>();
  private readonly discovery = new Map<string, Promise<{ kind: string; name: string; namespaced: boolean }[]>>();
  /**
   * Connections kept open between requests. client-node gives every request a new agent, so each
   * one paid a TCP connect and a TLS handshake with the client certificate (issue 13, on the test
   * cluster of a 2-core VM at load 6: a GET took 6.7–8.1 ms, 2.1–2.7 ms kept alive; apply sends
   * two requests per object, one after the other). The pool is keyed by the TLS options of each
   * request (CA, certificate, key, server name), so credentials that change get connections of
   * their own. Idle sockets do not keep the process alive.
   */
  private readonly keepAlive = { https: new HttpsAgent({ keepAlive: true }), http: new HttpAgent({ keepAlive: true }) };

  private constructor(
    readonly kc: KubeConfig,
    readonly server: string,
    readonly contextName: string,
    private readonly retryForMs: number,
  ) {}

  static load(opts: { kubeconfig?: string; context?: string; retryForMs?: number } = {}): KubeApi {
    const kc = new KubeConfig();
    try {
      if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
      else kc.loadFromDefault();
    } catch (e) {
      throw new OskError(
        `cannot read the kubeconfig${opts.kubeconfig ? ` ${opts.kubeconfig}` : ''}: ${(e as Error).message}`,
        { exitCode: ExitCode.invalidInput, hint: 'pass --kubeconfig FILE or set KUBECONFIG' },
      );
    }
    if (opts.context) {
      if (!kc.getContextObject(opts.context)) {
        throw new OskError(
          `the kubeconfig has no context "${opts.context}" (contexts: ${
            kc
              .getContexts()
              .map((c) => c.name)
              .join(', ') || 'none'
          })`,
          { exitCode: ExitCode.invalidInput },
        );
      }
      kc.setCurrentContext(opts.context);
    }
    const cluster = kc.getCurrentCluster();
    if (!cluster)
      throw new OskError('the kubeconfig has no current cluster', {
        exitCode: ExitCode.invalidInput,
        hint: 'pass --context NAME or --kubeconfig FILE',
      });
    return new KubeApi(
      kc,
      cluster.server,
      kc.getCurrentContext(),
      opts.retryForMs ?? (Number(process.env.OSK_KUBE_RETRY_MS) || 120_000),
    );
  }

  /** One HTTP exchange, retried while the failure is transient and the retry window lasts. */
  async request<T = unknown>(method: string, path: string, o: RequestOpts = {}): Promise<{ status: number; body: T }> {
    const started = Date.now();
    let delay = 250;
    for (let _attempt = 1; ; _attempt++) {
      try {
        const r = await this.once(method, path, o);
        this.contacted = true;
        if (TRANSIENT.has(r.status) && o.retry !== false && Date.now() - started < this.retryForMs) {
          this.noteWait(
            started,
            `answers ${r.status}${(r.body as ApiStatus | undefined)?.reason ? ` (${(r.body as ApiStatus).reason})` : ''}`,
          );
          await sleep(r.retryAfterMs ?? delay);
          delay = Math.min(delay * 2, 5000);
          continue;
        }
        if (r.status >= 400 && !(o.ok ?? []).includes(r.status))
          throw this.error(method, path, r.status, r.body as ApiStatus, o.what);
        return { status: r.status, body: r.body as T };
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code && TRANSIENT_CODES.has(code)) {
          if (
            o.retry !== false &&
            Date.now() - started < (this.contacted ? this.retryForMs : Math.min(this.retryForMs, 3000))
          ) {
            if (this.contacted) this.noteWait(started, `unreachable (${code})`);
            await sleep(delay);
            delay = Math.min(delay * 2, 5000);
            continue;
          }
          throw new KubeApiError(
            `cannot reach the Kubernetes API server ${this.server} (context ${this.contextName}): ${code}, for ${Math.round((Date.now() - started) / 1000)} s`,
            0,
            code,
            {
              hint: 'is the cluster running and the kubeconfig current? (kubectl --context … get --raw /readyz)',
            },
          );
        }
        throw e;
      }
    }
  }

  /** One line per ~10 s across all retrying requests, once a request has failed for a second. */
  private noteWait(started: number, what: string): void {
    const now = Date.now();
    if (!this.onWait || now - started < 1000 || now - this.lastWaitNote < 10_000) return;
    this.lastWaitNote = now;
    this.onWait(
      `API server ${this.server} ${what}, retrying for ${Math.max(0, Math.round((this.retryForMs - (now - started)) / 1000))} s more`,
    );
  }

  private async once(
    method: string,
    path: string,
    o: RequestOpts,
  ): Promise<{ status: number; body: unknown; retryAfterMs?: number }> {
    this.requests++;
    const data = o.body === undefined ? undefined : JSON.stringify(o.body);
    const { url, opts } = await this.exchange(method, path, o.query, o.timeoutMs ?? 60_000, {
      ...(o.accept ? { Accept: o.accept } : {}),
      ...(data
        ? { 'Content-Type': o.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(data) }
        : {}),
    });
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(opts, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c as Buffer));
        res.on('error', reject);
        res.on('end', () => {
          const body = parseBody(Buffer.concat(chunks).toString('utf8'));
          const ra = Number(res.headers['retry-after']);
          resolve({
            status: res.statusCode ?? 0,
            body,
            ...(Number.isFinite(ra) && ra > 0 ? { retryAfterMs: Math.min(ra, 10) * 1000 } : {}),
          });
        });
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('request timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', reject);
      if (data) req.write(data);
      req.end();
    });
  }

  /** The URL and request options of one exchange, with the kubeconfig's TLS and credentials. */
  private async exchange(
    method: string,
    path: string,
    query: Record<string, string | undefined> | undefined,
    timeoutMs: number,
    headers: Record<string, string | number>,
  ): Promise<{ url: URL; opts: RequestOptions }> {
    const url = new URL(this.server.replace(/\/+$/, '') + path);
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) url.searchParams.set(k, v);
    const opts: RequestOptions = {
      method,
      hostname: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: { Accept: 'application/json', 'User-Agent': 'osk', ...headers },
      timeout: timeoutMs,
    };
    await this.kc.applyToHTTPSOptions(opts);
    // Its plain agents only (a proxy's agent is kept): the same TLS options, on pooled connections.
    if (opts.agent?.constructor === HttpsAgent) opts.agent = this.keepAlive.https;
    else if (opts.agent?.constructor === HttpAgent) opts.agent = this.keepAlive.http;
    return { url, opts };
  }

  /**
   * A watch (GET with watch=true): each event as the server sends it, one JSON object per line,
   * to `onEvent`. Resolves when the server ends the stream (after the query's timeoutSeconds) or
   * `signal` aborts it; rejects when the connection fails or the server refuses (KubeApiError).
   * No retries: the caller re-lists and watches again.
   */
  async watch(
    path: string,
    query: Record<string, string>,
    onEvent: (event: { type: string; object: unknown }) => void,
    signal: AbortSignal,
  ): Promise<void> {
    this.requests++;
    const seconds = Number(query.timeoutSeconds ?? 300);
    const { url, opts } = await this.exchange('GET', path, { ...query, watch: 'true' }, (seconds + 30) * 1000, {});
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)({ ...opts, signal }, (res) => {
        if (res.statusCode !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c as Buffer));
          res.on('end', () => {
            const body = parseBody(Buffer.concat(chunks).toString('utf8')) as ApiStatus | string | undefined;
            reject(this.error('GET', path, res.statusCode ?? 0, body, `watch ${path}`));
          });
          return;
        }
        let buffered = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let nl = buffered.indexOf('\n'); nl !== -1; nl = buffered.indexOf('\n')) {
            const line = buffered.slice(0, nl);
            buffered = buffered.slice(nl + 1);
            if (line.trim()) onEvent(JSON.parse(line) as { type: string; object: unknown });
          }
        });
        res.on('end', () => resolve());
        // A connection cut without an end (the apiserver died): the stream is over all the same.
        res.on('close', () => resolve());
        res.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('watch timed out'), { code: 'ETIMEDOUT' })));
      req.on('error', (e) => (signal.aborted ? resolve() : reject(e)));
      req.end();
    });
  }

  private error(
    method: string,
    path: string,
    status: number,
    body: ApiStatus | string | undefined,
    what?: string,
  ): KubeApiError {
    const st = typeof body === 'object' && body ? body : { message: String(body ?? '') };
    const about = what ?? `${method} ${path}`;
    if (status === 401) {
      return new KubeApiError(
        `the API server ${this.server} rejected the credentials of context ${this.contextName} (401 Unauthorized)`,
        status,
        st.reason,
        { hint: 'refresh or fix the credentials in the kubeconfig' },
      );
    }
    if (status === 403) {
      const verb = { GET: 'get', POST: 'create', PUT: 'update', PATCH: 'patch', DELETE: 'delete' }[method] ?? method;
      return new KubeApiError(`RBAC forbids ${about}: ${st.message ?? 'forbidden'}`, status, st.reason, {
        hint: `the identity of context ${this.contextName} needs "${verb}" on ${resourceOfPath(path)}; ask a cluster admin for a Role/ClusterRole that grants it`,
      });
    }
    if (status === 422 || (status === 400 && st.reason === 'BadRequest') || status === 409) {
      const causes = (st.details?.causes ?? []).map(
        (c) => `${c.field ? `${c.field}: ` : ''}${c.message ?? c.reason ?? ''}`,
      );
      return new KubeApiError(
        `${about} was rejected (${status} ${st.reason ?? ''}): ${causes.length ? causes.join('; ') : (st.message ?? '')}`,
        status,
        st.reason,
        {},
      );
    }
    return new KubeApiError(
      `${about} failed: ${status} ${st.reason ?? ''} ${st.message ?? ''}`.trim(),
      status,
      st.reason,
    );
  }

  /** Resource path of a kind (from discovery, cached): plural and scope. */
  async resource(apiVersion: string, kind: string): Promise<KubeResource> {
    const key = `${apiVersion}/${kind}`;
    const hit = this.resources.get(key);
    if (hit) return hit;
    const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    let list = this.discovery.get(base);
    if (!list) {
      list = this.request<{ resources: { kind: string; name: string; namespaced: boolean }[] }>('GET', base, {
        ok: [404],
      }).then((r) => (r.status === 404 ? [] : r.body.resources));
      this.discovery.set(base, list);
    }
    const found = (await list).find((r) => r.kind === kind && !r.name.includes('/'));
    if (!found) {
      this.discovery.delete(base);
      throw new KubeApiError(
        `the cluster does not serve ${kind} (${apiVersion}); is its CRD installed?`,
        404,
        'NotFound',
      );
    }
    const res = { base, plural: found.name, namespaced: found.namespaced };
    this.resources.set(key, res);
    return res;
  }

  /** Does the cluster serve this kind? (false for a missing CRD) */
  async serves(apiVersion: string, kind: string): Promise<boolean> {
    try {
      await this.resource(apiVersion, kind);
      return true;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return false;
      throw e;
    }
  }

  async path(apiVersion: string, kind: string, namespace: string | undefined, name?: string): Promise<string> {
    const r = await this.resource(apiVersion, kind);
    const ns = r.namespaced && namespace ? `/namespaces/${namespace}` : '';
    return `${r.base}${ns}/${r.plural}${name ? `/${name}` : ''}`;
  }
}

function resourceOfPath(path: string): string {
  const m = /\/(?:api|apis\/[^/]+)\/[^/]+(?:\/namespaces\/([^/]+))?\/([^/?]+)/.exec(path);
  return m ? `${m[2]}${m[1] ? ` in namespace ${m[1]}` : ''}` : path;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
