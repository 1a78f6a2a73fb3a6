import { clientIp } from './client-ip';

describe('clientIp', () => {
  it('uses the peer address when nothing is forwarded', () => {
    expect(clientIp('::ffff:203.0.113.9', undefined)).toBe('203.0.113.9');
  });

  it('follows X-Forwarded-For through trusted proxies only', () => {
    expect(clientIp('127.0.0.1', '198.51.100.7')).toBe('198.51.100.7');
    expect(clientIp('127.0.0.1', '198.51.100.7, 10.0.0.2')).toBe('198.51.100.7');
    // An untrusted peer cannot claim another address.
    expect(clientIp('203.0.113.9', '198.51.100.7')).toBe('203.0.113.9');
    // A client-supplied prefix before the first untrusted hop is ignored.
    expect(clientIp('127.0.0.1', '1.2.3.4, 198.51.100.7')).toBe('198.51.100.7');
  });
});
