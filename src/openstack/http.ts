/**
 * One HTTP exchange: undici's fetch with undici's Agent, a timeout, the whole body read.
 *
 * Why npm undici and not the global fetch: a custom CA (`cacert`) or `verify: false` needs a
 * dispatcher, and Node's global fetch only accepts a dispatcher from its own bundled undici copy
 * (an npm undici Agent given to it fails with UND_ERR_INVALID_ARG). So fetch and Agent both come
 * from the npm package, always, and there is one code path with or without TLS options.
 *
 * This layer knows nothing about OpenStack: no auth, no retries, no error bodies. It reports a
 * failure to get an answer as a TransportError saying what kind of failure it was.
 */
import { Agent, fetch, type Response } from 'undici';

export interface TlsOptions {
  /** PEM CA bundle (contents) trusted instead of the system store, as `cacert` does in the openstack CLI. */
  ca?: string | Buffer;
  /** false = accept any certificate (clouds.yaml `verify: false`). Default true. */
  verify?: boolean;
  /** Client certificate and key (PEM contents), for clouds that require mutual TLS. */
  cert?: string | Buffer;
  key?: string | Buffer;
}

export type RequestBody = string | Uint8Array | AsyncIterable<Uint8Array>;

interface HttpRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: RequestBody;
  timeoutMs: number;
}

export interface ResponseHeaders {
  get(name: string): string | null;
}

export interface HttpResponse {
  status: number;
  statusText: string;
  headers: ResponseHeaders;
  body: Buffer;
}

type TransportFailure = 'timeout' | 'connect' | 'dns' | 'tls' | 'other';

export class TransportError extends Error {
  readonly kind: TransportFailure;
  readonly code: string | undefined;
  /** Worth another try for an idempotent request: the peer was not there or dropped the connection. */
  readonly retryable: boolean;
  constructor(message: string, kind: TransportFailure, code: string | undefined, retryable: boolean, cause: unknown) {
    super(message, { cause });
    this.name = 'TransportError';
    this.kind = kind;
    this.code = code;
    this.retryable = retryable;
  }
}

export class HttpTransport {
  private readonly agent: Agent;

  constructor(tls: TlsOptions = {}) {
    const connect: Record<string, unknown> = {};
    if (tls.ca !== undefined) connect.ca = tls.ca;
    if (tls.cert !== undefined) connect.cert = tls.cert;
    if (tls.key !== undefined) connect.key = tls.key;
    if (tls.verify === false) connect.rejectUnauthorized = false;
    // The request timeout is ours (AbortSignal); undici's own header/body timeouts (300 s) stay as
    // a backstop only.
    this.agent = new Agent({ connect, keepAliveTimeout: 4_000 });
  }

  async send(req: HttpRequest): Promise<HttpResponse> {
    const signal = AbortSignal.timeout(req.timeoutMs);
    const streaming = req.body !== undefined && typeof req.body !== 'string' && !(req.body instanceof Uint8Array);
    let res: Response;
    try {
      res = await fetch(req.url, {
        method: req.method,
        headers: req.headers,
        body: req.body as never,
        // Required by fetch for a streamed request body.
        ...(streaming ? { duplex: 'half' as const } : {}),
        redirect: 'manual',
        signal,
        dispatcher: this.agent,
      });
      // The signal also covers reading the body, so a server that sends headers and then stalls
      // still times out here.
      const body = Buffer.from(await res.arrayBuffer());
      return { status: res.status, statusText: res.statusText, headers: res.headers, body };
    } catch (e) {
      throw classify(e, signal);
    }
  }

  /** Close idle keep-alive connections (tests, and short-lived CLI runs that want to exit promptly). */
  async close(): Promise<void> {
    await this.agent.close();
  }
}

const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_CLOSED',
]);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME']);

function errorCode(e: unknown): string | undefined {
  // undici: TypeError('fetch failed') whose cause is the system error (or an AggregateError of
  // them when several addresses were tried).
  let cur: unknown = e;
  for (let depth = 0; depth < 5 && cur; depth++) {
    const c = cur as { code?: unknown; cause?: unknown; errors?: unknown[] };
    if (typeof c.code === 'string' && c.code !== 'UND_ERR' && !c.code.startsWith('ABORT')) return c.code;
    if (Array.isArray(c.errors) && c.errors.length > 0) cur = c.errors[0];
    else cur = c.cause;
  }
  return undefined;
}

function classify(e: unknown, signal: AbortSignal): TransportError {
  if (signal.aborted || (e as { name?: string })?.name === 'TimeoutError') {
    return new TransportError('no answer in time', 'timeout', undefined, false, e);
  }
  const code = errorCode(e);
  const detail = (e as { cause?: { message?: string } })?.cause?.message ?? (e as Error)?.message ?? String(e);
  if (code && DNS_CODES.has(code)) return new TransportError(detail, 'dns', code, code === 'EAI_AGAIN', e);
  if (code && CONNECT_CODES.has(code)) return new TransportError(detail, 'connect', code, true, e);
  if (
    code &&
    (/CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|HOSTNAME|ALTNAME/.test(code) ||
      code.startsWith('ERR_SSL'))
  ) {
    return new TransportError(detail, 'tls', code, false, e);
  }
  return new TransportError(detail, 'other', code, false, e);
}
