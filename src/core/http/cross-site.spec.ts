import { claimedOrigin, isAllowedOrigin } from './cross-site';

describe('claimedOrigin', () => {
  it('prefers Origin, falls back to the origin of Referer, and keeps an unreadable Referer foreign', () => {
    expect(claimedOrigin({ origin: 'https://app.example', referer: 'https://other.example/x' })).toBe('https://app.example');
    expect(claimedOrigin({ referer: 'https://app.example/chat?room=1' })).toBe('https://app.example');
    expect(claimedOrigin({ referer: 'not a url' })).toBe('null');
    expect(claimedOrigin({})).toBeUndefined();
  });
});

describe('isAllowedOrigin', () => {
  const allowed = ['https://app.example', 'http://localhost:3000'];

  it('allows CORS_ORIGIN and the host the request was sent to, nothing else', () => {
    expect(isAllowedOrigin('https://app.example', allowed, 'api.example')).toBe(true);
    expect(isAllowedOrigin('https://api.example', allowed, 'api.example')).toBe(true);
    expect(isAllowedOrigin('http://127.0.0.1:3001', allowed, '127.0.0.1:3001')).toBe(true);
    expect(isAllowedOrigin('https://evil.example', allowed, 'api.example')).toBe(false);
    expect(isAllowedOrigin('https://app.example.evil.example', allowed, 'api.example')).toBe(false);
    expect(isAllowedOrigin('null', allowed, 'api.example')).toBe(false);
    expect(isAllowedOrigin('https://api.example', allowed, undefined)).toBe(false);
  });

  it('refuses an Origin whose own origin is opaque, without throwing (the fuzz run found a 500)', () => {
    for (const origin of ['data:text/html,x', 'file:///etc/passwd', 'javascript:alert(1)']) expect(isAllowedOrigin(origin, allowed, 'api.example')).toBe(false);
  });
});
