import { BlockList, isIP } from 'node:net';

/**
 * The client address of a socket handshake, trusting X-Forwarded-For only
 * from the proxies Express trusts ('loopback, linklocal, uniquelocal', see
 * app/http-setup.ts), so sockets and SSE count an address the same way.
 */
const trusted = new BlockList();
trusted.addSubnet('127.0.0.0', 8, 'ipv4');
trusted.addSubnet('169.254.0.0', 16, 'ipv4');
trusted.addSubnet('10.0.0.0', 8, 'ipv4');
trusted.addSubnet('172.16.0.0', 12, 'ipv4');
trusted.addSubnet('192.168.0.0', 16, 'ipv4');
trusted.addAddress('::1', 'ipv6');
trusted.addSubnet('fe80::', 10, 'ipv6');
trusted.addSubnet('fc00::', 7, 'ipv6');

function normalise(addr: string): string {
  const a = addr.trim();
  return a.startsWith('::ffff:') && isIP(a.slice(7)) === 4 ? a.slice(7) : a;
}

function isTrusted(addr: string): boolean {
  const kind = isIP(addr);
  if (!kind) return false;
  return trusted.check(addr, kind === 4 ? 'ipv4' : 'ipv6');
}

export function clientIp(remote: string | undefined, forwardedFor: string | string[] | undefined): string {
  let addr = normalise(remote ?? 'unknown');
  const hops = (Array.isArray(forwardedFor) ? forwardedFor.join(',') : (forwardedFor ?? '')).split(',').map(normalise).filter(Boolean);
  while (isTrusted(addr) && hops.length) addr = hops.pop() as string;
  return addr;
}
