/**
 * A stream position with the realtime log split in shards (REALTIME_SHARDS,
 * docs/scaling/redis.md "Sharded fan-out"): the last id seen from each shard,
 * one component per shard. Ids are monotonic per shard only, so a position is
 * a vector, and "later" is dominance (every component at least as large).
 * With one shard the vector has one component and is written as the plain
 * number it always was: SPEC §5's ids, byte for byte.
 */
export type Position = readonly number[];

/** What a client sent back as a position: one of ours, or one this log cannot place (another shard count, past any id). */
export type ParsedPosition = { kind: 'at'; position: Position } | { kind: 'foreign' };

const COMPONENT = /^[0-9]{1,64}$/;
/** At most this many components: REALTIME_SHARDS' upper bound. */
export const MAX_SHARDS = 64;

/** The wire form: `<id>` with one shard, `<id0>.<id1>…` with more. */
export function formatPosition(p: Position): string {
  return p.length === 1 ? String(p[0]) : p.join('.');
}

/**
 * `null` when `text` is not a position at all (the caller answers 400). A
 * position of another shard layout (a plain id against several shards, a
 * vector of another length) or with a component past Number.MAX_SAFE_INTEGER
 * is `foreign`: the client is told gap and refetches. With one shard only a
 * plain id is a position, as before sharding.
 */
export function parsePosition(text: string, shards: number): ParsedPosition | null {
  const parts = text.split('.');
  if (parts.length > MAX_SHARDS || !parts.every((c) => COMPONENT.test(c))) return null;
  if (shards === 1 && parts.length > 1) return null;
  if (parts.length !== shards) return { kind: 'foreign' };
  const position = parts.map(Number);
  return position.every((c) => Number.isSafeInteger(c)) ? { kind: 'at', position } : { kind: 'foreign' };
}

/** Every component of `a` at least that of `b`: everything `b` covers, `a` covers too. */
export function dominates(a: Position, b: Position): boolean {
  for (let i = 0; i < b.length; i++) if ((a[i] ?? 0) < b[i]) return false;
  return true;
}

/** `before`/`after`/`same`, or `concurrent` when each is ahead in some shard. */
export function comparePositions(a: Position, b: Position): 'before' | 'after' | 'same' | 'concurrent' {
  const ab = dominates(a, b);
  const ba = dominates(b, a);
  if (ab && ba) return 'same';
  if (ab) return 'after';
  if (ba) return 'before';
  return 'concurrent';
}

/** Component-wise maximum: what is covered by either. */
export function joinPositions(a: Position, b: Position): number[] {
  return a.map((c, i) => Math.max(c, b[i] ?? 0));
}

/** `p` with shard `shard` moved to `id`. */
export function advance(p: Position, shard: number, id: number): number[] {
  const next = [...p];
  next[shard] = id;
  return next;
}

/** The least position that covers one event: its id in its shard, nothing in the others. */
export function positionOfEvent(shards: number, shard: number, id: number): number[] {
  const p = new Array<number>(shards).fill(0);
  p[shard] = id;
  return p;
}
