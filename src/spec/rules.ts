/**
 * The value types of the cloud file, each with the rules of the place the value lands: a Linux
 * interface name, a Kubernetes object name or label, a DNS name, an image reference, a cron
 * schedule, a URL, a host path. Every string of the schema is built from `text()`, so no value
 * anywhere can carry a newline or a control character into an INI file, a script or a YAML field.
 *
 * A refinement's message is what was expected ("expected …, found …" is added by the loader);
 * `refused()` gives a whole sentence instead, for values that are well formed but dangerous.
 */
import { z } from 'zod';
import { cronProblem } from './cron.js';

/** Longest scalar a cloud file may hold (the loader refuses longer ones before the schema runs). */
export const MAX_STRING = 4096;

/** A refinement issue's extra fields, read by the loader (load.ts). */
export interface IssueParams {
  /** The message is a whole sentence, not an "expected …" phrase. */
  sentence?: boolean;
  hint?: string;
}

// Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: any of them
// ends a line in some reader of the generated files.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/** Why a string is not plain one-line text, or undefined. */
export function plainProblem(s: string): string | undefined {
  const m = CONTROL.exec(s);
  if (!m) return undefined;
  const c = m[0].codePointAt(0)!;
  const name =
    c === 10
      ? 'a newline'
      : c === 13
        ? 'a carriage return'
        : c === 9
          ? 'a tab'
          : `the control character U+${c.toString(16).toUpperCase().padStart(4, '0')}`;
  return `one line of text without control characters (found ${name} at position ${m.index + 1})`;
}

/** One line of text, no control characters, at most `max` characters: the base of every string. */
function text(max = 255) {
  return plain().max(max);
}

function plain() {
  return z.string().refine((s) => plainProblem(s) === undefined, {
    error: (iss) => plainProblem(String(iss.input)) ?? 'one line of text',
  });
}

/** A string that must match `re`; `expected` says what it is, for the message (checked before the length). */
export function pattern(re: RegExp, expected: string, max = 255) {
  return plain().regex(re, expected).max(max);
}

/** Refinement helper: `bad(v)` returns the expected-phrase, or a sentence with `sentence: true`. */
export function rule<T>(bad: (v: T) => string | { sentence: string; hint?: string } | undefined) {
  return (v: T, ctx: z.core.$RefinementCtx<T>) => {
    const why = bad(v);
    if (why === undefined) return;
    if (typeof why === 'string') ctx.addIssue({ code: 'custom', message: why, input: v });
    else
      ctx.addIssue({
        code: 'custom',
        message: why.sentence,
        input: v,
        params: { sentence: true, ...(why.hint ? { hint: why.hint } : {}) } satisfies IssueParams,
      });
  };
}

// ---- names --------------------------------------------------------------------------------

const LABEL_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const SUBDOMAIN_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes DNS-1123 label (names of Namespaces, Services, …): ≤ 63, lower-case, digits, "-". */
export function k8sLabelName(max = 63) {
  return pattern(
    LABEL_RE,
    'a DNS-1123 label: lower-case letters, digits and "-", starting and ending with a letter or digit',
    253,
  ).max(
    max,
    max < 63
      ? `at most ${max} characters (osk appends suffixes to build object names)`
      : 'at most 63 characters (a DNS-1123 label)',
  );
}

/** A Kubernetes DNS-1123 subdomain (names of Secrets, StorageClasses, issuers, …): ≤ 253. */
export const k8sName = pattern(
  SUBDOMAIN_RE,
  'a Kubernetes object name: lower-case letters, digits, "-" and ".", starting and ending with a letter or digit',
  253,
);

/** A DNS name whose labels are each ≤ 63 characters (hostnames osk derives from it add a label). */
export const dnsName = pattern(
  SUBDOMAIN_RE,
  'a DNS name such as cloud.example.com (lower-case letters, digits, "-" and ".")',
  240,
).superRefine(
  rule((s: string) => {
    const long = s.split('.').find((l) => l.length > 63);
    return long
      ? `a DNS name whose labels are at most 63 characters each ("${long.slice(0, 20)}…" has ${long.length})`
      : undefined;
  }),
);

const QUALIFIED_NAME = /^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)$/;

/** Why `key` is not a Kubernetes label key ([prefix/]name), or undefined. */
function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !SUBDOMAIN_RE.test(prefix))) {
    return 'a label key: an optional prefix that is a DNS subdomain (≤ 253 characters, lower-case) and "/", then a name';
  }
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return 'a label key whose name part is 1-63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit';
  }
  return undefined;
}

export const labelKey = text(317).superRefine(rule(labelKeyProblem));
export const labelValue = pattern(
  /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/,
  'a label value: at most 63 letters, digits, "-", "_" or ".", starting and ending with a letter or digit',
  MAX_STRING,
).max(63, 'a label value of at most 63 characters');
/** Labels that must all match (node selectors). */
export const labelMap = z.record(labelKey, labelValue);

/** Namespaces that belong to Kubernetes itself or to everything else on the cluster. */
export function namespaceRefusal(ns: string): { sentence: string; hint: string } | undefined {
  if (ns === 'default' || ns.startsWith('kube-')) {
    return {
      sentence: `"${ns}" is ${ns === 'default' ? "the cluster's default namespace" : 'a namespace of Kubernetes itself'}: osk labels its namespace privileged for the compute agents and puts a default-deny NetworkPolicy on every pod in it`,
      hint: 'give the cloud a namespace of its own, e.g. openstack (the default)',
    };
  }
  return undefined;
}

/**
 * A Linux network interface name (kernel dev_valid_name): 1-15 characters, no "/", ":" or
 * whitespace, not "." or "..". osk also keeps to letters, digits, "-", "_" and "." (bond0.100).
 */
export const interfaceName = pattern(
  /^[A-Za-z0-9_.-]{1,15}$/,
  'a Linux interface name: 1-15 letters, digits, "-", "_" or "." (e.g. bond1, eth0.100)',
  15,
).superRefine(rule((s: string) => (s === '.' || s === '..' ? 'an interface name other than "." or ".."' : undefined)));

/** An Open vSwitch bridge, which is also a kernel interface: the same rules; br-int is OVN's own. */
export const bridgeName = interfaceName.superRefine(
  rule((s: string) =>
    s === 'br-int'
      ? {
          sentence: 'br-int is the integration bridge OVN owns; a provider network needs a bridge of its own',
          hint: 'leave bridge unset (br-<name>) or name another bridge',
        }
      : undefined,
  ),
);

/** A name that lands in an INI value and on a command line: letters, digits, "-", "_" and ".". */
export function simpleName(expected: string, max = 63) {
  return pattern(
    new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,${max - 1}}$`),
    `${expected}: letters, digits, "-", "_" and ".", starting with a letter or digit, at most ${max} characters`,
    max,
  );
}

// ---- images -------------------------------------------------------------------------------

// The reference grammar of the distribution project (docker/OCI image references).
const DOMAIN_COMPONENT = '(?:[A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9-]*[A-Za-z0-9])';
const DOMAIN = `(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[0-9A-Fa-f:]+\\])(?::[0-9]+)?`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const TAG = '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}';
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const IMAGE_RE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);
const REGISTRY_RE = new RegExp(`^${DOMAIN}(?:/${PATH_COMPONENT})*/?$`);

export const imageRef = pattern(
  IMAGE_RE,
  'an image reference such as registry.example.com/team/keystone:2025.1 (optionally @sha256:…)',
  512,
).superRefine(
  rule((s: string) =>
    (IMAGE_RE.exec(s)?.[1]?.length ?? 0) > 255 ? 'an image name of at most 255 characters' : undefined,
  ),
);
export const registryRef = pattern(
  REGISTRY_RE,
  'a registry host with an optional path, such as registry.example.com:5000/mirror',
  255,
);

// ---- schedules, URLs, paths ---------------------------------------------------------------

export const cronSchedule = text(100).superRefine(
  rule((s: string) => {
    const why = cronProblem(s);
    return why
      ? {
          sentence: `not a cron schedule: ${why}`,
          hint: 'five fields, minute (0-59) hour (0-23) day-of-month (1-31) month (1-12) day-of-week (0-7), e.g. "0 2 * * *", or @daily',
        }
      : undefined;
  }),
);

/** Why a URL carries credentials, as a refusal, or undefined. */
function credentialsRefusal(url: string, where: string): { sentence: string; hint: string } | undefined {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(url)?.[1] ?? '';
  if (!authority.includes('@')) return undefined;
  return {
    sentence: 'the URL carries credentials (user:password@): they would end up in plain text in the rendered objects',
    hint: where,
  };
}

/** An http(s) URL without credentials, query or fragment. */
export function httpUrl(where: string) {
  return text(2048).superRefine(
    rule((s: string) => {
      const refusal = credentialsRefusal(s, where);
      if (refusal) return refusal;
      let u: URL;
      try {
        u = new URL(s);
      } catch {
        return 'an http or https URL such as https://s3.example.com';
      }
      if (u.protocol !== 'http:' && u.protocol !== 'https:')
        return 'an http or https URL such as https://s3.example.com';
      if (u.search || u.hash) return 'a URL without "?" query or "#" fragment';
      if (!/^[A-Za-z0-9._~:/%[\]-]+$/.test(s.replace(/^https?:\/\//, '')))
        return 'a URL of letters, digits and "-._~:/%[]" only';
      return undefined;
    }),
  );
}

/** s3://bucket[/prefix]: S3 bucket naming rules, a prefix of safe characters, no credentials. */
export function s3Url(where: string) {
  return text(1024).superRefine(
    rule((s: string) => {
      const refusal = credentialsRefusal(s, where);
      if (refusal) return refusal;
      const m = /^s3:\/\/([^/]*)(\/.*)?$/.exec(s);
      if (!m) return 'an S3 URL such as s3://bucket/prefix';
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(m[1]!) || m[1]!.includes('..'))
        return 'an S3 bucket name of 3-63 lower-case letters, digits, "." and "-" (s3://bucket/prefix)';
      if (m[2] && !/^(\/[A-Za-z0-9!_.*'()-]+)+\/?$/.test(m[2]))
        return 'an S3 prefix of letters, digits and "!-_.*\'()" between "/" (s3://bucket/some/prefix)';
      return undefined;
    }),
  );
}

/** Host directories a pod must never get: the system's own, or a parent of them. */
const SYSTEM_PATHS = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/opt',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/srv',
  '/sys',
  '/tmp',
  '/usr',
  '/var',
  '/var/run',
  '/var/lib',
  '/var/log',
  '/var/lib/kubelet',
  '/var/lib/containerd',
  '/var/lib/docker',
  '/var/lib/etcd',
];
const SYSTEM_TREES = [
  '/bin',
  '/boot',
  '/dev',
  '/etc',
  '/home',
  '/lib',
  '/lib32',
  '/lib64',
  '/libx32',
  '/proc',
  '/root',
  '/run',
  '/sbin',
  '/sys',
  '/usr',
  '/var/run',
  '/var/lib/kubelet',
  '/var/lib/containerd',
  '/var/lib/docker',
  '/var/lib/etcd',
  '/var/log',
];

/** An absolute, normalised directory on a node that is not a system directory or inside one. */
export const hostPath = pattern(
  /^(\/[A-Za-z0-9._-]+)+$/,
  'an absolute path such as /var/lib/glance-cache (letters, digits, "-", "_" and "." between "/", no trailing "/")',
  1024,
).superRefine(
  rule((p: string) => {
    if (p.split('/').some((seg) => seg === '.' || seg === '..'))
      return 'a normalised path without "." or ".." segments';
    const inside = SYSTEM_TREES.find((t) => p === t || p.startsWith(`${t}/`));
    if (SYSTEM_PATHS.includes(p) || inside) {
      return {
        sentence: `${p} is ${inside && inside !== p ? `inside ${inside}, ` : ''}a system directory of the node: a pod writing there can damage the host`,
        hint: 'use a directory of its own, e.g. /var/lib/glance-cache',
      };
    }
    return undefined;
  }),
);

/** A Ceph monitor address: host or IPv4 or [IPv6], with an optional port. */
export const monitorAddress = text(300).superRefine(
  rule((s: string) => {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(s);
    if (!m) return 'a monitor address host[:port], e.g. 10.0.0.11:6789 or [fd00::11]:3300';
    const host = m[2];
    if (host !== undefined && (!SUBDOMAIN_RE.test(host.toLowerCase()) || host.split('.').some((l) => l.length > 63)))
      return 'a monitor host that is a DNS name or an IPv4 address';
    if (m[3] !== undefined && (Number(m[3]) < 1 || Number(m[3]) > 65535)) return 'a port from 1 to 65535';
    return undefined;
  }),
);

// ---- quantities ---------------------------------------------------------------------------

const SUFFIX: Record<string, number> = {
  '': 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};
/** What a cloud file may write (bounded digits; no n/u, which only metrics use). */
const QUANTITY_RE = /^(\d{1,18}(?:\.\d{1,9})?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;
/** What the API server may return, e.g. metrics.k8s.io's "12345n" CPU. */
const ANY_QUANTITY_RE = /^(\d+(?:\.\d+)?)(n|u|m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/;

/**
 * A Kubernetes quantity as a number ("500m" → 0.5, "4Gi" → 4·2³⁰); undefined when it is not one.
 * Not client-node's quantityToScalar: it returns a bigint for k/M/G/Ki/Mi/Gi… and throws on a
 * decimal one such as "1.5Gi", which limits may be written as.
 */
export function quantityValue(q: string): number | undefined {
  const m = ANY_QUANTITY_RE.exec(q.trim());
  return m ? Number(m[1]) * SUFFIX[m[2] ?? '']! : undefined;
}

/** Kubernetes resource quantity, e.g. "500m", "2", "4Gi". */
export function quantity(opts: { positive?: boolean } = {}) {
  return z
    .union([text(32), z.number().nonnegative()])
    .transform((v) => String(v))
    .pipe(
      pattern(QUANTITY_RE, 'a Kubernetes quantity such as "500m", "2" or "4Gi"', 32).superRefine(
        rule((s: string) => (opts.positive && quantityValue(s) === 0 ? 'a quantity greater than 0' : undefined)),
      ),
    );
}

/** MariaDB-style byte size, e.g. "512M", "32G"; greater than 0. */
export const mariadbSize = z
  .union([text(32), z.number().int().positive()])
  .transform((v) => String(v))
  .pipe(
    pattern(
      /^[1-9]\d{0,15}[KMGT]?$/,
      'a MariaDB size greater than 0 such as "512M" or "32G" (K, M, G or T; no "i")',
      32,
    ),
  );

/** A duration greater than 0 and at most a day. */
export const duration = pattern(
  /^\d{1,9}(\.\d{1,6})?(ms|s|m|h)$/,
  'a duration such as "500ms", "3s", "5m" or "1h"',
  32,
).superRefine(
  rule((s: string) => {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(s);
    if (!m) return undefined; // the pattern's own issue says what is wrong
    const secs = Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[m[2] as 'ms' | 's' | 'm' | 'h'];
    return secs <= 0 ? 'a duration greater than 0' : secs > 86400 ? 'a duration of at most 24h' : undefined;
  }),
);

/** A percentage strictly between 0 % and 100 % (0 % and 100 % thresholds fire always or never). */
export const percent = pattern(/^\d{1,3}(\.\d{1,6})?%$/, 'a percentage such as "1%" or "99.9%"', 32).superRefine(
  rule((s: string) => {
    const n = Number(s.slice(0, -1));
    return n <= 0 || n >= 100 ? 'a percentage greater than 0% and less than 100%' : undefined;
  }),
);
