import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { RedisClient } from '../redis/redis.factory';
import type { SocketNamespaces } from './socket-namespaces';
import type { SseRegistry } from './sse-registry';
import { RedisReachability } from './redis-reachability';

function setup() {
  let answers = true;
  const redis = { ping: jest.fn(() => (answers ? Promise.resolve('PONG') : Promise.reject(new Error('ETIMEDOUT')))) } as unknown as RedisClient;
  const closed: string[] = [];
  const sockets = new Map([
    ['a', { conn: { close: () => closed.push('a') } }],
    ['b', { conn: { close: () => closed.push('b') } }],
  ]);
  const namespaces = { all: () => [{ sockets }] } as unknown as SocketNamespaces;
  const sse = { endAll: () => (closed.push('sse'), 1) } as unknown as SseRegistry;
  const reach = new RedisReachability(redis, namespaces, sse);
  return { reach, closed, setAnswers: (v: boolean) => (answers = v) };
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

  it('after two unanswered probes closes every socket and SSE stream once and answers handshakes 503, then admits again when Redis is back', async () => {
    const { reach, closed, setAnswers } = setup();
    reach.onModuleInit();
    setAnswers(false);
    await jest.advanceTimersByTimeAsync(1100);
    expect(reach.cut).toBe(false);
    await jest.advanceTimersByTimeAsync(1000);
    expect(reach.cut).toBe(true);
    expect(closed).toEqual(['a', 'b', 'sse']);
    expect(handshake(reach)).toEqual({ status: 503, passed: false });
    await jest.advanceTimersByTimeAsync(3000);
    expect(closed).toEqual(['a', 'b', 'sse']);
    setAnswers(true);
    await jest.advanceTimersByTimeAsync(1000);
    expect(reach.cut).toBe(false);
    expect(handshake(reach).passed).toBe(true);
    reach.onApplicationShutdown();
  });
});
