/**
 * The errors of the OpenStack client. Everything a user can see is an OskError: a server that
 * said no (OpenStackApiError), a service that could not be reached (OpenStackUnreachableError),
 * and a wait that did not converge (plain OskError from the resource modules).
 */
import { STATUS_CODES } from 'node:http';
import { ExitCode, OskError } from '../errors.js';

interface ApiErrorDetails {
  /** Service type the request went to (`compute`, `identity`, …). */
  service: string;
  method: string;
  /** The path as the caller wrote it, relative to the service endpoint (no query). */
  path: string;
  status: number;
  /** The reason phrase (`Bad Request`); the server's own when it sent one. */
  statusText: string;
  /** What the server said, extracted from its error body; empty when it said nothing. */
  serverMessage: string;
  /** The error's kind when the body names one: nova's `itemNotFound`, neutron's `NetworkNotFound`, … */
  errorType?: string;
  /** `x-openstack-request-id` / `x-compute-request-id`: what to grep for in the service's log. */
  requestId?: string;
  hint?: string;
}

/** An OpenStack API answered with a status that is not a success. */
export class OpenStackApiError extends OskError {
  readonly service: string;
  readonly method: string;
  readonly path: string;
  readonly status: number;
  readonly statusText: string;
  readonly serverMessage: string;
  readonly errorType: string | undefined;
  readonly requestId: string | undefined;
  constructor(d: ApiErrorDetails) {
    const said = d.serverMessage ? `: ${d.serverMessage}` : '';
    const req = d.requestId ? ` (request ${d.requestId})` : '';
    super(`${d.service}: ${d.method} ${d.path} failed: ${d.status} ${d.statusText}${said}${req}`, {
      exitCode: ExitCode.failed,
      hint: d.hint ?? defaultHint(d.status, d.service),
    });
    this.name = 'OpenStackApiError';
    this.service = d.service;
    this.method = d.method;
    this.path = d.path;
    this.status = d.status;
    this.statusText = d.statusText;
    this.serverMessage = d.serverMessage;
    this.errorType = d.errorType;
    this.requestId = d.requestId;
  }
}

function defaultHint(status: number, service: string): string | undefined {
  if (status === 401)
    return 'the credentials were refused: check the user, password or application credential and the project/domain scope';
  if (status === 403)
    return 'the user is authenticated but not allowed to do this: check its role assignments (policy)';
  if (status >= 500)
    return `the ${service} service failed while handling the request: its log has the details under the request id`;
  return undefined;
}

/** True for "the thing is not there", the answer every `ensure…` pattern branches on. */
export function isNotFound(e: unknown): e is OpenStackApiError {
  return e instanceof OpenStackApiError && e.status === 404;
}

export function isConflict(e: unknown): e is OpenStackApiError {
  return e instanceof OpenStackApiError && e.status === 409;
}

/** The reason phrase for a status, for servers (and HTTP/2 proxies) that send none. */
export function reasonPhrase(status: number, given: string): string {
  return given || STATUS_CODES[status] || 'Unknown Status';
}

/** A service endpoint that could not be reached, or did not answer in time. */
export class OpenStackUnreachableError extends OskError {
  readonly service: string;
  readonly url: string;
  /** `connect` (refused/reset/unreachable), `dns`, `tls`, `timeout`. */
  readonly reason: 'connect' | 'dns' | 'tls' | 'timeout' | 'other';
  /** The system error code when there is one (`ECONNREFUSED`, `ENOTFOUND`, `DEPTH_ZERO_SELF_SIGNED_CERT`, …). */
  readonly code: string | undefined;
  constructor(
    message: string,
    d: {
      service: string;
      url: string;
      reason: OpenStackUnreachableError['reason'];
      code?: string;
      hint?: string;
      cause?: unknown;
    },
  ) {
    super(message, { exitCode: ExitCode.failed, hint: d.hint, cause: d.cause });
    this.name = 'OpenStackUnreachableError';
    this.service = d.service;
    this.url = d.url;
    this.reason = d.reason;
    this.code = d.code;
  }
}

const MAX_MESSAGE = 600;

/**
 * The server's message out of an error body. Every OpenStack service formats errors its own way:
 * - nova / cinder: `{"itemNotFound": {"code": 404, "message": "…"}}` (one key naming the kind)
 * - neutron: `{"NeutronError": {"type": "NetworkNotFound", "message": "…", "detail": ""}}`
 * - keystone: `{"error": {"code": 401, "title": "Unauthorized", "message": "…"}}`
 * - placement (and glance's JSON faults): `{"errors": [{"status", "title", "detail", "request_id"}]}`
 * - webob's JSON fault (glance with Accept: application/json): `{"code": "404 Not Found", "title", "message"}`
 * - glance, proxies and uwsgi: plain text or HTML.
 */
export function parseErrorBody(
  body: string,
  contentType: string | null,
): { message: string; errorType?: string; requestId?: string } {
  const text = body.trim();
  if (!text) return { message: '' };
  if (/json/i.test(contentType ?? '') || text.startsWith('{')) {
    try {
      return fromJson(JSON.parse(text) as unknown);
    } catch {
      // Not JSON after all: fall through to text.
    }
  }
  return { message: clip(plainText(text)) };
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined;
}

function fromJson(j: unknown): { message: string; errorType?: string; requestId?: string } {
  if (!isRecord(j)) return { message: clip(JSON.stringify(j)) };
  // neutron
  if (isRecord(j.NeutronError)) {
    const n = j.NeutronError;
    const msg = str(n.message) ?? '';
    const detail = str(n.detail);
    return { message: clip(detail && detail !== msg ? `${msg} (${detail})` : msg), ...opt('errorType', str(n.type)) };
  }
  // keystone
  if (isRecord(j.error)) {
    const e = j.error;
    return { message: clip(str(e.message) ?? str(e.title) ?? ''), ...opt('errorType', str(e.title)) };
  }
  // placement / JSON-API style
  if (Array.isArray(j.errors)) {
    const parts: string[] = [];
    let requestId: string | undefined;
    for (const e of j.errors) {
      if (!isRecord(e)) continue;
      requestId ??= str(e.request_id);
      const detail = str(e.detail);
      parts.push(detail ? plainText(detail) : (str(e.title) ?? ''));
    }
    return { message: clip(parts.filter(Boolean).join('; ')), ...opt('requestId', requestId) };
  }
  // webob JSON fault, or anything with a top-level message
  if (str(j.message)) return { message: clip(plainText(str(j.message)!)), ...opt('errorType', str(j.title)) };
  if (str(j.faultstring)) return { message: clip(str(j.faultstring)!) };
  // nova / cinder: one key naming the fault kind
  const keys = Object.keys(j);
  if (keys.length === 1) {
    const kind = keys[0]!;
    const inner = j[kind];
    if (isRecord(inner)) return { message: clip(str(inner.message) ?? str(inner.explanation) ?? ''), errorType: kind };
  }
  return { message: clip(JSON.stringify(j)) };
}

function opt<K extends string>(k: K, v: string | undefined): Partial<Record<K, string>> {
  return v === undefined ? {} : ({ [k]: v } as Record<K, string>);
}

/** HTML and webob's text faults to one line: tags out, whitespace collapsed, a repeated status line dropped. */
function plainText(s: string): string {
  let t = s
    .replace(/<(script|style|title)[^>]*>[\s\S]*?<\/\1>/gi, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
  // webob: "404 Not Found The resource could not be found. …": the status is already in our message.
  const m = /^(\d{3}) /.exec(t);
  const phrase = m ? STATUS_CODES[Number(m[1])] : undefined;
  if (m && phrase && t.startsWith(`${m[1]} ${phrase}`)) t = t.slice(m[1]!.length + 1 + phrase.length).trim() || t;
  return t;
}

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s;
}
