import { advance, comparePositions, dominates, formatPosition, joinPositions, parsePosition, positionOfEvent } from './position';

describe('positions (one id per shard)', () => {
  it('writes one shard as the plain id of before, several as <id0>.<id1>…', () => {
    expect(formatPosition([42])).toBe('42');
    expect(formatPosition([1796000000000005, 0, 7])).toBe('1796000000000005.0.7');
  });

  it('reads back what it writes, for any shard count', () => {
    for (const p of [[42], [3, 4], [1796000000000005, 0, 7]]) expect(parsePosition(formatPosition(p), p.length)).toEqual({ kind: 'at', position: p });
  });

  it('with one shard takes only a plain id, as before sharding: a dotted value is not an id', () => {
    expect(parsePosition('7', 1)).toEqual({ kind: 'at', position: [7] });
    expect(parsePosition('1.5', 1)).toBeNull();
  });

  it('calls a position of another shard layout, or past any id, foreign (the client is told gap), never a guess', () => {
    expect(parsePosition('42', 3)).toEqual({ kind: 'foreign' }); // a client from before REALTIME_SHARDS > 1
    expect(parsePosition('1.2', 3)).toEqual({ kind: 'foreign' });
    expect(parsePosition('1.2.3.4', 3)).toEqual({ kind: 'foreign' });
    expect(parsePosition('1.9007199254740993.3', 3)).toEqual({ kind: 'foreign' });
    expect(parsePosition('9'.repeat(40), 1)).toEqual({ kind: 'foreign' });
  });

  it.each(['', 'abc', '1..2', '.1', '1.', '-1', '1.-2', '1,2', ' 1', '1'.repeat(65), Array(65).fill('1').join('.')])('is no position at all: %j', (text) => {
    expect(parsePosition(text, 2)).toBeNull();
  });

  it('orders positions by dominance: later in every shard, or concurrent', () => {
    expect(dominates([5, 3], [5, 2])).toBe(true);
    expect(dominates([5, 3], [5, 3])).toBe(true);
    expect(dominates([5, 3], [6, 0])).toBe(false);
    expect(comparePositions([1, 2], [1, 2])).toBe('same');
    expect(comparePositions([2, 2], [1, 2])).toBe('after');
    expect(comparePositions([1, 2], [2, 2])).toBe('before');
    expect(comparePositions([2, 1], [1, 2])).toBe('concurrent');
  });

  it('joins to what either covers, and moves one shard at a time', () => {
    expect(joinPositions([5, 1, 9], [4, 2, 9])).toEqual([5, 2, 9]);
    const p = [1, 2];
    expect(advance(p, 1, 8)).toEqual([1, 8]);
    expect(p).toEqual([1, 2]); // unchanged: positions are values
    expect(positionOfEvent(3, 2, 57)).toEqual([0, 0, 57]);
  });

  it('a stream of watermarks only ever moves forward: every later one dominates every earlier one', () => {
    const w = [0, 0, 0];
    const seen: number[][] = [];
    for (const [shard, id] of [[0, 1], [2, 1], [0, 2], [1, 1], [2, 2]]) {
      w[shard] = id;
      seen.push([...w]);
    }
    for (let i = 1; i < seen.length; i++) expect(comparePositions(seen[i], seen[i - 1])).toBe('after');
  });
});
