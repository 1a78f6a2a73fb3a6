import { isIP } from 'node:net';
import { DomainError } from '../errors/domain-error';
import type { TrustedProxies } from '../http/client-address';
import { clientIp } from './client-ip';

export class UnreadableAddressError extends DomainError {
  constructor() {
    super('bad_request', 'The client address cannot be read');
  }
}

/**
 * The address a connection's slot is counted under (MAX_CONNECTIONS_PER_IP).
 * A socket that has been destroyed has no peer address any more; counting such
 * clients, or a forwarded value that is no address, under one shared name
 * ("unknown") let them fill one bucket for everyone (issue 19): they are refused.
 */
export function connectionAddress(remote: string | undefined, forwardedFor: string | string[] | undefined, trusted: TrustedProxies): string {
  if (!remote) throw new UnreadableAddressError();
  const ip = clientIp(remote, forwardedFor, trusted);
  if (!isIP(ip)) throw new UnreadableAddressError();
  return ip;
}
