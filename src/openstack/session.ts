/**
 * The session: who we are (Keystone token, cached and renewed), where each service is (catalog,
 * overrides), and how one API call is made (headers, microversions, retries, error bodies,
 * pagination). The resource modules (identity.ts, compute.ts, …) are thin typed layers on
 * `request` and `list`.
 */
import { ExitCode, OskError } from '../errors.js';
import {
  authRequestBody,
  describeAuth,
  identityV3Url,
  parseTokenResponse,
  type AuthOptions,
  type Token,
} from './auth.js';
import { apiBase, selectEndpoint, SERVICE_TYPE_ALIASES, type Interface } from './catalog.js';
import { OpenStackApiError, parseErrorBody, reasonPhrase } from './errors.js';
import { type Exchange, type RequestEvent, exchange, requestIdOf } from './exchange.js';
import { HttpTransport, type HttpResponse, type RequestBody, type ResponseHeaders, type TlsOptions } from './http.js';
import { type ListOptions, type Query, listPages } from './pages.js';

export type ServiceType =
  | 'identity'
  | 'compute'
  | 'network'
  | 'block-storage'
  | 'image'
  | 'placement'
  | 'load-balancer';

/**
 * Microversions sent by default: the maxima of the Zed release osk deploys. The typed shapes in
 * the resource modules are written for these versions (e.g. compute server groups use `policy`,
 * 2.64+; keypairs need `public_key`, 2.92+; hypervisors have no usage counters, 2.88+).
 */
const DEFAULT_MICROVERSIONS: Readonly<Partial<Record<ServiceType, string>>> = {
  compute: '2.93',
  'block-storage': '3.70',
  placement: '1.39',
};

export interface SessionOptions {
  auth: AuthOptions;
  /** Region of the endpoints to use; any region when not set. */
  region?: string;
  /** Endpoint interface; default public. */
  interface?: Interface;
  /** Base URL per service type (official type or a catalog alias like `volumev3`), instead of the catalog's. */
  endpointOverrides?: Partial<Record<string, string>>;
  /** Microversion per service type; defaults to DEFAULT_MICROVERSIONS. */
  microversions?: Partial<Record<ServiceType, string>>;
  /** Per request (each attempt), default 30 s. */
  timeoutMs?: number;
  /** Extra attempts for idempotent requests after a connection error or 502/503/504; default 3. */
  retries?: number;
  /** First backoff delay, doubled per attempt (capped at 10 s); default 500 ms. */
  retryDelayMs?: number;
  tls?: TlsOptions;
  /** Renew the token this long before it expires; default 60 s. */
  reauthMarginMs?: number;
  /** For messages: the clouds.yaml cloud this session was made from. */
  cloudName?: string;
  /** Called after each HTTP exchange (verbose output, metrics). */
  onRequest?: (e: RequestEvent) => void;
  /** Clock, for tests. */
  now?: () => number;
}

export interface RequestOptions {
  query?: Query;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (image data), with `contentType`. A stream cannot be replayed, so it is never retried. */
  rawBody?: RequestBody;
  contentType?: string;
  headers?: Record<string, string>;
  /** Retry on connection errors and 502/503/504. Default: true for GET/HEAD/PUT/DELETE, false otherwise. */
  idempotent?: boolean;
  /** Override the session's microversion for this call; null sends none. */
  microversion?: string | null;
  timeoutMs?: number;
  /** Statuses returned instead of thrown (e.g. 404 for an existence check). */
  okStatuses?: readonly number[];
}

export interface ApiResponse<T> {
  status: number;
  headers: ResponseHeaders;
  /** Parsed JSON; the text for other content types; undefined for an empty body. */
  body: T;
  requestId: string | undefined;
}

const IDEMPOTENT_METHODS = new Set(['GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS']);

function microversionHeaders(service: string, version: string): Record<string, string> {
  switch (service) {
    case 'compute':
      // Both: the generic header (2.27+) and the legacy one older novas read.
      return { 'OpenStack-API-Version': `compute ${version}`, 'X-OpenStack-Nova-API-Version': version };
    case 'block-storage':
      return { 'OpenStack-API-Version': `volume ${version}` };
    default:
      return { 'OpenStack-API-Version': `${service} ${version}` };
  }
}

function appendQuery(url: URL, query: Query | undefined): void {
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null) continue;
    url.searchParams.delete(k);
    if (Array.isArray(v)) for (const x of v) url.searchParams.append(k, String(x));
    else url.searchParams.append(k, String(v));
  }
}

function parseBody(res: HttpResponse, what: string): unknown {
  if (res.body.length === 0) return undefined;
  const text = res.body.toString('utf8');
  const type = res.headers.get('content-type') ?? '';
  if (/json/i.test(type)) {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new OskError(`${what}: the answer (${res.status}) is not valid JSON: ${text.slice(0, 200)}`);
    }
  }
  return text;
}

export class Session {
  readonly options: SessionOptions;
  private readonly transport: HttpTransport;
  private readonly now: () => number;
  private token: Token | undefined;
  private tokenObtainedAt = 0;
  private pendingAuth: Promise<Token> | undefined;

  constructor(options: SessionOptions) {
    this.options = options;
    this.transport = new HttpTransport(options.tls);
    this.now = options.now ?? Date.now;
  }

  /** Keystone's URL this session logs in at (as configured: with or without /v3). */
  get authUrl(): string {
    return this.options.auth.authUrl;
  }

  private get timeoutMs(): number {
    return this.options.timeoutMs ?? 30_000;
  }

  private get cloudLabel(): string {
    return this.options.cloudName ? ` of cloud "${this.options.cloudName}"` : '';
  }

  /** The current token, logging in (again) when there is none or it is about to expire. */
  async getToken(): Promise<Token> {
    const t = this.token;
    // Renew a little before expiry, but never sooner than half-way: a Keystone with very short
    // token lifetimes would otherwise get a login before every call.
    const margin = Math.min(this.options.reauthMarginMs ?? 60_000, (t ? t.expiresAt - this.tokenObtainedAt : 0) / 2);
    if (t && this.now() < t.expiresAt - margin) return t;
    // One login for all the requests that find the token stale at the same moment.
    this.pendingAuth ??= this.authenticate().finally(() => {
      this.pendingAuth = undefined;
    });
    return this.pendingAuth;
  }

  /** Forget the token, so the next request logs in again. */
  invalidateToken(): void {
    this.token = undefined;
  }

  /** Log in with the session's credentials: `POST /v3/auth/tokens`. */
  async authenticate(): Promise<Token> {
    const token = await this.issueToken(this.options.auth);
    this.token = token;
    this.tokenObtainedAt = this.now();
    return token;
  }

  /** Issue a token for any credentials (does not change the session's own token). */
  async issueToken(auth: AuthOptions): Promise<Token> {
    const base = identityV3Url(auth.authUrl);
    const url = new URL(`${base}/auth/tokens`);
    const res = await this.exchange({
      service: 'identity',
      method: 'POST',
      path: '/auth/tokens',
      url,
      base,
      headers: { 'Content-Type': 'application/json', Accept: 'application/json', 'User-Agent': 'osk' },
      body: JSON.stringify(authRequestBody(auth)),
      idempotent: true, // issuing a token changes nothing
      timeoutMs: this.timeoutMs,
      endpointFrom: `auth_url${this.cloudLabel}`,
    });
    if (res.status !== 201 && res.status !== 200) {
      const who = describeAuth(auth);
      const hint =
        res.status === 401
          ? `Keystone refused ${who}: check the credentials and scope in clouds.yaml${this.cloudLabel}`
          : res.status === 404
            ? `is auth_url (${auth.authUrl}) the Keystone endpoint? It should look like http://keystone.example:5000/v3`
            : undefined;
      throw this.apiError('identity', 'POST', '/auth/tokens', res, hint);
    }
    return parseTokenResponse(res.headers.get('x-subject-token'), parseBody(res, 'identity: POST /auth/tokens'));
  }

  /** The base URL of a service's API (version included), from the override or the token's catalog. */
  async endpoint(service: ServiceType): Promise<string> {
    return this.endpointWith(service, await this.getToken());
  }

  private endpointWith(service: ServiceType, token: Token): string {
    const override = this.override(service);
    if (override) return apiBase(service, override);
    const catalog = token.body.catalog ?? [];
    if (service === 'identity' && !catalog.some((s) => s.type === 'identity')) {
      // An unscoped token has no catalog; Keystone is where we logged in.
      return identityV3Url(this.options.auth.authUrl);
    }
    const q = {
      serviceType: service,
      ...(this.options.interface ? { interface: this.options.interface } : {}),
      ...(this.options.region ? { region: this.options.region } : {}),
    };
    return apiBase(service, selectEndpoint(catalog, q));
  }

  private override(service: ServiceType): string | undefined {
    const o = this.options.endpointOverrides ?? {};
    for (const name of [service, ...(SERVICE_TYPE_ALIASES[service] ?? [])]) {
      const v = o[name] ?? o[name.replace(/-/g, '_')];
      if (v) return v;
    }
    return undefined;
  }

  private endpointSource(service: ServiceType): string {
    if (this.override(service)) return `the ${service} endpoint override${this.cloudLabel}`;
    const iface = this.options.interface ?? 'public';
    return `the Keystone catalog (${service}, interface ${iface}${this.options.region ? `, region ${this.options.region}` : ''})`;
  }

  /**
   * One API call. Adds the token and microversion, retries idempotent calls on connection errors
   * and 502/503/504, logs in again once on a 401, and turns error answers into OpenStackApiError.
   */
  async request<T = unknown>(
    service: ServiceType,
    method: string,
    path: string,
    opts: RequestOptions = {},
  ): Promise<ApiResponse<T>> {
    method = method.toUpperCase();
    const idempotent = opts.idempotent ?? IDEMPOTENT_METHODS.has(method);
    const replayable =
      opts.rawBody === undefined || typeof opts.rawBody === 'string' || opts.rawBody instanceof Uint8Array;
    const version =
      opts.microversion === null
        ? undefined
        : (opts.microversion ?? this.options.microversions?.[service] ?? DEFAULT_MICROVERSIONS[service]);
    const pathOnly = path.split('?')[0]!;
    let reauthed = false;
    for (;;) {
      const token = await this.getToken();
      const base = this.endpointWith(service, token);
      const url = new URL(base + (path.startsWith('/') ? path : `/${path}`));
      appendQuery(url, opts.query);
      const headers: Record<string, string> = {
        Accept: 'application/json',
        'User-Agent': 'osk',
        'X-Auth-Token': token.value,
        ...(version ? microversionHeaders(service, version) : {}),
        ...opts.headers,
      };
      let body: RequestBody | undefined;
      if (opts.json !== undefined) {
        headers['Content-Type'] = 'application/json';
        body = JSON.stringify(opts.json);
      } else if (opts.rawBody !== undefined) {
        headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
        body = opts.rawBody;
      }
      const res = await this.exchange({
        service,
        method,
        path: pathOnly,
        url,
        base,
        headers,
        body,
        idempotent: idempotent && replayable,
        timeoutMs: opts.timeoutMs ?? this.timeoutMs,
        endpointFrom: this.endpointSource(service),
      });
      if (res.status === 401 && !reauthed && replayable && this.options.auth.type !== 'token') {
        // The token was revoked or expired early (Keystone restarted with new fernet keys, a
        // clock skew): log in once more and repeat the call.
        reauthed = true;
        if (this.token === token) this.invalidateToken();
        continue;
      }
      if ((res.status >= 300 || res.status < 200) && !opts.okStatuses?.includes(res.status)) {
        throw this.apiError(service, method, pathOnly, res);
      }
      return {
        status: res.status,
        headers: res.headers,
        body: (method === 'HEAD' ? undefined : parseBody(res, `${service}: ${method} ${pathOnly}`)) as T,
        requestId: requestIdOf(res.headers),
      };
    }
  }

  async get<T>(service: ServiceType, path: string, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>(service, 'GET', path, opts)).body;
  }
  async post<T>(service: ServiceType, path: string, json?: unknown, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>(service, 'POST', path, { ...opts, ...(json === undefined ? {} : { json }) })).body;
  }
  async put<T>(service: ServiceType, path: string, json?: unknown, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>(service, 'PUT', path, { ...opts, ...(json === undefined ? {} : { json }) })).body;
  }
  async patch<T>(service: ServiceType, path: string, json?: unknown, opts?: RequestOptions): Promise<T> {
    return (await this.request<T>(service, 'PATCH', path, { ...opts, ...(json === undefined ? {} : { json }) })).body;
  }
  async delete(service: ServiceType, path: string, opts?: RequestOptions): Promise<void> {
    await this.request(service, 'DELETE', path, opts);
  }

  /** Every item of a collection, across pages (see listPages). */
  async list<T>(service: ServiceType, path: string, key: string, opts: ListOptions = {}): Promise<T[]> {
    const microversion = opts.microversion !== undefined ? { microversion: opts.microversion } : {};
    return listPages<T>(
      (query) => this.get<Record<string, unknown> | undefined>(service, path, { query, ...microversion }),
      `${service}: GET ${path}`,
      key,
      opts,
    );
  }

  /** Close idle connections. */
  async close(): Promise<void> {
    await this.transport.close();
  }

  /** Send with retries; returns any HTTP answer that is not retried, throws when there is none. */
  private exchange(x: Exchange): Promise<HttpResponse> {
    return exchange(this.transport, { ...this.options, cloudLabel: this.cloudLabel }, x);
  }

  private apiError(service: string, method: string, path: string, res: HttpResponse, hint?: string): OpenStackApiError {
    const parsed = parseErrorBody(res.body.toString('utf8'), res.headers.get('content-type'));
    return new OpenStackApiError({
      service,
      method,
      path,
      status: res.status,
      statusText: reasonPhrase(res.status, res.statusText),
      serverMessage: parsed.message,
      ...(parsed.errorType ? { errorType: parsed.errorType } : {}),
      ...((requestIdOf(res.headers) ?? parsed.requestId)
        ? { requestId: requestIdOf(res.headers) ?? parsed.requestId }
        : {}),
      ...(hint ? { hint } : {}),
    });
  }
}

/** Raised for malformed input to the client (a missing field the API needs). */
export function invalid(message: string): OskError {
  return new OskError(message, { exitCode: ExitCode.invalidInput });
}
