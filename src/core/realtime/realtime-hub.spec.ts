import type { Namespace } from 'socket.io';
import type { AppConfig } from '../../config/app-config';
import { decodeChannelMessage, type EventLog, type LoggedEvent } from './event-log';
import { FANOUT_SLICE_MS, INBOX_PAUSE_AT, RealtimeHub } from './realtime-hub';

/** A namespace whose room broadcasts cost `costMs` each (busy), recording the ids emitted. */
function fakeNamespace(costMs: number) {
  const emitted: number[] = [];
  const op = {
    except: () => op,
    emit: (_event: string, _payload: unknown, id: string) => {
      const end = performance.now() + costMs;
      while (performance.now() < end);
      emitted.push(Number(id));
      return true;
    },
  };
  const nsp = { name: '/realtime', sockets: new Map(), to: () => op } as unknown as Namespace;
  return { nsp, emitted };
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
    const hub = new RealtimeHub({} as AppConfig, {} as EventLog);
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

/** The global stream of events 1..n, as EventLog reads it to fill gaps. */
function fakeLog(n: number) {
  const all: LoggedEvent[] = Array.from({ length: n }, (_, i) => decodeChannelMessage(message(i + 1)));
  return {
    between: async (from: number, to: number) => all.filter((e) => e.id > from && e.id < to),
    currentId: async () => n,
  } as unknown as EventLog;
}

const until = async (cond: () => boolean) => {
  const deadline = Date.now() + 10000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
};

describe('RealtimeHub when the channel loses events (Redis dropped the subscriber)', () => {
  it('fills a gap from the global stream before the event that revealed it', async () => {
    const hub = new RealtimeHub({} as AppConfig, fakeLog(7));
    const { nsp, emitted } = fakeNamespace(0);
    hub.attach(nsp);
    for (const id of [1, 2, 6, 7]) hub.receive(message(id));
    await until(() => emitted.length >= 7);
    expect(emitted).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('delivers a large filled gap in slices too, keeping the event loop turning', async () => {
    const total = 10000;
    const hub = new RealtimeHub({} as AppConfig, fakeLog(total));
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
    const hub = new RealtimeHub({} as AppConfig, fakeLog(5));
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

