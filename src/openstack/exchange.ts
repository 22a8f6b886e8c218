/**
 * One HTTP exchange of the session: sent, timed and reported, retried when that is safe, and a
 * failure to get any answer turned into an OpenStackUnreachableError that says where the endpoint
 * came from.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { OpenStackUnreachableError } from './errors.js';
import {
  type HttpResponse,
  type HttpTransport,
  type RequestBody,
  type ResponseHeaders,
  TransportError,
} from './http.js';

export interface RequestEvent {
  service: string;
  method: string;
  url: string;
  attempt: number;
  durationMs: number;
  status?: number;
  error?: string;
  requestId?: string;
}

/** What an exchange takes from its session: the retry settings, the listener, the cloud for messages. */
export interface ExchangePolicy {
  retries?: number;
  retryDelayMs?: number;
  onRequest?: (e: RequestEvent) => void;
  /** ` of cloud "<name>"` or empty, for the TLS hint. */
  cloudLabel: string;
}

export interface Exchange {
  service: string;
  method: string;
  path: string;
  url: URL;
  /** The endpoint, for messages. */
  base: string;
  headers: Record<string, string>;
  body: RequestBody | undefined;
  idempotent: boolean;
  timeoutMs: number;
  endpointFrom: string;
}

const RETRY_STATUSES = new Set([502, 503, 504]);

export function requestIdOf(h: ResponseHeaders): string | undefined {
  return h.get('x-openstack-request-id') ?? h.get('x-compute-request-id') ?? h.get('openstack-request-id') ?? undefined;
}

/** Send with retries; returns any HTTP answer that is not retried, throws when there is none. */
export async function exchange(transport: HttpTransport, policy: ExchangePolicy, x: Exchange): Promise<HttpResponse> {
  const retries = x.idempotent ? (policy.retries ?? 3) : 0;
  for (let attempt = 0; ; attempt++) {
    const started = Date.now();
    let res: HttpResponse;
    try {
      res = await transport.send({
        method: x.method,
        url: x.url,
        headers: x.headers,
        ...(x.body !== undefined ? { body: x.body } : {}),
        timeoutMs: x.timeoutMs,
      });
    } catch (e) {
      if (!(e instanceof TransportError)) throw e;
      policy.onRequest?.({
        service: x.service,
        method: x.method,
        url: x.url.href,
        attempt,
        durationMs: Date.now() - started,
        error: e.code ?? e.kind,
      });
      if (e.retryable && attempt < retries) {
        await sleep(backoff(policy, attempt));
        continue;
      }
      throw unreachable(x, e, attempt, policy.cloudLabel);
    }
    const requestId = requestIdOf(res.headers);
    policy.onRequest?.({
      service: x.service,
      method: x.method,
      url: x.url.href,
      attempt,
      durationMs: Date.now() - started,
      status: res.status,
      ...(requestId ? { requestId } : {}),
    });
    if (RETRY_STATUSES.has(res.status) && attempt < retries) {
      await sleep(retryAfter(res) ?? backoff(policy, attempt));
      continue;
    }
    return res;
  }
}

function backoff(policy: ExchangePolicy, attempt: number): number {
  const base = policy.retryDelayMs ?? 500;
  return Math.min(base * 2 ** attempt, 10_000);
}

/** A 503 may say how long to wait (`Retry-After: <seconds>`); honoured up to 30 s. */
function retryAfter(res: HttpResponse): number | undefined {
  const v = res.headers.get('retry-after');
  if (!v || !/^\d+$/.test(v.trim())) return undefined;
  return Math.min(Number(v) * 1000, 30_000);
}

function describeCode(code: string | undefined): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ECONNRESET':
      return 'connection reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'no route to host';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'connect timed out';
    case 'ENOTFOUND':
    case 'EAI_NONAME':
      return 'host name not found';
    case 'EAI_AGAIN':
      return 'DNS lookup failed temporarily';
    default:
      return code ?? 'error';
  }
}

function unreachable(x: Exchange, e: TransportError, retried: number, cloudLabel: string): OpenStackUnreachableError {
  const where = x.base;
  const call = `${x.method} ${x.path}`;
  const tries = retried > 0 ? ` (tried ${retried + 1} times)` : '';
  const base = { service: x.service, url: x.url.href, ...(e.code ? { code: e.code } : {}), cause: e };
  switch (e.kind) {
    case 'timeout':
      return new OpenStackUnreachableError(
        `${x.service}: ${call}: no answer from ${where} within ${x.timeoutMs / 1000} s: the ${x.service} service may be down or overloaded`,
        {
          ...base,
          reason: 'timeout',
          hint: `the endpoint comes from ${x.endpointFrom}; if the call is known to be slow, raise the timeout`,
        },
      );
    case 'tls':
      return new OpenStackUnreachableError(
        `${x.service}: ${call}: TLS with ${x.url.origin} failed: ${e.message} (${e.code})`,
        {
          ...base,
          reason: 'tls',
          hint: `set cacert in clouds.yaml${cloudLabel} to the CA that signed the server's certificate (or verify: false for a throwaway test cloud)`,
        },
      );
    case 'dns':
      return new OpenStackUnreachableError(
        `${x.service}: ${call}: cannot resolve ${x.url.hostname} (${describeCode(e.code)})${tries}: the ${x.service} endpoint ${where} cannot be reached`,
        {
          ...base,
          reason: 'dns',
          hint: `the endpoint comes from ${x.endpointFrom}; check that the host name is right and resolvable from here`,
        },
      );
    case 'connect':
      return new OpenStackUnreachableError(
        `${x.service}: ${call}: cannot reach ${where} (${describeCode(e.code)})${tries}: the ${x.service} service may be down`,
        {
          ...base,
          reason: 'connect',
          hint: `check that the ${x.service} API is running and listening on ${x.url.host}; the endpoint comes from ${x.endpointFrom}`,
        },
      );
    default:
      return new OpenStackUnreachableError(
        `${x.service}: ${call}: request to ${where} failed: ${e.message}${e.code ? ` (${e.code})` : ''}`,
        {
          ...base,
          reason: 'other',
          hint: `the endpoint comes from ${x.endpointFrom}`,
        },
      );
  }
}
