import { TrustedProxies } from '../http/client-address';
import { clientIp } from './client-ip';

const loopback = new TrustedProxies(['loopback']);

describe('clientIp', () => {
  it('uses the peer address when nothing is forwarded', () => {
    expect(clientIp('::ffff:203.0.113.9', undefined, loopback)).toBe('203.0.113.9');
  });

  it('follows X-Forwarded-For through trusted proxies only', () => {
    expect(clientIp('127.0.0.1', '198.51.100.7', loopback)).toBe('198.51.100.7');
    // An untrusted peer cannot claim another address.
    expect(clientIp('203.0.113.9', '198.51.100.7', loopback)).toBe('203.0.113.9');
    // A client-supplied prefix before the first untrusted hop is ignored.
    expect(clientIp('127.0.0.1', '1.2.3.4, 198.51.100.7', loopback)).toBe('198.51.100.7');
  });

  it('trusts private and link-local peers only when TRUSTED_PROXIES names them', () => {
    for (const peer of ['10.0.0.5', '192.168.1.20', '172.17.0.1', '169.254.1.1', 'fd00::1']) {
      expect(clientIp(peer, '198.51.100.7', loopback)).toBe(peer);
    }
    const bridge = new TrustedProxies(['loopback', '172.16.0.0/12']);
    expect(clientIp('172.17.0.1', '198.51.100.7', bridge)).toBe('198.51.100.7');
    // A chain through two trusted proxies stops at the first untrusted hop from the right.
    expect(clientIp('127.0.0.1', '6.6.6.6, 198.51.100.7, 172.17.0.9', bridge)).toBe('198.51.100.7');
  });

  it('trusts nobody with none, and refuses entries that are not addresses', () => {
    expect(clientIp('127.0.0.1', '198.51.100.7', new TrustedProxies(['none']))).toBe('127.0.0.1');
    expect(() => new TrustedProxies(['10.0.0.0/33'])).toThrow('10.0.0.0/33');
    expect(() => new TrustedProxies(['proxy.internal'])).toThrow('proxy.internal');
    expect(new TrustedProxies(['::1', '2001:db8::/32']).trusts('2001:db8::5')).toBe(true);
  });
});
