/**
 * Where the realtime log's shards live (docs/scaling/redis.md, "Sharded fan-out"). Shard 0 is the
 * `{rt}` log of before sharding, so one shard is exactly today's layout. The other tags are chosen
 * so that the N tags fall in N equal parts of the 16,384 Cluster slots: on a Cluster made with
 * evenly split slots (`redis-cli --cluster create`) N = the number of masters puts one log on each.
 * Every process computes the same tags from N alone.
 */
export const SLOTS = 16384;

/** Redis Cluster's key slot (CRC16/XMODEM of the hash tag, or of the key when it has none) mod 16384. */
export function keySlot(key: string): number {
  const open = key.indexOf('{');
  if (open >= 0) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) key = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(key)) {
    crc ^= byte << 8;
    for (let i = 0; i < 8; i++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % SLOTS;
}

const partOf = (slot: number, shards: number) => Math.floor((slot * shards) / SLOTS);

/** The hash tags of `shards` logs: `rt` first, then one tag in each other part of the slot space. */
export function shardTags(shards: number): string[] {
  if (shards === 1) return ['rt'];
  const first = partOf(keySlot('rt'), shards);
  const tags = ['rt'];
  for (let part = 0; part < shards; part++) {
    if (part === first) continue;
    let i = 1;
    while (partOf(keySlot(`rt${i}`), shards) !== part) i++;
    tags.push(`rt${i}`);
  }
  return tags;
}

/** The shard an event goes to: its first room's (FNV-1a): one room's events keep their order. */
export function shardOfRoom(room: string, shards: number): number {
  if (shards === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < room.length; i++) h = Math.imul(h ^ room.charCodeAt(i), 0x01000193);
  return (h >>> 0) % shards;
}
