import type { Namespace } from 'socket.io';
import type { AppConfig } from '../../config/app-config';
import { realtimeChannelGapsTotal, realtimeEpochChangesTotal, realtimeShedTotal } from '../metrics/metrics';
import { decodeChannelMessage, type EventLog, type LoggedEvent } from './event-log';
import { EventRouting } from './event-routing';
import { FANOUT_SLICE_MS, INBOX_PAUSE_AT, RealtimeHub } from './realtime-hub';

const routing = new EventRouting([{ namespace: '/realtime', events: ['*'] }]);

/** A namespace whose room broadcasts cost `costMs` each (busy), recording the ids emitted. */
function fakeNamespace(costMs: number) {
  const emitted: number[] = [];
  /** Per broadcast id: the socket ids it excluded (sockets in a replay). */
  const excluded = new Map<number, string[]>();
  let except: string[] = [];
  const op = {
    except: (ids: string[]) => ((except = ids), op),
    emit: (_event: string, _payload: unknown, id: string) => {
      const end = performance.now() + costMs;
      while (performance.now() < end);
      emitted.push(Number(id));
      excluded.set(Number(id), except);
      return true;
    },
  };
  const disconnected: boolean[] = [];
  const nsp = {
    name: '/realtime',
    sockets: new Map([['peer', { conn: { close: () => disconnected.push(true) } }]]),
    to: () => ((except = []), op),
  } as unknown as Namespace;
  return { nsp, emitted, excluded, disconnected };
}

/** What the hub uses of the ioredis subscriber: its socket, to pause and resume reading. */
function fakeSubscriber() {
  let paused = false;
  const calls: string[] = [];
  const stream = {
    isPaused: () => paused,
    pause: () => ((paused = true), calls.push('pause')),
    resume: () => ((paused = false), calls.push('resume')),
  };
  return { subscriber: { stream, quit: async () => undefined }, calls, isPaused: () => paused };
}

const message = (id: number) => `${id}\n${JSON.stringify({ eventType: 'bench', timestamp: 'now', payload: { seq: id }, target: 'all', rooms: ['user:1'] })}`;

describe('RealtimeHub under overload (more channel messages than it can fan out)', () => {
  it('fans out in slices, stops reading the channel while behind, and still delivers every event once, in order', async () => {
    const hub = new RealtimeHub({} as AppConfig, {} as EventLog, routing);
    const { nsp, emitted } = fakeNamespace(0.05);
    hub.attach(nsp);
    const sub = fakeSubscriber();
    (hub as unknown as { subscriber: unknown }).subscriber = sub.subscriber;

    // One read from Redis can hand over thousands of messages at once (libuv reads up to 2 MB).
    const total = INBOX_PAUSE_AT * 2;
    for (let id = 1; id <= total; id++) hub.receive(message(id));
    expect(emitted).toHaveLength(0); // nothing fanned out inside the read itself
    expect(sub.isPaused()).toBe(true); // the backlog is left in Redis, not taken into memory

    // The event loop keeps turning while the hub works through the backlog: timers run between slices.
    let longestGapMs = 0;
    let last = performance.now();
    let ticks = 0;
    const timer = setInterval(() => {
      const t = performance.now();
      longestGapMs = Math.max(longestGapMs, t - last);
      last = t;
      ticks++;
    }, 1);
    const deadline = Date.now() + 20000;
    while (emitted.length < total && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    clearInterval(timer);

    expect(emitted).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(ticks).toBeGreaterThan(5);
    expect(longestGapMs).toBeLessThan(FANOUT_SLICE_MS * 5);
    expect(sub.calls).toEqual(['pause', 'resume']);
    expect(sub.isPaused()).toBe(false);
    await hub.onApplicationShutdown();
  });
});

/** The global stream of events 1..n (from `oldest` on: older ones trimmed), as EventLog reads it to fill gaps. */
function fakeLog(n: number, oldest = 1) {
  const all: LoggedEvent[] = Array.from({ length: n }, (_, i) => decodeChannelMessage(message(i + 1))).filter((e) => e.id >= oldest);
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
    const hub = new RealtimeHub({} as AppConfig, fakeLog(7), routing);
    const { nsp, emitted } = fakeNamespace(0);
    hub.attach(nsp);
    for (const id of [1, 2, 6, 7]) hub.receive(message(id));
    await until(() => emitted.length >= 7);
    expect(emitted).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('delivers a large filled gap in slices too, keeping the event loop turning', async () => {
    const total = 10000;
    const hub = new RealtimeHub({} as AppConfig, fakeLog(total), routing);
    const { nsp, emitted } = fakeNamespace(0.05);
    hub.attach(nsp);
    hub.receive(message(1));
    await until(() => emitted.length >= 1);
    let longestGapMs = 0;
    let last = performance.now();
    const timer = setInterval(() => {
      const t = performance.now();
      longestGapMs = Math.max(longestGapMs, t - last);
      last = t;
    }, 1);
    hub.receive(message(total)); // 2..total-1 were lost on the channel
    await until(() => emitted.length >= total);
    clearInterval(timer);
    expect(emitted).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    expect(longestGapMs).toBeLessThan(FANOUT_SLICE_MS * 5);
  });

  it('fills the tail: events lost right before the channel went quiet are not left waiting for the next one', async () => {
    const hub = new RealtimeHub({} as AppConfig, fakeLog(5), routing);
    const { nsp, emitted } = fakeNamespace(0);
    hub.attach(nsp);
    for (const id of [1, 2, 3]) hub.receive(message(id));
    await until(() => emitted.length >= 3);
    const internals = hub as unknown as { lastMessageAt: number; checkTail(): void };
    internals.checkTail(); // the channel was not quiet long enough yet: nothing to do
    await new Promise((r) => setTimeout(r, 20));
    expect(emitted).toEqual([1, 2, 3]);
    internals.lastMessageAt -= 60000; // quiet for a minute (the hub checks once a second)
    internals.checkTail();
    await until(() => emitted.length >= 5);
    expect(emitted).toEqual([1, 2, 3, 4, 5]);
  });
});

describe('RealtimeHub never leaves a client with a silent hole', () => {
  it('makes every client resync when missing events are gone from the global stream too', async () => {
    const hub = new RealtimeHub({} as AppConfig, fakeLog(8, 5), routing); // 2..4 trimmed from the global stream
    const { nsp, emitted, disconnected } = fakeNamespace(0);
    hub.attach(nsp);
    let sseClosed = 0;
    hub.addSse({ rooms: new Set(['user:1']), deliver: () => undefined, close: () => sseClosed++ });
    hub.receive(message(1));
    await until(() => emitted.length >= 1);
    expect(disconnected).toEqual([]);
    hub.receive(message(8));
    await until(() => emitted.length >= 5);
    expect(emitted).toEqual([1, 5, 6, 7, 8]);
    expect(disconnected).toEqual([true]); // sockets reconnect: history replay or recovered: false
    expect(sseClosed).toBe(1); // SSE resumes with Last-Event-ID
  });

  it('makes every client resync when Redis starts a new epoch, and delivers the new epoch from its start', async () => {
    const epoch = 1_796_000_000_000_000;
    const newEpoch = [epoch + 1, epoch + 2, epoch + 3].map((id) => decodeChannelMessage(message(id)));
    const log = { between: async (from: number, to: number) => newEpoch.filter((e) => e.id > from && e.id < to) } as unknown as EventLog;
    const hub = new RealtimeHub({} as AppConfig, log, routing);
    const { nsp, emitted, disconnected } = fakeNamespace(0);
    hub.attach(nsp);
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
    expect(disconnected).toEqual([true]); // what the old epoch issued after 2 may be gone: no silent hole
    const after = await counted();
    // Not a channel gap of 10^15 lost events: an epoch change, counted as one.
    expect([after.epochs - before.epochs, after.lost - before.lost]).toEqual([1, 0]);
  });

  it('sheds a socket whose unsent output passes the bound, counts it and tells admins', async () => {
    const hub = new RealtimeHub({} as AppConfig, {} as EventLog, routing);
    const { nsp } = fakeNamespace(0);
    const closed: string[] = [];
    const socket = (id: string, writeBuffer: number, bufferedAmount: number) => ({
      conn: { writeBuffer: new Array<unknown>(writeBuffer), transport: { socket: { bufferedAmount } } },
      disconnect: (close: boolean) => close && closed.push(id),
    });
    nsp.sockets.set('ok', socket('ok', 1000, 1024 * 1024) as never);
    nsp.sockets.set('packets', socket('packets', 1001, 0) as never);
    nsp.sockets.set('bytes', socket('bytes', 0, 1024 * 1024 + 1) as never);
    hub.attach(nsp);
    const warned: number[] = [];
    hub.onShed = (n) => warned.push(n);
    const before = (await realtimeShedTotal.get()).values.find((v) => v.labels.transport === 'websocket')?.value ?? 0;
    (hub as unknown as { shedSlowSockets(): void }).shedSlowSockets();
    const after = (await realtimeShedTotal.get()).values.find((v) => v.labels.transport === 'websocket')?.value ?? 0;
    expect(closed).toEqual(['packets', 'bytes']);
    expect(after - before).toBe(2);
    expect(warned).toEqual([2]);
  });
});

describe('RealtimeHub recovery while the hub is behind the channel', () => {
  it('sends nothing twice: live delivery resumes only after the hub has passed what the replay sent', async () => {
    const hub = new RealtimeHub({} as AppConfig, fakeLog(8), routing);
    const { nsp, emitted, excluded } = fakeNamespace(0);
    hub.attach(nsp);
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

  it('forgets a held socket that disconnects', async () => {
    const hub = new RealtimeHub({} as AppConfig, fakeLog(3), routing);
    const { nsp, emitted, excluded } = fakeNamespace(0);
    hub.attach(nsp);
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
    const hub = new RealtimeHub({} as AppConfig, {} as EventLog, routing);
    const { nsp, emitted } = fakeNamespace(0);
    hub.attach(nsp);
    const sse: number[] = [];
    hub.addSse({ rooms: new Set(['user:1']), deliver: (e) => sse.push(e.id) });
    const seen: unknown[] = [];
    hub.onControl('control:test', (payload) => seen.push([payload, [...emitted]]));
    const body = (id: number, eventType: string, rooms: string[]) =>
      `${id}\n${JSON.stringify({ eventType, timestamp: 'now', payload: { n: id }, target: 'all', rooms })}`;
    hub.receive(body(1, 'job:progress', ['user:1']));
    hub.receive(body(2, 'control:test', []));
    hub.receive(body(3, 'control:unknown', []));
    hub.receive(body(4, 'job:progress', ['user:1']));
    await new Promise((r) => setTimeout(r, 20));
    expect(seen).toEqual([[{ n: 2 }, [1]]]); // after event 1, before event 4
    expect(emitted).toEqual([1, 4]);
    expect(sse).toEqual([1, 4]);
  });
});
