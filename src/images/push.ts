/**
 * osk images build --push: each image copied from the cache's OCI layout to a registry with
 * skopeo (argv only, run.ts). TLS is verified unless the user says the registry is plain HTTP
 * (--push-insecure); credentials come from skopeo's own auth file (--authfile, else
 * REGISTRY_AUTH_FILE or containers' default), never from the command line. A failure says which
 * image, which registry, and what kind of failure it is (unreachable, plain HTTP, certificate,
 * credentials), from skopeo's own words.
 */
import { readFile, rm } from 'node:fs/promises';
import { ExitCode, OskError } from '../errors.js';
import { run } from './run.js';

export interface PushOptions {
  /** registry host with an optional path, as --push gives it */
  registry: string;
  /** plain HTTP or a certificate skopeo cannot verify */
  insecure: boolean;
  /** skopeo's auth file (containers-auth.json format) */
  authfile?: string;
}

type Kind = 'unreachable' | 'plain-http' | 'certificate' | 'credentials' | 'other';

interface Diagnosis {
  kind: Kind;
  why: string;
  hint?: string;
}

/** What went wrong, from skopeo's error text (containers/image and Go's net/http wording). */
export function diagnosePush(output: string, o: PushOptions): Diagnosis {
  const host = o.registry.split('/')[0]!;
  if (/server gave HTTP response to HTTPS client/.test(output))
    return {
      kind: 'plain-http',
      why: `the registry ${host} speaks plain HTTP, and osk verifies TLS unless told otherwise`,
      hint: `add --push-insecure if ${host} is meant to be reached over plain HTTP (a test registry); a production registry should serve HTTPS`,
    };
  if (/x509:|tls: |certificate/i.test(output))
    return {
      kind: 'certificate',
      why: `the certificate of the registry ${host} cannot be verified`,
      hint: `put its CA certificate into /etc/containers/certs.d/${host}/ca.crt (skopeo reads it there), or add --push-insecure to skip the check`,
    };
  if (
    /connection refused|no such host|i\/o timeout|no route to host|network is unreachable|deadline exceeded/.test(
      output,
    )
  )
    return {
      kind: 'unreachable',
      why: `the registry ${host} cannot be reached`,
      hint: `check that a registry listens at ${host} (host and port) and that this host can reach it`,
    };
  if (
    /unauthorized|authentication required|denied|invalid username\/password|\b40[13] (unauthorized|forbidden)\b/i.test(
      output,
    )
  )
    return {
      kind: 'credentials',
      why: `the registry ${host} refused the credentials (or their absence)`,
      hint: o.authfile
        ? `check the entry for ${host} in ${o.authfile} (skopeo login --authfile ${o.authfile} ${host} writes one)`
        : `log in first (skopeo login ${host}, or REGISTRY_AUTH_FILE / --authfile with an entry for ${host}); as root with sudo, your own login is not root's: pass --authfile`,
    };
  return { kind: 'other', why: `skopeo could not push to ${host}` };
}

function transportFlags(o: PushOptions, prefix: '' | 'dest-'): string[] {
  return [
    ...(o.insecure ? [`--${prefix}tls-verify=false`] : []),
    ...(o.authfile ? [`--${prefix}authfile`, o.authfile] : []),
  ];
}

function lastLines(text: string): string {
  return text
    .trimEnd()
    .split('\n')
    .slice(-8)
    .map((l) => `  ${l}`)
    .join('\n');
}

/**
 * Before any build: can skopeo reach the registry at all? One manifest lookup of the first
 * image (absent is fine). Only an unreachable registry, plain HTTP or a bad certificate stop the
 * build here, seconds in rather than after minutes of apt; a refused read is left to the push
 * (registries may refuse to show a repository that does not exist yet).
 */
export async function checkRegistry(reference: string, o: PushOptions): Promise<void> {
  const r = await run(
    ['skopeo', '--command-timeout', '30s', 'inspect', '--raw', ...transportFlags(o, ''), `docker://${reference}`],
    { what: `skopeo inspect of ${reference}`, okCodes: [1] },
  );
  if (r.code === 0) return;
  const d = diagnosePush(r.tail, o);
  if (d.kind === 'unreachable' || d.kind === 'plain-http' || d.kind === 'certificate')
    throw new OskError(`cannot push to ${o.registry}: ${d.why}:\n${lastLines(r.tail)}`, {
      exitCode: ExitCode.failed,
      ...(d.hint ? { hint: d.hint } : {}),
    });
}

/** Copies one image of the layout to `reference`; returns the digest of the manifest the registry holds. */
export async function pushImage(
  layout: string,
  tag: string,
  reference: string,
  o: PushOptions,
  digestFile: string,
  onLine: (line: string) => void,
): Promise<string> {
  await rm(digestFile, { force: true });
  try {
    const r = await run(
      [
        'skopeo',
        'copy',
        '--retry-times',
        '2',
        ...transportFlags(o, 'dest-'),
        '--digestfile',
        digestFile,
        `oci:${layout}:${tag}`,
        `docker://${reference}`,
      ],
      { what: `skopeo copy of ${tag} to ${reference}`, okCodes: [1], onLine },
    );
    if (r.code !== 0) {
      const d = diagnosePush(r.tail, o);
      throw new OskError(
        `pushing ${reference} failed: ${d.why}:\n${lastLines(r.tail)}`,
        d.hint ? { hint: d.hint } : {},
      );
    }
    const digest = (await readFile(digestFile, 'utf8')).trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest))
      throw new OskError(`skopeo pushed ${reference} but wrote no digest into ${digestFile} (found "${digest}")`);
    return digest;
  } finally {
    await rm(digestFile, { force: true });
  }
}
