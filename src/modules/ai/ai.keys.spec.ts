import { cacheKey, canonicalJson, normaliseQuery } from './ai.keys';

describe('AI cache keys', () => {
  it('normalises a query by trimming, collapsing whitespace and lowercasing', () => {
    expect(normaliseQuery('  What   is\n\tSwitchboard?  ')).toBe('what is switchboard?');
  });

  it('gives the same key to queries that differ only in case and spacing', () => {
    expect(cacheKey('  How do I  RESET my password? ')).toBe(cacheKey('how do i reset my password?'));
  });

  it('gives different keys to different queries', () => {
    expect(cacheKey('reset my password')).not.toBe(cacheKey('reset my password!'));
  });

  it('writes object keys in sorted order at every depth, keeping array order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonicalJson({ a: undefined, b: 'x' })).toBe('{"b":"x"}');
  });

  it('keys the context canonically: key order does not matter, values do', () => {
    expect(cacheKey('q', { room: 1, lang: 'en' })).toBe(cacheKey('q', { lang: 'en', room: 1 }));
    expect(cacheKey('q', { room: 1 })).not.toBe(cacheKey('q', { room: 2 }));
  });

  it('treats a missing context as an empty one, and a context as different from none', () => {
    expect(cacheKey('q')).toBe(cacheKey('q', {}));
    expect(cacheKey('q')).not.toBe(cacheKey('q', { room: 1 }));
  });

  it('does not confuse query text with context text', () => {
    expect(cacheKey('a{}')).not.toBe(cacheKey('a', {}));
  });

  it('is a sha256 hex digest', () => {
    expect(cacheKey('anything')).toMatch(/^[0-9a-f]{64}$/);
  });

  it('gives each scope (AI_CACHE_SCOPE=user) entries of its own, and leaves the shared key unchanged', () => {
    const shared = cacheKey('What is X?', { a: 1 });
    expect(cacheKey('what is x?', { a: 1 }, undefined)).toBe(shared);
    expect(cacheKey('What is X?', { a: 1 }, 'u1')).not.toBe(shared);
    expect(cacheKey('What is X?', { a: 1 }, 'u1')).not.toBe(cacheKey('What is X?', { a: 1 }, 'u2'));
    expect(cacheKey('what  is x?', { a: 1 }, 'u1')).toBe(cacheKey('What is X?', { a: 1 }, 'u1'));
  });
});
