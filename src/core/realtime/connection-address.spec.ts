import { connectionAddress, UnreadableAddressError } from './connection-address';

describe('connectionAddress', () => {
  it('is the client address, forwarded through trusted proxies', () => {
    expect(connectionAddress('::ffff:203.0.113.9', undefined)).toBe('203.0.113.9');
    expect(connectionAddress('127.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
  });

  it('refuses a connection whose address cannot be read instead of counting it as "unknown"', () => {
    expect(() => connectionAddress(undefined, undefined)).toThrow(UnreadableAddressError);
    expect(() => connectionAddress(undefined, '198.51.100.7')).toThrow(UnreadableAddressError);
    expect(() => connectionAddress('', undefined)).toThrow(UnreadableAddressError);
    expect(() => connectionAddress('127.0.0.1', 'unknown')).toThrow(UnreadableAddressError);
    expect(() => connectionAddress('127.0.0.1', '198.51.100.7, not-an-address')).toThrow(UnreadableAddressError);
  });
});
