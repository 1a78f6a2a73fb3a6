import type { Namespace } from 'socket.io';
import { realtimeChannelGapsTotal, realtimeEpochChangesTotal } from '../metrics/metrics';
import type { ChannelSubscriber } from './channel-subscriber';
import { decodeChannelMessage, type EventLog, type LoggedEvent } from './event-log';
import { EventRouting } from './event-routing';
import { LocalFanout } from './local-fanout';
import { SocketWrites } from './socket-writes';
import { parsePosition } from './position';
import { FANOUT_SLICE_MS, FanoutClock, INBOX_PAUSE_AT, INBOX_RESUME_AT, RealtimeHub, TAIL_CHECK_MS } from './realtime-hub';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';

const routing = new EventRouting([{ namespace: '/realtime', events: ['*'] }]);

/** A namespace whose room broadcasts each take `costMs` of the fake clock, recording the ids emitted. */
function fakeNamespace(clock?: ManualClock, costMs = 0) {
  const emitted: number[] = [];
  /** The wire ids (positions) broadcast, in order. */
  const wire: string[] = [];
  /** Per broadcast id: the socket ids it excluded (sockets in a replay). */
  const excluded = new Map<number, string[]>();
  let except: string[] = [];
  const op = {
    except: (ids: string[]) => ((except = ids), op),
    emit: (_event: string, payload: { seq?: number }, id: string) => {
      if (clock) clock.t += costMs;
      // With several shards the wire id is a position; the event's own id is in its payload here.
      const own = payload.seq ?? Number(id);
      emitted.push(own);
      wire.push(id);
      excluded.set(own, except);
      return true;
    },
  };
  const disconnected: boolean[] = [];
  const nsp = {
    name: '/realtime',
    sockets: new Map([['peer', { id: 'peer', nsp: { name: '/realtime' }, rooms: new Set<string>(), conn: { close: () => disconnected.push(true) } }]]),
    to: () => ((except = []), op),
  } as unknown as Namespace;
  return { nsp, emitted, wire, excluded, disconnected };
}

/** The subscriber's flow control as the hub drives it. */
function fakeSubscriber() {
  let paused = false;
  const calls: string[] = [];
  const subscriber = {
    subscribe: async () => undefined,
    pause: () => (paused ? false : ((paused = true), calls.push('pause'), true)),
    resume: () => paused && ((paused = false), calls.push('resume')),
  } as unknown as ChannelSubscriber;
  return { subscriber, calls, isPaused: () => paused };
}

/** Time that moves only when told to, and slices that run only when the spec runs them. */
class ManualClock implements FanoutClock {
  t = 0;
  readonly deferred: (() => void)[] = [];
  now = () => this.t;
  defer = (fn: () => void) => void this.deferred.push(fn);
  /** Runs the next scheduled slice; false when none is scheduled. */
  runSlice(): boolean {
    const fn = this.deferred.shift();
    fn?.();
    return !!fn;
  }
}

/** An EventLog of these shards (each a fake of what the hub reads: between, position). */
function logOf(...shards: EventLog[]): EventLog {
  return {
    shards: shards.map((s, index) => ({ index, channel: `c${index}`, sharded: shards.length > 1, ...(s as object) })),
    parse: (text: string) => parsePosition(text, shards.length),
  } as unknown as EventLog;
}

function hubWith(log: EventLog | EventLog[], opts: { clock?: FanoutClock; costMs?: number } = {}) {
  const eventLog = logOf(...(Array.isArray(log) ? log : [log]));
  const namespaces = new SocketNamespaces(routing);
  const sse = new SseRegistry();
  const fake = fakeNamespace(opts.clock instanceof ManualClock ? opts.clock : undefined, opts.costMs);
  namespaces.attach(fake.nsp);
  const sub = fakeSubscriber();
  const hub = new RealtimeHub(eventLog, new LocalFanout(routing, namespaces, sse, eventLog, new SocketWrites()), sub.subscriber, opts.clock);
  return { hub, sse, sub, ...fake };
}

const message = (id: number) => `${id}\n${JSON.stringify({ eventType: 'bench', timestamp: 'now', payload: { seq: id }, target: 'all', rooms: ['user:1'] })}`;

describe('RealtimeHub under overload (more channel messages than it can fan out)', () => {
  it('fans out in slices of FANOUT_SLICE_MS, stops reading the channel while behind, and still delivers every event once, in order', () => {
    const clock = new ManualClock();
    const { hub, emitted, sub } = hubWith({} as EventLog, { clock, costMs: 1 });

    // One read from Redis can hand over thousands of messages at once (libuv reads up to 2 MB).
    const total = INBOX_PAUSE_AT * 2;
    for (let id = 1; id <= total; id++) hub.receive(message(id));
    expect(emitted).toHaveLength(0); // nothing fanned out inside the read itself
    expect(sub.isPaused()).toBe(true); // the backlog is left in Redis, not taken into memory

    const perSlice: number[] = [];
    while (clock.runSlice()) perSlice.push(emitted.length - perSlice.reduce((a, b) => a + b, 0));
    expect(emitted).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    // Each slice stops once its time is used (1 ms per broadcast here): the event loop runs between slices.
    expect(Math.max(...perSlice)).toBe(FANOUT_SLICE_MS);
    expect(perSlice.length).toBe(total / FANOUT_SLICE_MS);
    expect(sub.calls).toEqual(['pause', 'resume']);
    // Reading resumed once no more than INBOX_RESUME_AT were left, not before.
    expect(sub.isPaused()).toBe(false);
  });

  it('resumes reading only when the backlog is down to INBOX_RESUME_AT', () => {
    const clock = new ManualClock();
    const { hub, sub, emitted } = hubWith({} as EventLog, { clock, costMs: 1 });
    for (let id = 1; id <= INBOX_PAUSE_AT; id++) hub.receive(message(id));
    while (sub.isPaused() && clock.runSlice());
    expect(INBOX_PAUSE_AT - emitted.length).toBeLessThanOrEqual(INBOX_RESUME_AT);
    expect(INBOX_PAUSE_AT - emitted.length).toBeGreaterThan(INBOX_RESUME_AT - FANOUT_SLICE_MS);
  });
});

/** The global stream of events 1..n (from `oldest` on: older ones trimmed), as EventLog reads it to fill gaps. */
function fakeLog(n: number, oldest = 1, shard = 0) {
  const all: LoggedEvent[] = Array.from({ length: n }, (_, i) => decodeChannelMessage(message(i + 1), shard)).filter((e) => e.id >= oldest);
  return {
    between: async (from: number, to: number) => all.filter((e) => e.id > from && e.id < to),
    currentId: async () => n,
    position: async () => ({ id: n, epoch: 0 }),
  } as unknown as EventLog;
}

const until = async (cond: () => boolean) => {
  const deadline = Date.now() + 10000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
};

describe('RealtimeHub when the channel loses events (Redis dropped the subscriber)', () => {
  it('fills a gap from the global stream before the event that revealed it', async () => {
    const { hub, emitted } = hubWith(fakeLog(7));
    for (const id of [1, 2, 6, 7]) hub.receive(message(id));
    await until(() => emitted.length >= 7);
    expect(emitted).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('delivers a large filled gap in slices too', async () => {
    const total = 10000;
    const clock = new ManualClock();
    const { hub, emitted } = hubWith(fakeLog(total), { clock, costMs: 1 });
    hub.receive(message(1));
    clock.runSlice();
    hub.receive(message(total)); // 2..total-1 were lost on the channel
    clock.runSlice(); // sees the gap, asks the global stream
    await until(() => clock.deferred.length > 0); // the fill is back in the inbox
    let slices = 0;
    while (clock.runSlice()) slices++;
    expect(emitted).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(slices).toBe(Math.ceil((total - 1) / FANOUT_SLICE_MS));
  });

  it('fills the tail: events lost right before the channel went quiet are not left waiting for the next one', async () => {
    const clock = new ManualClock();
    const { hub, emitted } = hubWith(fakeLog(5), { clock });
    for (const id of [1, 2, 3]) hub.receive(message(id));
    clock.runSlice();
    expect(emitted).toEqual([1, 2, 3]);
    clock.t += TAIL_CHECK_MS - 1;
    hub.checkTail(); // the channel was not quiet long enough yet: nothing to do
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.deferred).toHaveLength(0);
    clock.t += 1;
    hub.checkTail();
    await until(() => clock.deferred.length > 0);
    clock.runSlice();
    expect(emitted).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('RealtimeHub never leaves a client with a silent hole', () => {
  it('makes every client resync when missing events are gone from the global stream too', async () => {
    const { hub, sse, emitted, disconnected, excluded } = hubWith(fakeLog(8, 5)); // 2..4 trimmed from the global stream
    let sseClosed = 0;
    sse.add({ rooms: new Set(['user:1']), deliver: () => undefined, close: () => sseClosed++ });
    hub.receive(message(1));
    await until(() => emitted.length >= 1);
    expect(disconnected).toEqual([]);
    hub.receive(message(8));
    await until(() => emitted.length >= 5);
    expect(emitted).toEqual([1, 5, 6, 7, 8]);
    await until(() => disconnected.length > 0); // the closes are spread (close-spread.ts)
    expect(disconnected).toEqual([true]); // sockets reconnect: history replay or recovered: false
    // Until it closes, the socket gets nothing after the hole: it resumes from before it.
    for (const id of [5, 6, 7, 8]) expect(excluded.get(id)).toEqual(['peer']);
    expect(sseClosed).toBe(1); // SSE resumes with Last-Event-ID
  });

  it('makes every client resync when Redis starts a new epoch, and delivers the new epoch from its start', async () => {
    const epoch = 1_796_000_000_000_000;
    const newEpoch = [epoch + 1, epoch + 2, epoch + 3].map((id) => decodeChannelMessage(message(id)));
    const log = { between: async (from: number, to: number) => newEpoch.filter((e) => e.id > from && e.id < to) } as unknown as EventLog;
    const { hub, emitted, disconnected, excluded } = hubWith(log);
    for (const id of [1, 2]) hub.receive(message(id));
    await until(() => emitted.length >= 2);
    const counted = async () => ({
      epochs: (await realtimeEpochChangesTotal.get()).values[0]?.value ?? 0,
      lost: (await realtimeChannelGapsTotal.get()).values.find((v) => v.labels.result === 'lost')?.value ?? 0,
    });
    const before = await counted();
    hub.receive(`${epoch + 3} ${epoch}${message(epoch + 3).slice(String(epoch + 3).length)}`);
    await until(() => emitted.length >= 5);
    expect(emitted).toEqual([1, 2, epoch + 1, epoch + 2, epoch + 3]);
    await until(() => disconnected.length > 0); // the closes are spread (close-spread.ts)
    expect(disconnected).toEqual([true]); // what the old epoch issued after 2 may be gone: no silent hole
    expect(excluded.get(epoch + 1)).toEqual(['peer']); // nothing of the new epoch before it closes
    const after = await counted();
    // Not a channel gap of 10^15 lost events: an epoch change, counted as one.
    expect([after.epochs - before.epochs, after.lost - before.lost]).toEqual([1, 0]);
  });
});

describe('RealtimeHub recovery while the hub is behind the channel', () => {
  it('sends nothing twice: live delivery resumes only after the hub has passed what the replay sent', async () => {
    const { hub, nsp, emitted, excluded } = hubWith(fakeLog(8));
    const got: number[] = [];
    const socket = { id: 's1', nsp, rooms: new Set(['user:1']), connected: true, emit: (_ev: string, _p: unknown, id: string) => got.push(Number(id)) };
    nsp.sockets.set('s1', socket as never);
    for (const id of [1, 2, 3]) hub.receive(message(id));
    await until(() => emitted.length >= 3);
    // The socket recovers; history in Redis (ahead of the hub) replays up to 6.
    hub.beginReplay(socket as never);
    hub.endReplay(socket as never, 6);
    for (const id of [4, 5, 6, 7, 8]) hub.receive(message(id));
    await until(() => emitted.length >= 8);
    for (const id of [4, 5, 6]) expect(excluded.get(id)).toEqual(['s1']); // replayed already: not again
    expect(got).toEqual([]); // nothing held back beyond 6 to send on its own
    expect(excluded.get(7)).toEqual([]); // released once the hub reached 6: live as usual
    expect(excluded.get(8)).toEqual([]);
  });

  it('sends what arrived live during the replay after what the replay sent, once', async () => {
    const { hub, nsp, emitted } = hubWith(fakeLog(5));
    const got: number[] = [];
    const socket = { id: 's1', nsp, rooms: new Set(['user:1']), connected: true, emit: (_ev: string, _p: unknown, id: string) => got.push(Number(id)) };
    nsp.sockets.set('s1', socket as never);
    hub.beginReplay(socket as never);
    for (const id of [1, 2, 3]) hub.receive(message(id));
    await until(() => emitted.length >= 3);
    hub.endReplay(socket as never, 2); // the replay sent up to 2; 3 arrived live meanwhile
    expect(got).toEqual([3]);
  });

  it('forgets a held socket that disconnects', async () => {
    const { hub, nsp, emitted, excluded } = hubWith(fakeLog(3));
    const socket = { id: 's1', nsp, rooms: new Set(['user:1']), connected: true, emit: () => true };
    hub.beginReplay(socket as never);
    hub.endReplay(socket as never, 2);
    socket.connected = false;
    hub.endReplay(socket as never, Number.MAX_SAFE_INTEGER); // what the disconnect handler does
    hub.receive(message(1));
    await until(() => emitted.length >= 1);
    expect(excluded.get(1)).toEqual([]);
  });
});

describe('RealtimeHub control events', () => {
  it('hands an event without rooms to its handler, in id order, and never to a socket or stream', async () => {
    const { hub, sse, emitted } = hubWith({} as EventLog);
    const delivered: number[] = [];
    sse.add({ rooms: new Set(['user:1']), deliver: (e) => delivered.push(e.id) });
    const seen: unknown[] = [];
    hub.onControl('control:test', (payload) => seen.push([payload, [...emitted]]));
    const body = (id: number, eventType: string, rooms: string[]) => `${id}\n${JSON.stringify({ eventType, timestamp: 'now', payload: { n: id }, target: 'all', rooms })}`;
    hub.receive(body(1, 'job:progress', ['user:1']));
    hub.receive(body(2, 'control:test', []));
    hub.receive(body(3, 'control:unknown', []));
    hub.receive(body(4, 'job:progress', ['user:1']));
    await until(() => emitted.length >= 2);
    expect(seen).toEqual([[{ n: 2 }, [1]]]); // after event 1, before event 4
    expect(emitted).toEqual([1, 4]);
    expect(delivered).toEqual([1, 4]);
  });
});

describe('RealtimeHub with several shards', () => {
  it('fills a gap in one shard from that shard while the others go on, and puts the watermark of every shard on the wire', async () => {
    const { hub, emitted, wire } = hubWith([fakeLog(3), fakeLog(4, 1, 1)]);
    hub.receive(message(1), 0);
    hub.receive(message(1), 1);
    hub.receive(message(4), 1); // shard 1 lost 2 and 3 on its channel
    hub.receive(message(2), 0);
    await until(() => emitted.length >= 6);
    // Shard 0 did not wait for shard 1's fill.
    expect(wire.slice(0, 3)).toEqual(['1.0', '1.1', '2.1']);
    expect(wire.slice(3)).toEqual(['2.2', '2.3', '2.4']);
    hub.receive(message(3), 0);
    await until(() => emitted.length >= 7);
    expect(wire[6]).toBe('3.4');
  });

  it('holds nothing back for a replay whose position delivery has passed in every shard, and everything for one it has not', async () => {
    const { hub, nsp, emitted, excluded } = hubWith([fakeLog(5), fakeLog(5, 1, 1)]);
    const got: string[] = [];
    const socket = { id: 's1', nsp, rooms: new Set(['user:1']), connected: true, emit: (_ev: string, _p: unknown, id: string) => got.push(id) };
    nsp.sockets.set('s1', socket as never);
    for (const [id, shard] of [[1, 0], [1, 1], [2, 0]]) hub.receive(message(id), shard);
    await until(() => emitted.length >= 3);
    hub.beginReplay(socket as never);
    hub.endReplay(socket as never, '1.3'); // history (ahead of delivery in shard 1) replayed up to 3 there
    hub.receive(message(2), 1); // replayed already: held back, not sent
    hub.receive(message(3), 0); // delivery has not passed 1.3 yet: held
    hub.receive(message(3), 1); // now it has: the socket is live again
    hub.receive(message(4), 0);
    await until(() => emitted.length >= 7);
    expect(excluded.get(4)).toEqual([]);
    // Shard 0's event 3, held while catching up, went out with the replay's position joined: never behind 1.3.
    expect(got).toEqual(['3.3']);
  });
});
