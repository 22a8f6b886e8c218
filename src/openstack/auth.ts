/**
 * Keystone v3 authentication: the request body for each way of logging in, and the token that
 * comes back (`X-Subject-Token` header + `token` body with its catalog).
 *
 * Shapes follow the Identity v3 API reference, "Password authentication with scoped
 * authorization" and "Authenticating with an Application Credential".
 */
import { OskError, ExitCode } from '../errors.js';
import type { CatalogService } from './catalog.js';

/** What the token is scoped to. Omitted = unscoped (no catalog: only identity calls work). */
export type AuthScope =
  | { project: { id: string } | { name: string; domainId?: string; domainName?: string } }
  | { domain: { id: string } | { name: string } }
  | { system: 'all' };

interface PasswordAuth {
  type: 'password';
  /** Keystone's URL, with or without `/v3`. */
  authUrl: string;
  username?: string;
  userId?: string;
  /** Needed with `username`; defaults to the `default` domain id like the openstack CLI does. */
  userDomainName?: string;
  userDomainId?: string;
  password: string;
  scope?: AuthScope;
}

interface ApplicationCredentialAuth {
  type: 'applicationCredential';
  authUrl: string;
  /** Either the id, or the name plus the owning user (id, or name + domain). */
  id?: string;
  name?: string;
  username?: string;
  userId?: string;
  userDomainName?: string;
  userDomainId?: string;
  secret: string;
}

/** An existing token (e.g. one handed over by another process); it is not renewed. */
interface TokenAuth {
  type: 'token';
  authUrl: string;
  token: string;
  scope?: AuthScope;
}

export type AuthOptions = PasswordAuth | ApplicationCredentialAuth | TokenAuth;

interface TokenRef {
  id: string;
  name?: string;
  domain?: { id: string; name?: string };
}

/** The `token` object Keystone returns; the fields osk reads. */
export interface TokenBody {
  expires_at: string;
  issued_at?: string;
  methods: string[];
  user: TokenRef;
  project?: TokenRef;
  domain?: { id: string; name?: string };
  system?: { all?: boolean };
  roles?: { id: string; name: string }[];
  catalog?: CatalogService[];
  application_credential?: { id: string; name?: string; restricted?: boolean };
}

export interface Token {
  /** The token itself (the `X-Subject-Token` header): send it as `X-Auth-Token`. */
  value: string;
  /** Milliseconds since the epoch. */
  expiresAt: number;
  body: TokenBody;
}

/** `http://h:5000`, `http://h:5000/`, `http://h:5000/v3/` → `http://h:5000/v3`. */
export function identityV3Url(authUrl: string): string {
  const u = authUrl.replace(/\/+$/, '');
  if (/\/v3$/.test(u)) return u;
  if (/\/v2\.0$/.test(u)) return u.replace(/\/v2\.0$/, '/v3');
  return `${u}/v3`;
}

function user(
  a: { username?: string; userId?: string; userDomainName?: string; userDomainId?: string },
  what: string,
): Record<string, unknown> {
  if (a.userId) return { id: a.userId };
  if (!a.username)
    throw new OskError(`${what} needs a user: a user id, or a user name with its domain`, {
      exitCode: ExitCode.invalidInput,
    });
  const domain = a.userDomainId
    ? { id: a.userDomainId }
    : a.userDomainName
      ? { name: a.userDomainName }
      : { id: 'default' };
  return { name: a.username, domain };
}

function scopeBody(scope: AuthScope | undefined): Record<string, unknown> | undefined {
  if (!scope) return undefined;
  if ('system' in scope) return { system: { all: true } };
  if ('domain' in scope) return { domain: scope.domain };
  const p = scope.project;
  if ('id' in p) return { project: { id: p.id } };
  const domain = p.domainId ? { id: p.domainId } : p.domainName ? { name: p.domainName } : { id: 'default' };
  return { project: { name: p.name, domain } };
}

/** The body of `POST /v3/auth/tokens`. */
export function authRequestBody(auth: AuthOptions): { auth: Record<string, unknown> } {
  switch (auth.type) {
    case 'password': {
      const scope = scopeBody(auth.scope);
      return {
        auth: {
          identity: {
            methods: ['password'],
            password: { user: { ...user(auth, 'password authentication'), password: auth.password } },
          },
          ...(scope ? { scope } : {}),
        },
      };
    }
    case 'applicationCredential': {
      // An application credential carries its own scope; Keystone rejects a scope next to it.
      let cred: Record<string, unknown>;
      if (auth.id) cred = { id: auth.id, secret: auth.secret };
      else if (auth.name)
        cred = { name: auth.name, user: user(auth, `application credential "${auth.name}"`), secret: auth.secret };
      else
        throw new OskError(
          'application credential authentication needs application_credential_id, or application_credential_name with the user',
          { exitCode: ExitCode.invalidInput },
        );
      return { auth: { identity: { methods: ['application_credential'], application_credential: cred } } };
    }
    case 'token': {
      const scope = scopeBody(auth.scope);
      return { auth: { identity: { methods: ['token'], token: { id: auth.token } }, ...(scope ? { scope } : {}) } };
    }
  }
}

/** A short description of who logs in, for error messages (never the secret). */
export function describeAuth(auth: AuthOptions): string {
  switch (auth.type) {
    case 'password': {
      const who = auth.userId ?? `${auth.username ?? '?'}@${auth.userDomainId ?? auth.userDomainName ?? 'default'}`;
      const s = auth.scope;
      const where = !s
        ? 'unscoped'
        : 'system' in s
          ? 'system scope'
          : 'domain' in s
            ? `domain ${'id' in s.domain ? s.domain.id : s.domain.name}`
            : `project ${'id' in s.project ? s.project.id : s.project.name}`;
      return `user ${who} (${where})`;
    }
    case 'applicationCredential':
      return `application credential ${auth.id ?? auth.name ?? '?'}`;
    case 'token':
      return 'a given token';
  }
}

export function parseTokenResponse(subjectToken: string | null, json: unknown): Token {
  const body = (json as { token?: TokenBody } | null)?.token;
  if (!subjectToken || !body || typeof body.expires_at !== 'string') {
    throw new OskError(
      'identity: the token response has no X-Subject-Token header or no token body: is auth_url really Keystone v3?',
      {
        hint: 'auth_url should be the Keystone endpoint, e.g. http://keystone.example:5000/v3',
      },
    );
  }
  const expiresAt = Date.parse(body.expires_at);
  if (Number.isNaN(expiresAt))
    throw new OskError(`identity: the token's expires_at "${body.expires_at}" is not a date`);
  return { value: subjectToken, expiresAt, body };
}
