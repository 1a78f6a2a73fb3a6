import { ResumableSweep } from './resumable-sweep';

export type SlotTransport = 'websocket' | 'sse';

/**
 * A kind of connection that holds cluster slots, described by the code that
 * owns those connections: whether one is still open, and how to drop what the
 * owner keeps for one whose close it never saw (listeners, timers, maps).
 */
export interface SlotHolderKind<T extends object = object> {
  readonly transport: SlotTransport;
  isOpen(holder: T): boolean;
  forget(holder: T): void;
}

/**
 * This process's slots, each tied to the connection that holds it rather than
 * counted: releasing is idempotent (a close seen twice frees one slot), and a
 * slot whose connection has closed without telling anyone can be found
 * (`closed`) instead of being held until the process dies (issue 19).
 */
export class SlotLedger {
  private readonly held = new Map<SlotHolderKind, Map<object, string>>();
  private count = 0;
  private readonly ips = new Map<string, number>();
  /** Where `closed` stopped looking. */
  private readonly sweep = new ResumableSweep(() => this.everyHolder());

  get total(): number {
    return this.count;
  }

  get perIp(): ReadonlyMap<string, number> {
    return this.ips;
  }

  /** Records a slot taken for `holder`; false (and nothing counted) when it already holds one. */
  take<T extends object>(kind: SlotHolderKind<T>, holder: T, ip: string): boolean {
    let holders = this.held.get(kind);
    if (!holders) this.held.set(kind, (holders = new Map<object, string>()));
    if (holders.has(holder)) return false;
    holders.set(holder, ip);
    this.count++;
    this.ips.set(ip, (this.ips.get(ip) ?? 0) + 1);
    return true;
  }

  /** The address of the slot `holder` held, now given back; undefined when it held none. */
  give(holder: object): string | undefined {
    for (const holders of this.held.values()) {
      const ip = holders.get(holder);
      if (ip === undefined) continue;
      holders.delete(holder);
      this.count--;
      const n = (this.ips.get(ip) ?? 1) - 1;
      if (n > 0) this.ips.set(ip, n);
      else this.ips.delete(ip);
      return ip;
    }
    return undefined;
  }

  /**
   * Holders whose connection has closed while they still hold a slot, among the next `max` holders
   * (each at most once per call): the look goes on where the last call stopped, so calls of
   * total/n holders each look at every holder within n calls (a Map iterator goes on after changes to
   * its Map: holders taken meanwhile are reached, holders given back skipped).
   */
  closed(max = Number.POSITIVE_INFINITY): { kind: SlotHolderKind; holder: object }[] {
    const found: { kind: SlotHolderKind; holder: object }[] = [];
    this.sweep.step(Math.min(max, this.count), (h) => {
      if (!h.kind.isOpen(h.holder)) found.push(h);
    });
    return found;
  }

  private *everyHolder(): Generator<{ kind: SlotHolderKind; holder: object }> {
    for (const [kind, holders] of this.held) for (const holder of holders.keys()) yield { kind, holder };
  }
}
