/** IPv4 addresses and CIDRs in the cluster file: their patterns, ranges and overlaps. */
import { pattern, rule } from './rules.js';

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4_RE = new RegExp(`^${OCTET}(\\.${OCTET}){3}$`);

/** An IPv4 address as a 32-bit number. */
function ipv4Value(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

/** An IPv4 CIDR → its first address and size, or undefined when it is not one. */
export function cidrRange(cidr: string): { first: number; size: number; prefix: number } | undefined {
  const [ip, len] = cidr.split('/');
  if (!ip || !IPV4_RE.test(ip) || len === undefined || !/^\d{1,2}$/.test(len) || Number(len) > 32) return undefined;
  const prefix = Number(len);
  const size = 2 ** (32 - prefix);
  return { first: ipv4Value(ip), size, prefix };
}

export function overlap(a: string, b: string): boolean {
  const x = cidrRange(a);
  const y = cidrRange(b);
  return !!x && !!y && x.first < y.first + y.size && y.first < x.first + x.size;
}

export const ipv4 = pattern(IPV4_RE, 'an IPv4 address such as 10.0.0.53', 15);

/** `prefixes`: the prefix lengths allowed (a node subnet needs room for nodes and a router). */
export function cidr(what: string, min: number, max: number) {
  return pattern(
    new RegExp(`^${OCTET}(\\.${OCTET}){3}/\\d{1,2}$`),
    `an IPv4 ${what} in CIDR notation such as 10.6.0.0/24`,
    18,
  ).superRefine(
    rule((s: string) => {
      const r = cidrRange(s)!;
      if (r.prefix < min || r.prefix > max) return `a prefix length between /${min} and /${max}`;
      return r.first % r.size === 0
        ? undefined
        : {
            sentence: `${s} has host bits set: the network of that address is not ${s}`,
            hint: 'give the network address (the first address of the block)',
          };
    }),
  );
}
