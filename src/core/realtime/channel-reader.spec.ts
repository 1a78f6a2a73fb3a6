import { ChannelReader, ChannelReaderOutput, Requeued, TAIL_CHECK_MS } from './channel-reader';
import type { LoggedEvent, ShardLog } from './event-log';

const event = (id: number, shard = 1, epoch?: number): LoggedEvent => ({ id, shard, epoch, eventType: 'x', timestamp: 'now', payload: {}, target: 'all', rooms: ['user:1'] });

/** A shard whose global stream holds `ids` (what a fill can still find) and whose newest id is `newest`. */
function fakeShard(ids: number[], newest = Math.max(0, ...ids), epoch = 0) {
  return {
    index: 1,
    between: async (from: number, to: number) => ids.filter((id) => id > from && id < to).map((id) => event(id)),
    position: async () => ({ id: newest, epoch }),
  } as Pick<ShardLog, 'between' | 'position' | 'index'>;
}

/** The hub's side: delivered ids, and requeued events fed straight back as the hub's inbox would. */
function output() {
  const delivered: number[] = [];
  let resyncs = 0;
  let t = 0;
  let reader: ChannelReader | undefined;
  const out: ChannelReaderOutput = {
    deliver: (e) => void delivered.push(e.id),
    requeue: (items: Requeued[]) => {
      for (const i of items) {
        if (i.filled) reader?.deliver(i.event);
        else reader?.accept(i.event);
      }
    },
    resyncAll: () => void resyncs++,
    busy: () => false,
    now: () => t,
  };
  return {
    out,
    delivered,
    resyncs: () => resyncs,
    advance: (ms: number) => void (t += ms),
    bind: (r: ChannelReader) => void (reader = r),
  };
}

const settle = () => new Promise((r) => setTimeout(r, 10));

describe('ChannelReader (one shard of the channel)', () => {
  it('delivers in order, each id once; a jump is filled from the shard before what revealed it, later messages wait for the fill', async () => {
    const o = output();
    const reader = new ChannelReader(fakeShard([1, 2, 3, 4, 5, 6]), o.out);
    o.bind(reader);
    for (const id of [1, 2, 2, 5]) reader.accept(event(id));
    reader.accept(event(6)); // arrives while 3..4 are being fetched
    await settle();
    expect(o.delivered).toEqual([1, 2, 3, 4, 5, 6]);
    expect(o.resyncs()).toBe(0);
  });

  it('makes every client resync when the hole is gone from the global stream too, and goes on after it', async () => {
    const o = output();
    const reader = new ChannelReader(fakeShard([1, 4]), o.out);
    o.bind(reader);
    reader.accept(event(1));
    reader.accept(event(4));
    await settle();
    expect(o.delivered).toEqual([1, 4]);
    expect(o.resyncs()).toBe(1);
  });

  it("starts after the shard's newest id at start-up: what came before is no client's, a hole after it is filled", async () => {
    const o = output();
    const reader = new ChannelReader(fakeShard([10, 11, 12, 13]), o.out);
    o.bind(reader);
    reader.startAfter(11);
    reader.accept(event(10)); // published before the process started: nobody here to give it to
    reader.accept(event(13));
    await settle();
    expect(o.delivered).toEqual([12, 13]);
  });

  it("treats its shard's new epoch as one resync, not as 10^15 lost events, and delivers the new epoch from its start", async () => {
    const epoch = 1_796_000_000_000_000;
    const o = output();
    const reader = new ChannelReader(fakeShard([epoch + 1, epoch + 2]), o.out);
    o.bind(reader);
    reader.accept(event(7));
    reader.accept(event(epoch + 2, 1, epoch));
    await settle();
    expect(o.delivered).toEqual([7, epoch + 1, epoch + 2]);
    expect(o.resyncs()).toBe(1);
  });

  it('does not resync for a new epoch when all it had of the old one was its start position (Redis restarted before the process)', async () => {
    const epoch = 1_796_000_000_000_000;
    const o = output();
    const reader = new ChannelReader(fakeShard([epoch + 1]), o.out);
    o.bind(reader);
    reader.startAfter(70);
    reader.accept(event(epoch + 1, 1, epoch));
    await settle();
    expect([o.delivered, o.resyncs()]).toEqual([[epoch + 1], 0]);
  });

  it('fills the tail once its channel has been quiet for TAIL_CHECK_MS', async () => {
    const o = output();
    const reader = new ChannelReader(fakeShard([1, 2, 3]), o.out);
    o.bind(reader);
    reader.heard();
    reader.accept(event(1));
    o.advance(TAIL_CHECK_MS - 1);
    reader.checkTail();
    await settle();
    expect(o.delivered).toEqual([1]);
    o.advance(1);
    reader.checkTail();
    await settle();
    expect(o.delivered).toEqual([1, 2, 3]);
  });
});
