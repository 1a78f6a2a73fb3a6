/**
 * MariaDB GTID positions as the server prints them (`@@gtid_binlog_pos`, `@@gtid_slave_pos`):
 * `domain-server-seq`, one per replication domain, comma-separated. Within a domain the sequence
 * number only grows, so "has applied everything up to" is a comparison per domain.
 */
export type GtidPosition = ReadonlyMap<number, bigint>;

const GTID = /^(\d+)-\d+-(\d+)$/;

/** Parts that are not `domain-server-seq` are ignored (a position is read from the server, never from a user). */
export function parseGtidPosition(text: string): GtidPosition {
  const pos = new Map<number, bigint>();
  for (const part of text.split(',')) {
    const m = GTID.exec(part.trim());
    if (!m) continue;
    const domain = Number(m[1]);
    const seq = BigInt(m[2]);
    const had = pos.get(domain);
    if (had === undefined || seq > had) pos.set(domain, seq);
  }
  return pos;
}

/** The replica has applied every transaction the primary had at `primary`: in every domain, at least as far. */
export function covers(replica: GtidPosition, primary: GtidPosition): boolean {
  for (const [domain, seq] of primary) {
    const have = replica.get(domain);
    if (have === undefined || have < seq) return false;
  }
  return true;
}

export function samePosition(a: GtidPosition, b: GtidPosition): boolean {
  if (a.size !== b.size) return false;
  for (const [domain, seq] of a) if (b.get(domain) !== seq) return false;
  return true;
}
