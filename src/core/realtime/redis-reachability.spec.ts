import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { ReplyError } from 'ioredis';
import type { RedisClient } from '../redis/redis.factory';
import type { SocketNamespaces } from './socket-namespaces';
import type { SseRegistry } from './sse-registry';
import { RedisReachability, SILENCE_TO_ACT_MS } from './redis-reachability';

type Answer = 'pong' | 'silent' | 'offline' | 'loading';

function setup(count = 2) {
  let answer: Answer = 'pong';
  const redis = Object.assign(new EventEmitter(), {
    ping: jest.fn(() => {
      if (answer === 'pong') return Promise.resolve('PONG');
      if (answer === 'offline') return Promise.reject(new Error("Stream isn't writeable"));
      if (answer === 'loading') return Promise.reject(new (ReplyError as unknown as new (m: string) => Error)('LOADING Redis is loading the dataset in memory'));
      return new Promise(() => undefined); // no answer at all
    }),
  });
  const closed: string[] = [];
  const sockets = new Map(Array.from({ length: count }, (_, i) => [`s${i}`, { conn: { close: () => closed.push(`s${i}`) } }]));
  const namespaces = { all: () => [{ sockets }] } as unknown as SocketNamespaces;
  const sse = { endAll: () => (closed.push('sse'), 1) } as unknown as SseRegistry;
  const reach = new RedisReachability(redis as unknown as RedisClient, namespaces, sse);
  return { reach, redis, closed, set: (a: Answer) => (answer = a) };
}

function handshake(reach: RedisReachability): { status: number; passed: boolean } {
  const res = new ServerResponse(new IncomingMessage(new Socket()));
  let passed = false;
  reach.engineMiddleware()({} as IncomingMessage, res, () => (passed = true));
  return { status: res.statusCode, passed };
}

describe('RedisReachability', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('admits handshakes while Redis answers', async () => {
    const { reach, closed } = setup();
    reach.onModuleInit();
    await jest.advanceTimersByTimeAsync(3500);
    expect(reach.cut).toBe(false);
    expect(closed).toEqual([]);
    expect(handshake(reach).passed).toBe(true);
    reach.onApplicationShutdown();
  });

  it('cut off alone (Redis silent): waits SILENCE_TO_ACT_MS, then sends its sockets away spread over time and answers handshakes 503; admits again when Redis is back', async () => {
    const { reach, closed, set } = setup(300);
    reach.onModuleInit();
    set('silent');
    await jest.advanceTimersByTimeAsync(SILENCE_TO_ACT_MS - 1000);
    expect(reach.cut).toBe(false);
    expect(handshake(reach).passed).toBe(true);
    await jest.advanceTimersByTimeAsync(3000);
    expect(reach.cut).toBe(true);
    expect(handshake(reach)).toEqual({ status: 503, passed: false });
    expect(closed).toContain('sse');
    const soon = closed.length;
    expect(soon).toBeLessThan(301); // not all at once
    await jest.advanceTimersByTimeAsync(5000);
    expect(closed.length).toBe(301);
    expect(new Set(closed).size).toBe(301);
    set('pong');
    await jest.advanceTimersByTimeAsync(2000);
    expect(reach.cut).toBe(false);
    expect(handshake(reach).passed).toBe(true);
    reach.onApplicationShutdown();
  });

  it('stops closing the moment Redis answers again: the sockets not yet closed stay', async () => {
    const { reach, closed, set } = setup(1000);
    reach.onModuleInit();
    set('offline');
    await jest.advanceTimersByTimeAsync(SILENCE_TO_ACT_MS + 1500);
    expect(reach.cut).toBe(true);
    set('pong');
    await jest.advanceTimersByTimeAsync(1500);
    expect(reach.cut).toBe(false);
    const after = closed.length;
    expect(after).toBeLessThan(1001);
    await jest.advanceTimersByTimeAsync(15000);
    expect(closed.length).toBe(after);
    reach.onApplicationShutdown();
  });

  it('Redis refusing connections (down or failing over for every process): keeps its sockets, tells handshakes to retry (429)', async () => {
    const { reach, redis, closed, set } = setup();
    reach.onModuleInit();
    set('offline');
    redis.emit('error', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }));
    await jest.advanceTimersByTimeAsync(SILENCE_TO_ACT_MS + 3000);
    expect(reach.cut).toBe(false);
    expect(reach.outage).toBe(true);
    expect(closed).toEqual([]);
    expect(handshake(reach)).toEqual({ status: 429, passed: false });
    set('pong');
    await jest.advanceTimersByTimeAsync(1500);
    expect(reach.outage).toBe(false);
    expect(handshake(reach).passed).toBe(true);
    reach.onApplicationShutdown();
  });

  it('Redis answering with an error (LOADING after a restart) is its own state, not a cut: sockets kept', async () => {
    const { reach, closed, set } = setup();
    reach.onModuleInit();
    set('loading');
    await jest.advanceTimersByTimeAsync(SILENCE_TO_ACT_MS + 3000);
    expect(reach.cut).toBe(false);
    expect(closed).toEqual([]);
    reach.onApplicationShutdown();
  });

  it('a starved event loop (probe timers firing seconds late) is not taken for an unreachable Redis', async () => {
    const { reach, closed, set } = setup();
    reach.onModuleInit();
    set('silent');
    // Each probe's timeout fires 2 s late, as under CPU starvation.
    const realSetTimeout = setTimeout;
    const spy = jest.spyOn(global, 'setTimeout').mockImplementation(((fn: () => void, ms?: number) => realSetTimeout(fn, (ms ?? 0) >= 1500 ? (ms ?? 0) + 2000 : ms)));
    await jest.advanceTimersByTimeAsync(30000);
    spy.mockRestore();
    expect(reach.cut).toBe(false);
    expect(closed).toEqual([]);
    reach.onApplicationShutdown();
  });
});
