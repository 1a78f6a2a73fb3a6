/**
 * The part of a key Redis Cluster hashes: the text between the first `{` and the next `}` when that is
 * not empty, else the whole key. Keys with the same hash tag share a slot, so one script or MULTI may
 * touch them all.
 */
export function hashTagOf(key: string): string {
  const open = key.indexOf('{');
  if (open < 0) return key;
  const close = key.indexOf('}', open + 1);
  return close > open + 1 ? key.slice(open + 1, close) : key;
}

export const sameSlotTag = (a: string, b: string): boolean => hashTagOf(a) === hashTagOf(b);
