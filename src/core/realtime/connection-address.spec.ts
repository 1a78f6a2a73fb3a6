import { TrustedProxies } from '../http/client-address';
import { connectionAddress, UnreadableAddressError } from './connection-address';

const loopback = new TrustedProxies(['loopback']);

describe('connectionAddress', () => {
  it('is the client address, forwarded through trusted proxies', () => {
    expect(connectionAddress('::ffff:203.0.113.9', undefined, loopback)).toBe('203.0.113.9');
    expect(connectionAddress('127.0.0.1', '198.51.100.7', loopback)).toBe('198.51.100.7');
  });

  it('refuses a connection whose address cannot be read instead of counting it as "unknown"', () => {
    expect(() => connectionAddress(undefined, undefined, loopback)).toThrow(UnreadableAddressError);
    expect(() => connectionAddress(undefined, '198.51.100.7', loopback)).toThrow(UnreadableAddressError);
    expect(() => connectionAddress('', undefined, loopback)).toThrow(UnreadableAddressError);
    expect(() => connectionAddress('127.0.0.1', 'unknown', loopback)).toThrow(UnreadableAddressError);
    expect(() => connectionAddress('127.0.0.1', '198.51.100.7, not-an-address', loopback)).toThrow(UnreadableAddressError);
  });
});
