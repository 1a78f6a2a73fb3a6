import { bypassCookieValue, parseState, readBypassCookie, validBypass } from './maintenance-state';

describe('maintenance state and bypass cookie', () => {
  it('accepts its own cookie until it expires, and no other secret', () => {
    const now = Date.now();
    const value = bypassCookieValue('s3cret', now);
    expect(validBypass('s3cret', value, now)).toBe(true);
    expect(validBypass('other', value, now)).toBe(false);
    expect(validBypass('s3cret', value, now + 13 * 3600 * 1000)).toBe(false);
    expect(validBypass('s3cret', `${Math.floor(now / 1000) + 999999}.forged`, now)).toBe(false);
    expect(validBypass('s3cret', undefined, now)).toBe(false);
  });

  it('reads the cookie among others', () => {
    expect(readBypassCookie('a=1; switchboard_maintenance=x.y; b=2')).toBe('x.y');
    expect(readBypassCookie('a=1')).toBeUndefined();
  });

  it('treats anything in the key as down, dropping malformed fields', () => {
    expect(parseState(null)).toBeNull();
    expect(parseState('not json')).toMatchObject({ since: expect.any(Number) });
    expect(parseState(JSON.stringify({ since: 5, retry: -1, refresh: 15, secret: '' }))).toEqual({ since: 5, retry: undefined, refresh: 15, secret: undefined });
  });
});
