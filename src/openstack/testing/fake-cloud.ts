/**
 * A fake OpenStack for tests: one local HTTP server playing Keystone (real token flow:
 * 201 + X-Subject-Token + a catalog) and whatever routes a test adds for the other services,
 * answering in each service's own formats. Every request is recorded.
 *
 * Service URLs mirror a real catalog: `/identity/v3`, `/compute/v2.1`, `/network` (no version,
 * like neutron's), `/volume/v3/<project>`, `/image` (no version, like glance's), `/placement`;
 * internal endpoints live under `/internal/…` and a second region under `/r2/…` so tests can
 * tell which one was chosen.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { OpenStackClient } from '../index.js';

export const PROJECT_ID = 'f00dfeedf00dfeedf00dfeedf00dfeed';
export const USER_ID = 'a11ceb0ba11ceb0ba11ceb0ba11ceb0b';

export interface Recorded {
  method: string;
  /** Path and query, as received. */
  url: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingMessage['headers'];
  body: Buffer;
  json: unknown;
}

interface Reply {
  status: number;
  headers?: Record<string, string>;
  /** An object is sent as JSON; a string or Buffer as is. */
  body?: unknown;
}

/** `hang` never answers; `destroy` drops the connection. */
type Handler = (req: Recorded, cloud: FakeCloud) => Reply | 'hang' | 'destroy' | Promise<Reply | 'hang' | 'destroy'>;

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): Reply => ({
  status,
  body,
  headers: { 'x-openstack-request-id': `req-${status}-fake`, ...headers },
});

let counter = 0;

export class FakeCloud {
  readonly requests: Recorded[] = [];
  /** Tokens the fake Keystone accepts; clear it to make every token invalid (401). */
  readonly validTokens = new Set<string>();
  /** Lifetime of issued tokens. */
  tokenLifetimeMs = 3_600_000;
  /** Bodies of every POST /v3/auth/tokens. */
  readonly authRequests: unknown[] = [];
  /** When set, the next token answers are this instead (e.g. a 401 for wrong credentials). */
  authReply: Reply | undefined;
  private readonly routes: { method: string; path: RegExp; handler: Handler }[] = [];
  private readonly server: Server;
  private readonly hung: ServerResponse[] = [];
  base = '';

  private constructor(server: Server) {
    this.server = server;
  }

  /** `server`: an https.Server to serve TLS (then `https: true`). */
  static async start(opts: { server?: Server; https?: boolean } = {}): Promise<FakeCloud> {
    const server = opts.server ?? createServer();
    const cloud = new FakeCloud(server);
    server.on('request', (req, res) => void cloud.handle(req, res));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as AddressInfo).port;
    cloud.base = `${opts.https ? 'https' : 'http'}://127.0.0.1:${port}`;
    return cloud;
  }

  get authUrl(): string {
    return `${this.base}/identity/v3`;
  }

  /** Add a route; later routes win over earlier ones. `path` is matched against the path without query. */
  on(method: string, path: string | RegExp, handler: Handler): this {
    const re = typeof path === 'string' ? new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : path;
    this.routes.unshift({ method, path: re, handler });
    return this;
  }

  /** Requests to a path (without query), optionally of one method. */
  calls(path: string | RegExp, method?: string): Recorded[] {
    return this.requests.filter(
      (r) => (typeof path === 'string' ? r.path === path : path.test(r.path)) && (!method || r.method === method),
    );
  }

  catalog(): unknown[] {
    const b = this.base;
    const ep = (prefix: string, suffix: string): unknown[] => [
      {
        id: `${prefix}-pub`,
        interface: 'public',
        region: 'RegionOne',
        region_id: 'RegionOne',
        url: `${b}/${prefix}${suffix}`,
      },
      {
        id: `${prefix}-int`,
        interface: 'internal',
        region: 'RegionOne',
        region_id: 'RegionOne',
        url: `${b}/internal/${prefix}${suffix}`,
      },
      {
        id: `${prefix}-r2`,
        interface: 'public',
        region: 'RegionTwo',
        region_id: 'RegionTwo',
        url: `${b}/r2/${prefix}${suffix}`,
      },
    ];
    return [
      { id: 'svc-keystone', type: 'identity', name: 'keystone', endpoints: ep('identity', '/v3') },
      { id: 'svc-nova', type: 'compute', name: 'nova', endpoints: ep('compute', '/v2.1') },
      { id: 'svc-neutron', type: 'network', name: 'neutron', endpoints: ep('network', '') },
      // osk registers cinder as volumev3, with the project id in the URL.
      { id: 'svc-cinder', type: 'volumev3', name: 'cinderv3', endpoints: ep('volume', `/v3/${PROJECT_ID}`) },
      { id: 'svc-glance', type: 'image', name: 'glance', endpoints: ep('image', '') },
      { id: 'svc-placement', type: 'placement', name: 'placement', endpoints: ep('placement', '') },
    ];
  }

  /** Answers every request still hanging, and closes the server and its connections. */
  async stop(): Promise<void> {
    for (const r of this.hung) r.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((ok) => this.server.close(() => ok()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const u = new URL(req.url ?? '/', 'http://fake');
    let parsed: unknown;
    if (/json/.test(req.headers['content-type'] ?? '') && body.length) parsed = JSON.parse(body.toString('utf8'));
    const rec: Recorded = {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      path: u.pathname,
      query: u.searchParams,
      headers: req.headers,
      body,
      json: parsed,
    };
    this.requests.push(rec);
    const reply = await this.dispatch(rec);
    if (reply === 'hang') {
      this.hung.push(res);
      return;
    }
    if (reply === 'destroy') {
      req.socket.destroy();
      return;
    }
    const headers: Record<string, string> = { ...reply.headers };
    let payload: Buffer | undefined;
    if (reply.body !== undefined) {
      if (typeof reply.body === 'string' || Buffer.isBuffer(reply.body)) {
        payload = Buffer.from(reply.body);
        headers['content-type'] ??= 'text/plain; charset=UTF-8';
      } else {
        payload = Buffer.from(JSON.stringify(reply.body));
        headers['content-type'] ??= 'application/json';
      }
    }
    res.writeHead(reply.status, headers);
    res.end(payload);
  }

  private async dispatch(r: Recorded): Promise<Reply | 'hang' | 'destroy'> {
    if (r.method === 'POST' && /\/identity\/v3\/auth\/tokens$/.test(r.path)) return this.issueToken(r);
    for (const route of this.routes) {
      if (route.method === r.method && route.path.test(r.path)) {
        // Like keystonemiddleware: no valid token, no service.
        if (!this.validTokens.has(String(r.headers['x-auth-token']))) {
          return json(
            401,
            {
              error: {
                code: 401,
                title: 'Unauthorized',
                message: 'The request you have made requires authentication.',
              },
            },
            { 'www-authenticate': `Keystone uri="${this.authUrl}"` },
          );
        }
        return route.handler(r, this);
      }
    }
    return { status: 404, body: '404 Not Found\n\nThe resource could not be found.\n\n   ' };
  }

  private issueToken(r: Recorded): Reply {
    this.authRequests.push(r.json);
    if (this.authReply) return this.authReply;
    const auth = (r.json as { auth?: { scope?: unknown } })?.auth;
    const token = `gAAAAA-fake-token-${++counter}`;
    this.validTokens.add(token);
    const now = Date.now();
    const scoped = auth?.scope !== undefined || JSON.stringify(r.json).includes('application_credential');
    return {
      status: 201,
      headers: { 'x-subject-token': token, 'x-openstack-request-id': `req-auth-${counter}`, vary: 'X-Auth-Token' },
      body: {
        token: {
          methods: ['password'],
          user: { id: USER_ID, name: 'admin', domain: { id: 'default', name: 'Default' }, password_expires_at: null },
          audit_ids: ['3T2dc1CGQxyJsHdDu1xkcw'],
          // Keystone writes microseconds.
          expires_at: new Date(now + this.tokenLifetimeMs).toISOString().replace('Z', '000Z'),
          issued_at: new Date(now).toISOString().replace('Z', '000Z'),
          ...(scoped
            ? {
                project: { id: PROJECT_ID, name: 'admin', domain: { id: 'default', name: 'Default' } },
                is_domain: false,
                roles: [
                  { id: 'r-admin', name: 'admin' },
                  { id: 'r-member', name: 'member' },
                  { id: 'r-reader', name: 'reader' },
                ],
                catalog: this.catalog(),
              }
            : {}),
        },
      },
    };
  }
}

/** osk's client as the fake cloud's admin (any password passes), retrying without delay. */
export function fakeAdminClient(cloud: FakeCloud): OpenStackClient {
  return new OpenStackClient({
    auth: {
      type: 'password',
      authUrl: cloud.authUrl,
      username: 'admin',
      password: 'p',
      scope: { project: { name: 'admin' } },
    },
    retryDelayMs: 1,
  });
}
