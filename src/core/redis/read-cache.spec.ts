import { ReadCache } from './read-cache';

const opts = { maxEntries: 3, presentMs: 1000, absentMs: 60_000 };

function liveCache() {
  const cache = new ReadCache(opts);
  cache.goLive();
  return cache;
}

/** A read of `keys` that Redis answers with `values`. */
function read(cache: ReadCache, keys: string[], values: (string | null)[], now = 0) {
  const ticket = cache.begin(keys);
  cache.settle(ticket, keys, values, now);
}

describe('ReadCache', () => {
  it('serves nothing until tracking is confirmed, and keeps nothing read before', () => {
    const cache = new ReadCache(opts);
    expect(cache.begin(['a'])).toBeNull();
    cache.settle(null, ['a'], ['1'], 0);
    cache.goLive();
    expect(cache.lookup('a', 0)).toBeUndefined();
  });

  it('keeps values and absences read while live', () => {
    const cache = liveCache();
    read(cache, ['a', 'b'], ['1', null]);
    expect(cache.lookup('a', 10)).toBe('1');
    expect(cache.lookup('b', 10)).toBeNull();
    expect(cache.lookup('c', 10)).toBeUndefined();
  });

  it('drops a key Redis invalidates, and everything on a flush', () => {
    const cache = liveCache();
    read(cache, ['a', 'b'], ['1', '2']);
    cache.invalidate(['a']);
    expect(cache.lookup('a', 0)).toBeUndefined();
    expect(cache.lookup('b', 0)).toBe('2');
    cache.invalidate(null);
    expect(cache.lookup('b', 0)).toBeUndefined();
  });

  it('does not keep a reply whose key was invalidated while the read was in flight', () => {
    const cache = liveCache();
    const ticket = cache.begin(['a', 'b']);
    cache.invalidate(['a']); // the write landed after Redis answered, before we parsed the answer
    cache.settle(ticket, ['a', 'b'], ['old', '2'], 0);
    expect(cache.lookup('a', 0)).toBeUndefined();
    expect(cache.lookup('b', 0)).toBe('2');
  });

  it('does not keep a reply when a flush came while it was in flight', () => {
    const cache = liveCache();
    const ticket = cache.begin(['a']);
    cache.invalidate(null);
    cache.settle(ticket, ['a'], ['old'], 0);
    expect(cache.lookup('a', 0)).toBeUndefined();
  });

  it('keeps a key only from the read that owns it when two reads of it overlap', () => {
    const cache = liveCache();
    const first = cache.begin(['a']);
    const second = cache.begin(['a']);
    expect(second?.owned).toEqual([]);
    cache.invalidate(['a']);
    cache.settle(second, ['a'], ['new'], 0);
    cache.settle(first, ['a'], ['old'], 0);
    expect(cache.lookup('a', 0)).toBeUndefined();
  });

  it('forgets everything when tracking is lost, including reads in flight', () => {
    const cache = liveCache();
    read(cache, ['a'], ['1']);
    const ticket = cache.begin(['b']);
    cache.lose();
    expect(cache.lookup('a', 0)).toBeUndefined();
    cache.goLive();
    cache.settle(ticket, ['b'], ['2'], 0);
    expect(cache.lookup('b', 0)).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('a failed read leaves its keys free for the next one', () => {
    const cache = liveCache();
    const failed = cache.begin(['a']);
    cache.abandon(failed);
    expect(cache.begin(['a'])?.owned).toEqual(['a']);
  });

  it('keeps present values for presentMs and absences for absentMs', () => {
    const cache = liveCache();
    read(cache, ['a', 'b'], ['1', null], 0);
    expect(cache.lookup('a', 999)).toBe('1');
    expect(cache.lookup('a', 1000)).toBeUndefined();
    expect(cache.lookup('b', 59_999)).toBeNull();
    expect(cache.lookup('b', 60_000)).toBeUndefined();
  });

  it('holds at most maxEntries, dropping the oldest', () => {
    const cache = liveCache();
    read(cache, ['a', 'b', 'c'], ['1', '2', '3']);
    read(cache, ['d'], ['4']);
    expect(cache.size).toBe(3);
    expect(cache.lookup('a', 0)).toBeUndefined();
    expect(cache.lookup('d', 0)).toBe('4');
  });
});
