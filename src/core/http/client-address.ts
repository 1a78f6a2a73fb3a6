import { BlockList, isIP } from 'node:net';

/** Express's names for address ranges, so TRUSTED_PROXIES reads like its `trust proxy` setting. */
const NAMED_RANGES: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

function normalise(addr: string): string {
  const a = addr.trim();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

/** `cidr` as [address, prefix, family], or null when it is not an address or a CIDR. */
function parseCidr(cidr: string): [string, number, 'ipv4' | 'ipv6'] | null {
  const [addr, bits, extra] = cidr.split('/');
  const kind = isIP(addr);
  if (!kind || extra !== undefined) return null;
  const max = kind === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return null;
  return [addr, prefix, kind === 4 ? 'ipv4' : 'ipv6'];
}

/** The entries of a TRUSTED_PROXIES value that are neither a range name nor an address/CIDR. */
export function invalidProxyEntries(entries: string[]): string[] {
  return entries.filter((e) => e !== 'none' && !NAMED_RANGES[e] && !parseCidr(e));
}

/**
 * The proxies whose X-Forwarded-For is believed (TRUSTED_PROXIES): CIDRs,
 * single addresses, Express's names (`loopback`, `linklocal`, `uniquelocal`)
 * or `none`. Only they can name a client address other than their own.
 */
export class TrustedProxies {
  private readonly list = new BlockList();

  constructor(readonly entries: string[]) {
    const bad = invalidProxyEntries(entries);
    if (bad.length) throw new Error(`not an address, CIDR or range name: ${bad.join(', ')}`);
    for (const entry of entries.flatMap((e) => NAMED_RANGES[e] ?? (e === 'none' ? [] : [e]))) {
      const [addr, prefix, family] = parseCidr(entry) as [string, number, 'ipv4' | 'ipv6'];
      this.list.addSubnet(addr, prefix, family);
    }
  }

  trusts(addr: string): boolean {
    const a = normalise(addr);
    const kind = isIP(a);
    return kind !== 0 && this.list.check(a, kind === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * The client's address, the one every limit and log line uses (HTTP throttles,
 * socket and SSE caps, access logs): the peer, or, while the peer is a trusted
 * proxy, the hop it names — the right-most untrusted address of the
 * X-Forwarded-For chain. Entries left of it are whatever the client wrote and
 * are never read, so a client cannot pick its own address.
 */
export function clientAddress(remote: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
  let addr = normalise(remote ?? 'unknown');
  if (!trusted.trusts(addr) || forwardedFor === undefined) return addr;
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor).split(',').map(normalise).filter(Boolean);
  while (trusted.trusts(addr) && hops.length) addr = hops.pop() as string;
  return addr;
}
