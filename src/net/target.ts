import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { HeraldError } from '../errors.ts';

/**
 * Where Herald may send a webhook: the address policy (server-side request forgery defence).
 * Pure functions; `agent.ts` applies the same policy to the address actually connected to, because
 * DNS answers change between the moment a webhook is saved and the moment it is delivered.
 *
 * Every problem is worded to complete a sentence about the field, e.g. "target_url is a loopback
 * address (127.0.0.1)", so a 422 can name the field and the reason in one line.
 */
export interface TargetPolicy {
  /** CIDRs the operator allows despite being private (HERALD_ALLOW_PRIVATE_TARGETS). */
  readonly allow: readonly string[];
}

/** The setting that holds the allow-list; named in errors about it. */
export const ALLOW_SETTING = 'HERALD_ALLOW_PRIVATE_TARGETS';

/** Longest target URL accepted, characters (browsers and proxies commonly cap near this). */
export const MAX_URL_LENGTH = 2048;

/**
 * Builds the policy from the operator's allow-list. Throws a HeraldError naming
 * HERALD_ALLOW_PRIVATE_TARGETS when an entry is not a CIDR or an IP address.
 */
export function createTargetPolicy(allow: readonly string[]): TargetPolicy {
  const policy: TargetPolicy = Object.freeze({ allow: Object.freeze(checkAllowList(allow)) });
  ranges(policy);
  return policy;
}

type Range = [ipaddr.IPv4 | ipaddr.IPv6, number];

/**
 * Checks the allow-list entries: each is a CIDR (`127.0.0.0/8`, `::1/128`) or a single address
 * (meaning /32 or /128). Returns the entries trimmed; throws a HeraldError naming `setting` for the
 * first bad one. The config loader calls this so a typo stops Herald at start.
 */
export function checkAllowList(allow: readonly string[], setting = ALLOW_SETTING): string[] {
  const entries = allow.map((x) => String(x).trim()).filter(Boolean);
  for (const entry of entries) {
    if (parseRange(entry) === null) {
      const problem = `"${entry}" is not a CIDR (e.g. 127.0.0.0/8, ::1/128) or an IP address`;
      throw new HeraldError('validation_failed', `Invalid setting ${setting}: ${problem}`, {
        errors: { [setting]: [problem] },
      });
    }
  }
  return entries;
}

function parseRange(entry: string): Range | null {
  try {
    if (entry.includes('/')) {
      const [addr, bits] = entry.split('/');
      if (!isIP(addr!) || !/^\d{1,3}$/.test(bits!)) return null;
      return ipaddr.parseCIDR(entry);
    }
    if (!isIP(entry)) return null;
    const ip = ipaddr.parse(entry);
    return [ip, ip.kind() === 'ipv4' ? 32 : 128];
  } catch {
    return null;
  }
}

// Parsed allow-lists, per policy object (a policy may also be a plain `{ allow }` literal).
const parsed = new WeakMap<TargetPolicy, Range[]>();

function ranges(policy: TargetPolicy): Range[] {
  let r = parsed.get(policy);
  if (!r) {
    r = checkAllowList(policy.allow).map((entry) => parseRange(entry)!);
    parsed.set(policy, r);
  }
  return r;
}

/**
 * Host names that always mean "this machine" or a cloud's metadata service. Refused by name,
 * whatever they resolve to and whatever the allow-list says (a trailing dot is ignored).
 */
const LOCAL_NAMES = new Set(['localhost', 'localhost.localdomain', 'ip6-localhost', 'ip6-loopback']);
const METADATA_NAMES = new Set([
  'metadata.google.internal',
  'metadata.goog',
  'metadata',
  'instance-data',
  'instance-data.ec2.internal',
  'metadata.azure.com',
  'metadata.tencentyun.com',
]);

/**
 * Cloud metadata endpoints: refused always, even when the allow-list covers them (they hand out
 * credentials to whoever asks from inside the machine).
 * AWS/GCP/Azure 169.254.169.254, AWS ECS 169.254.170.2, Alibaba 100.100.100.200, Oracle
 * 192.0.0.192, Azure wire server 168.63.129.16, AWS IMDS over IPv6 fd00:ec2::254.
 */
const METADATA_ADDRESSES = new Set(
  ['169.254.169.254', '169.254.170.2', '100.100.100.200', '192.0.0.192', '168.63.129.16', 'fd00:ec2::254'].map(
    (a) => ipaddr.parse(a).toNormalizedString(),
  ),
);

/** ipaddr.js range names, worded for a reason ("is a ... address"). */
const IPV4_RANGE_WORDS: Record<string, string> = {
  unspecified: 'is an unspecified address', // 0.0.0.0/8, "this network"
  broadcast: 'is the broadcast address',
  multicast: 'is a multicast address',
  linkLocal: 'is a link-local address',
  loopback: 'is a loopback address',
  carrierGradeNat: 'is a shared (carrier-grade NAT) address',
  private: 'is a private address',
  reserved: 'is a reserved address',
  as112: 'is a special-purpose (AS112) address',
  amt: 'is a special-purpose (AMT) address',
};

const IPV6_RANGE_WORDS: Record<string, string> = {
  unspecified: 'is the unspecified address',
  linkLocal: 'is a link-local address',
  multicast: 'is a multicast address',
  loopback: 'is a loopback address',
  uniqueLocal: 'is a unique local (private) address',
  deprecatedSiteLocal: 'is a site-local address',
  discard: 'is a discard-only address',
  rfc6145: 'is an IPv4-translated address',
  rfc6052: 'is a NAT64 address',
  '6to4': 'is a 6to4 address',
  teredo: 'is a Teredo address',
  benchmarking: 'is a benchmarking address',
  reserved: 'is a reserved address',
};

const GLOBAL_UNICAST: Range = ipaddr.parseCIDR('2000::/3');
const BENCHMARKING_V4: Range = ipaddr.parseCIDR('198.18.0.0/15');
const IETF_PROTOCOL_V4: Range = ipaddr.parseCIDR('192.0.0.0/24');

/**
 * Why a resolved IP address may not be connected to, or null when it may.
 * Order: cloud metadata (always refused), then the operator's allow-list, then classification.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are judged as the IPv4 address they carry; for IPv6
 * only global unicast (2000::/3) outside the special ranges is allowed.
 */
export function addressProblem(address: string, policy: TargetPolicy): string | null {
  const text = String(address).replace(/^\[(.*)\]$/, '$1');
  if (!isIP(text)) return `is not an IP address (${JSON.stringify(String(address)).slice(1, -1)})`;
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.parse(text);
  } catch {
    return `is not an IP address (${text})`;
  }
  if (ip.kind() === 'ipv6' && (ip as ipaddr.IPv6).isIPv4MappedAddress()) ip = (ip as ipaddr.IPv6).toIPv4Address();
  const shown = ip.kind() === 'ipv4' ? ip.toString() : (ip as ipaddr.IPv6).toString();

  if (METADATA_ADDRESSES.has(ip.toNormalizedString())) return `is a cloud metadata address (${shown})`;
  if (ip.kind() === 'ipv4') {
    const v4 = ip as ipaddr.IPv4;
    if (allowed(v4, policy)) return null;
    return ipv4Problem(v4, shown);
  }
  const v6 = ip as ipaddr.IPv6;
  // An embedded IPv4 address (6to4, NAT64, IPv4-compatible) that is itself metadata stays refused always.
  const embedded = embeddedIPv4(v6);
  if (embedded && METADATA_ADDRESSES.has(embedded.toString())) {
    return `${IPV6_RANGE_WORDS[v6.range()] ?? 'is an IPv6 address'} (${shown}) carrying a cloud metadata address (${embedded})`;
  }
  if (allowed(v6, policy)) return null;
  return ipv6Problem(v6, shown, embedded);
}

function allowed(ip: ipaddr.IPv4 | ipaddr.IPv6, policy: TargetPolicy): boolean {
  return ranges(policy).some(([net, bits]) => net.kind() === ip.kind() && ip.match(net as never, bits));
}

function ipv4Problem(ip: ipaddr.IPv4, shown: string): string | null {
  // ipaddr.js files these under "reserved"; name them as operators know them.
  if (ip.match(BENCHMARKING_V4)) return `is a benchmarking address (${shown})`;
  if (ip.match(IETF_PROTOCOL_V4)) return `is an IETF protocol assignment address (${shown})`;
  const range = ip.range();
  if (range === 'unicast') return null;
  return `${IPV4_RANGE_WORDS[range] ?? 'is a special-purpose address'} (${shown})`;
}

function ipv6Problem(ip: ipaddr.IPv6, shown: string, embedded: ipaddr.IPv4 | null): string | null {
  const range = ip.range();
  const carried = embedded ? embeddedWords(embedded) : '';
  if (range !== 'unicast') return `${IPV6_RANGE_WORDS[range] ?? 'is a special-purpose IPv6 address'} (${shown})${carried}`;
  if (isIPv4Compatible(ip)) return `is an IPv4-compatible IPv6 address (${shown})${carried}`;
  if (!ip.match(GLOBAL_UNICAST)) return `is not a global unicast IPv6 address (${shown})`;
  return null;
}

function embeddedWords(v4: ipaddr.IPv4): string {
  const problem = ipv4Problem(v4, v4.toString());
  return problem ? ` carrying an address that ${problem}` : ` carrying ${v4}`;
}

/** ::a.b.c.d (deprecated IPv4-compatible form), other than :: and ::1. */
function isIPv4Compatible(ip: ipaddr.IPv6): boolean {
  const p = ip.parts;
  return p.slice(0, 6).every((x) => x === 0) && (p[6]! !== 0 || p[7]! > 1);
}

/** The IPv4 address inside a 6to4, NAT64 or IPv4-compatible address, for the reason text. */
function embeddedIPv4(ip: ipaddr.IPv6): ipaddr.IPv4 | null {
  const p = ip.parts;
  const v4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);
  const range = ip.range();
  if (range === '6to4') return v4(p[1]!, p[2]!);
  if (range === 'rfc6052' || range === 'rfc6145' || isIPv4Compatible(ip)) return v4(p[6]!, p[7]!);
  return null;
}

/** What host-name check refuses, or null: local names and metadata names, regardless of policy. */
export function hostnameProblem(hostname: string): string | null {
  const name = hostname.toLowerCase().replace(/\.$/, '');
  if (LOCAL_NAMES.has(name) || name.endsWith('.localhost')) return `is a local host name (${hostname})`;
  if (METADATA_NAMES.has(name)) return `is a cloud metadata host name (${hostname})`;
  return null;
}

/** Schemes of the broker destination kinds (src/webhooks/targets.ts), whose URLs may hold credentials. */
const BROKER_SCHEMES = ['amqp:', 'nats:', 'redis:'];

// C0 and C1 controls, DEL, and the Unicode line and paragraph separators. The URL parser silently
// drops tabs and newlines, so they must be refused before parsing.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * Why `url` may not be a webhook target, in words for a 422 (e.g. "is a loopback address
 * (127.0.0.1)"), or null when it may. Checks the text (controls, credentials), the scheme, and the
 * host: local and metadata names by name, IP literals in any spelling the WHATWG URL parser accepts
 * (it normalises 0x7f.1, 2130706433, 0177.0.0.1, 127.1, %31%32%37.0.0.1 and full-width digits to
 * 127.0.0.1) through `addressProblem`. Other host names are checked again at connect time.
 */
export function targetProblem(url: string, policy: TargetPolicy): string | null {
  if (typeof url !== 'string' || url === '') return 'must be a URL';
  if (url.length > MAX_URL_LENGTH) return `is longer than ${MAX_URL_LENGTH} characters`;
  if (CONTROL.test(url)) return 'must not contain line breaks or control characters';
  if (url !== url.trim()) return 'must not start or end with spaces';
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return 'is not a valid URL';
  }
  const broker = BROKER_SCHEMES.includes(u.protocol);
  if (!broker && u.protocol !== 'http:' && u.protocol !== 'https:') return `must use http, https, amqp, nats or redis (not ${u.protocol})`;
  // `http://@host/` parses to empty credentials, so look at the authority text itself too. A broker
  // URL carries its credentials in the user part (they are secrets: src/webhooks/targets.ts).
  if (!broker && (u.username || u.password || /^[a-z][a-z0-9+.-]*:[/\\]*[^/\\?#]*@/i.test(url))) {
    return 'must not contain credentials (use http_basic_auth and http_basic_password)';
  }
  if (u.port === '0') return 'has an invalid port (0)';
  let host = u.hostname;
  if (broker) {
    // A non-special scheme keeps its host as written ("opaque"): normalise it as an http URL's
    // would be, so 0x7f.1 or 2130706433 is judged as the 127.0.0.1 a connection would reach.
    if (!u.host) return 'has no host';
    try {
      host = new URL(`http://${u.host}`).hostname;
    } catch {
      return 'has no valid host';
    }
  }
  host = host.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return 'has no host';
  if (isIP(host)) return addressProblem(host, policy);
  return hostnameProblem(host);
}

/**
 * A refusal the operator could lift, completed with how: a private or loopback address names
 * HERALD_ALLOW_PRIVATE_TARGETS with the range to allow (a local receiver during development, a
 * backup center on the same machine); `localhost` by name is never allowed, so it points at the
 * address instead. Other problems come back unchanged (cloud metadata stays refused whatever the
 * setting says).
 */
export function withAllowHint(problem: string): string {
  if (/^is a local host name/.test(problem)) {
    return `${problem}; use the address instead (http://127.0.0.1:...) and start Herald with HERALD_ALLOW_PRIVATE_TARGETS=127.0.0.0/8 to allow it`;
  }
  const m = /^is an? (?:loopback|private|link-local|unique local \(private\)|shared \(carrier-grade NAT\)) address \(([^)]+)\)$/.exec(problem);
  if (!m) return problem;
  const address = m[1]!;
  const range = address.startsWith('127.') ? '127.0.0.0/8' : address.includes(':') ? `${address}/128` : `${address}/32`;
  return `${problem}; to allow it, start Herald with HERALD_ALLOW_PRIVATE_TARGETS=${range} (or --allow-private-targets)`;
}
