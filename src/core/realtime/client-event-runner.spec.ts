import { ReplyError } from 'ioredis';
import { RateLimiterRes } from 'rate-limiter-flexible';
import type { Socket } from 'socket.io';
import type { StickyWindow } from '../database/sticky-window';
import { ForbiddenError } from '../errors/domain-error';
import { ClientEventRunner, EventClass, EventLimiter } from './client-event-runner';

/** ioredis re-exports redis-errors' ReplyError untyped: a reply error as Redis sends it. */
const RedisReply = ReplyError as unknown as new (message: string) => Error;

const sticky = { isWithin: async () => false } as unknown as StickyWindow;
const socket = (principal?: object) => ({ id: 's1', nsp: { name: '/realtime' }, data: { ip: '10.0.0.1', rooms: [], principal } }) as unknown as Socket;
const user = { id: 7, role: 'user', via: 'token' };

function runnerWith(limit: (key: string) => Promise<unknown> = async () => undefined) {
  const keys: string[] = [];
  const limiter: EventLimiter = { consume: (key) => (keys.push(key), limit(key)) };
  const limiters = new Map<EventClass, EventLimiter>(['auth', 'rooms', 'message', 'typing'].map((c) => [c as EventClass, limiter]));
  return { runner: new ClientEventRunner(limiters, sticky), keys };
}

describe('ClientEventRunner (every client event: auth, rate limit, unit of work, ack)', () => {
  it('answers {ok:true, ...result} and counts the user against the event class', async () => {
    const { runner, keys } = runnerWith();
    expect(await runner.handle(socket(user), 'subscribe', 'rooms', async (u) => ({ who: u.id }))).toEqual({ ok: true, who: 7 });
    expect(keys).toEqual(['u7']);
  });

  it('refuses an unauthenticated socket unless the event is public (then it is limited per address)', async () => {
    const { runner, keys } = runnerWith();
    expect(await runner.handle(socket(), 'subscribe', 'rooms', async () => ({}))).toEqual({ ok: false, error: 'unauthorized', message: 'Authenticate first' });
    expect(await runner.handle(socket(), 'authenticate', 'auth', async () => ({ done: true }), { public: true })).toEqual({ ok: true, done: true });
    expect(keys).toEqual(['ip10.0.0.1']);
  });

  it('maps a limit to rate_limited with retryAfterMs, a domain error to its code, anything else to internal', async () => {
    const over = new RateLimiterRes(0, 1500);
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- rate-limiter-flexible rejects with a RateLimiterRes
    expect(await runnerWith(() => Promise.reject(over)).runner.handle(socket(user), 'typing', 'typing', async () => ({}))).toMatchObject({ ok: false, error: 'rate_limited', retryAfterMs: 1500 });
    const { runner } = runnerWith();
    expect(await runner.handle(socket(user), 'x', 'rooms', () => Promise.reject(new ForbiddenError('no')))).toEqual({ ok: false, error: 'forbidden', message: 'no' });
    expect(await runner.handle(socket(user), 'x', 'rooms', () => Promise.reject(new Error('SELECT secret')))).toEqual({ ok: false, error: 'internal', message: 'Internal error' });
  });

  it('answers unavailable (retry later), not internal, when Redis cannot serve for a moment (a failover: READONLY)', async () => {
    const { runner } = runnerWith();
    const readonly = new RedisReply("READONLY You can't write against a read only replica.");
    expect(await runner.handle(socket(user), 'x', 'rooms', () => Promise.reject(readonly))).toEqual({ ok: false, error: 'unavailable', message: 'Redis unavailable' });
  });

  it('tracks events until their ack is ready (SIGTERM waits for them)', async () => {
    const { runner } = runnerWith();
    let finish = () => undefined as void;
    const pending = runner.handle(socket(user), 'message:send', 'message', () => new Promise<object>((r) => (finish = () => r({}))));
    await new Promise((r) => setImmediate(r));
    expect(runner.inFlight.size).toBe(1);
    finish();
    await pending;
    expect(runner.inFlight.size).toBe(0);
  });
});
