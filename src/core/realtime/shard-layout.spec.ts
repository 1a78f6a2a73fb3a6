import { keySlot, shardOfRoom, shardTags, SLOTS } from './shard-layout';

describe('shard layout', () => {
  it("computes Redis Cluster's key slot (CRC16/XMODEM), hash tags included", () => {
    expect(keySlot('123456789')).toBe(0x31c3);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('bar')).toBe(5061);
    expect(keySlot('sb:{foo}:seq')).toBe(keySlot('foo'));
    expect(keySlot('a{}b')).toBe(keySlot('a{}b')); // an empty tag hashes the whole key
  });

  it('keeps the {rt} log as shard 0: one shard is the layout of before', () => {
    expect(shardTags(1)).toEqual(['rt']);
    expect(shardTags(3)[0]).toBe('rt');
  });

  it.each([2, 3, 4, 6])('puts %i tags in as many equal parts of the slot space (one per master on an evenly split Cluster)', (n) => {
    const tags = shardTags(n);
    expect(new Set(tags).size).toBe(n);
    const parts = tags.map((t) => Math.floor((keySlot(t) * n) / SLOTS));
    expect(new Set(parts).size).toBe(n);
    expect(shardTags(n)).toEqual(tags); // every process computes the same
  });

  it('sends a room to one shard, always the same, and spreads rooms over the shards', () => {
    expect(shardOfRoom('chat:1', 1)).toBe(0);
    expect(shardOfRoom('chat:1', 3)).toBe(shardOfRoom('chat:1', 3));
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) counts[shardOfRoom(`chat:${i}`, 3)]++;
    for (const c of counts) expect(c).toBeGreaterThan(800);
  });
});
