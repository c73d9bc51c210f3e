import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/** One resolved address, as `dns.lookup(host, { all: true })` answers. */
export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has. Injectable, so that tests never touch real DNS. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true, verbatim: true })).map((a) => ({
    address: a.address,
    family: a.family === 6 ? 6 : 4,
  }));

/**
 * Where a webhook may not connect unless its host is allow-listed: loopback, private, link-local (and so the
 * cloud metadata addresses 169.254.169.254 / fd00:ec2::254), CGNAT (and so 100.100.100.200), unspecified,
 * multicast, broadcast and reserved ranges.
 */
const BLOCKED = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // CGNAT
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.0.2.0', 24], // documentation
  ['192.168.0.0', 16],
  ['198.18.0.0', 15], // benchmarking
  ['198.51.100.0', 24], // documentation
  ['203.0.113.0', 24], // documentation
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv4');
for (const [net, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['100::', 64], // discard
  ['2001:db8::', 32], // documentation
  ['fc00::', 7], // unique local (and fd00:ec2::254)
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local (deprecated)
  ['ff00::', 8], // multicast
] as const)
  BLOCKED.addSubnet(net, prefix, 'ipv6');

/** The IPv4 address inside an IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible or NAT64 (64:ff9b::/96) IPv6 address. */
function embeddedIpv4(v6: string): string | undefined {
  const m = /^(?:::ffff:|::|64:ff9b::)(?:0:)?(\d+\.\d+\.\d+\.\d+)$/i.exec(v6);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(v6);
  if (!hex) return undefined;
  const hi = parseInt(hex[1], 16);
  const lo = parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Whether a webhook may never connect to `address` (unless its host is allow-listed). Not an IP → true. */
export function isForbiddenAddress(address: string): boolean {
  const kind = isIP(address);
  if (kind === 4) return BLOCKED.check(address, 'ipv4');
  if (kind !== 6) return true;
  const v4 = embeddedIpv4(address.replace(/%.*$/, ''));
  if (v4 !== undefined) return isIP(v4) !== 4 || BLOCKED.check(v4, 'ipv4');
  return BLOCKED.check(address.replace(/%.*$/, ''), 'ipv6');
}

/** `WEBHOOK_ALLOWED_HOSTS`: comma-separated host names or IPs, matched exactly (case-insensitively). */
export function parseAllowedHosts(raw: string | undefined): Set<string> {
  return new Set(
    (raw ?? '')
      .split(',')
      .map((s) => normalizeHost(s.trim()))
      .filter(Boolean),
  );
}

/** A URL's hostname as compared with the allow list: lower case, IPv6 without brackets. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

export class AddressRefused extends Error {
  constructor(
    message: string,
    readonly addresses: string[],
  ) {
    super(message);
    this.name = 'AddressRefused';
  }
}

/** What a DNS lookup may take by default (a webhook's creation; a delivery gives its own remaining time). */
export const RESOLVE_TIMEOUT_MS = 5000;

/** The resolver's answer, or AddressRefused once `timeoutMs` has passed (the lookup is left to finish alone). */
async function resolveWithin(
  resolver: Resolver,
  host: string,
  timeoutMs: number,
): Promise<ResolvedAddress[]> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new AddressRefused(`${host} did not resolve within ${timeoutMs} ms`, [])),
      timeoutMs,
    );
  });
  const lookup = (async () => {
    try {
      return await resolver(host);
    } catch (err) {
      throw new AddressRefused(`${host} does not resolve (${(err as Error).message})`, []);
    }
  })();
  lookup.catch(() => undefined); // a lookup that fails after the deadline is nobody's error
  try {
    return await Promise.race([lookup, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Resolves `host` and checks every address it has. Answers the addresses to connect to (all of them
 * checked); throws AddressRefused when any is forbidden and the host is not allow-listed, when it has
 * none, or when the lookup takes longer than `timeoutMs`. An IP literal is checked as it is, without DNS.
 */
export async function resolveChecked(
  host: string,
  allowed: ReadonlySet<string>,
  resolver: Resolver = systemResolver,
  timeoutMs = RESOLVE_TIMEOUT_MS,
): Promise<ResolvedAddress[]> {
  const h = normalizeHost(host);
  const kind = isIP(h);
  let addresses: ResolvedAddress[];
  if (kind) addresses = [{ address: h, family: kind === 6 ? 6 : 4 }];
  else addresses = await resolveWithin(resolver, h, timeoutMs);
  if (addresses.length === 0) throw new AddressRefused(`${h} does not resolve`, []);
  if (allowed.has(h)) return addresses;
  const bad = addresses.filter((a) => isForbiddenAddress(a.address)).map((a) => a.address);
  if (bad.length > 0)
    throw new AddressRefused(
      `${h} resolves to ${bad.join(', ')}: loopback, private, link-local and metadata addresses are refused unless the host is in WEBHOOK_ALLOWED_HOSTS`,
      bad,
    );
  return addresses;
}
