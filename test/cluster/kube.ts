// A tiny Kubernetes API client over node:https with client-certificate auth: enough for the test
// harness (create, get, list, patch, delete, wait). Not a general client.
import { request as httpsRequest, Agent } from 'node:https';
import { readFileSync } from 'node:fs';

interface KubeCredentials {
  /** https://127.0.0.1:PORT */
  server: string;
  /** PEM */
  ca: string;
  cert: string;
  key: string;
}

interface KubeResponse<T = unknown> {
  status: number;
  body: T;
}

class KubeError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly body: unknown,
  ) {
    const msg = (body as { message?: string } | undefined)?.message ?? JSON.stringify(body);
    super(`${method} ${path}: HTTP ${status}: ${msg}`);
  }
}

/** A Kubernetes object, loosely typed. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
  [k: string]: unknown;
}

interface KubeList<T = KubeObject> {
  items: T[];
}

export class KubeClient {
  private readonly agent: Agent;
  private readonly url: URL;

  constructor(readonly creds: KubeCredentials) {
    this.url = new URL(creds.server);
    this.agent = new Agent({ ca: creds.ca, cert: creds.cert, key: creds.key, keepAlive: true, maxSockets: 8 });
  }

  /** Reads a kubeconfig that has inline *-data fields or file paths (the first cluster and user). */
  static fromKubeconfig(path: string): KubeClient {
    const text = readFileSync(path, 'utf8');
    const field = (name: string): string | undefined => {
      const m = new RegExp(`^\\s*${name}:\\s*"?([^"\\s]+)"?\\s*$`, 'm').exec(text);
      return m?.[1];
    };
    const pem = (name: string): string => {
      const data = field(`${name}-data`);
      if (data) return Buffer.from(data, 'base64').toString('utf8');
      const file = field(name);
      if (file) return readFileSync(file, 'utf8');
      throw new Error(`${path}: no ${name} or ${name}-data`);
    };
    const server = field('server');
    if (!server) throw new Error(`${path}: no server`);
    return new KubeClient({
      server,
      ca: pem('certificate-authority'),
      cert: pem('client-certificate'),
      key: pem('client-key'),
    });
  }

  close(): void {
    this.agent.destroy();
  }

  request<T = unknown>(
    method: string,
    path: string,
    body?: unknown,
    opts: { contentType?: string; timeoutMs?: number } = {},
  ): Promise<KubeResponse<T>> {
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          protocol: this.url.protocol,
          hostname: this.url.hostname,
          port: this.url.port,
          path,
          method,
          agent: this.agent,
          headers: {
            accept: 'application/json',
            ...(payload === undefined
              ? {}
              : {
                  'content-type': opts.contentType ?? 'application/json',
                  'content-length': Buffer.byteLength(payload),
                }),
          },
          timeout: opts.timeoutMs ?? 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            try {
              parsed = text ? JSON.parse(text) : undefined;
            } catch {
              // plain text (e.g. /readyz)
            }
            resolve({ status: res.statusCode ?? 0, body: parsed as T });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /** Like request, but throws KubeError unless the status is 2xx. */
  async call<T = KubeObject>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request<T>(method, path, body, contentType ? { contentType } : {});
    if (r.status < 200 || r.status >= 300) throw new KubeError(method, path, r.status, r.body);
    return r.body;
  }

  get<T = KubeObject>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  list<T = KubeObject>(path: string): Promise<T[]> {
    return this.call<KubeList<T>>('GET', path).then((l) => l.items);
  }

  create<T = KubeObject>(path: string, obj: unknown): Promise<T> {
    return this.call<T>('POST', path, obj);
  }

  mergePatch<T = KubeObject>(path: string, patch: unknown): Promise<T> {
    return this.call<T>('PATCH', path, patch, 'application/merge-patch+json');
  }

  async delete(path: string): Promise<void> {
    const r = await this.request('DELETE', path);
    if (r.status !== 404 && (r.status < 200 || r.status >= 300)) throw new KubeError('DELETE', path, r.status, r.body);
  }
}

/**
 * Polls `check` until it returns a value other than undefined/false, or throws after timeoutMs.
 * Errors thrown by check count as "not yet" unless fatal(error) says otherwise.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false>,
  {
    timeoutMs = 60_000,
    intervalMs = 250,
    fatal,
  }: { timeoutMs?: number; intervalMs?: number; fatal?: (e: unknown) => boolean } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      if (fatal?.(e)) throw e;
      last = e;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
