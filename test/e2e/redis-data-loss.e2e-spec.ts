import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { ApiProcess, ROOT, startApi } from '../support/api-process';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { redisTopology } from '../support/redis';
import { ownStack } from '../support/stack';
import { ack, openSocket, readSse } from './realtime-helpers';

jest.setTimeout(120000);

/** Restarts the stack's one Redis with its AOF deleted: what a Redis without persistence, or a wiped one, looks like. */
async function restartRedisEmpty(): Promise<void> {
  const { name, control } = ownStack();
  await control.stop(name, 'redis');
  rmSync(join(ROOT, '.stack', name, 'redis', 'appendonlydir'), { recursive: true, force: true });
  await control.start(name, 'redis');
}

async function createRoom(u: TestUser): Promise<number> {
  const res = await u.client.post('/api/chat/rooms', { name: 'room', memberIds: [] });
  expect(res.status).toBe(201);
  return (res.body as { id: number }).id;
}

// The stack's single Redis is the one restarted; Sentinel and Cluster are drilled by redis-failover.
if (redisTopology() !== 'single') throw new Error('redis-data-loss restarts the single Redis of the stack; Sentinel and Cluster are drilled by redis-failover');

describe('event ids after Redis lost its data', () => {
  let api: ApiProcess;
  const cleanups: (() => unknown)[] = [];

  beforeAll(async () => {
    api = await startApi({ SSE_KEEPALIVE_MS: '1000' });
  });
  afterAll(async () => {
    for (const fn of cleanups.splice(0)) await fn();
    await api?.stop();
  });

  it('tells a resuming SSE client and a live socket that history was lost, and ids never go back', async () => {
    const user = await registerTokenUser(api.url, 'amnesia');
    const roomId = await createRoom(user);
    const headers = { authorization: `Bearer ${user.client.token}` };
    const s = openSocket(api.url, '/chat', { token: user.client.token, reconnection: true });
    cleanups.push(() => s.socket.close());
    expect((await s.next<{ recovered: boolean }>('connected')).recovered).toBe(false);
    await ack(s.socket, 'room:join', { roomId });

    const sse = new AbortController();
    const first = await fetch(`${api.url}/api/realtime/events?rooms=chat:${roomId}`, { headers, signal: sse.signal });
    const reading = readSse(first, 2);
    await new Promise((r) => setTimeout(r, 300));
    for (const body of ['before-1', 'before-2']) expect((await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body })).status).toBe(201);
    const before = await reading;
    sse.abort();
    expect(before.map((e) => e.data.body)).toEqual(['before-1', 'before-2']);
    const lastId = before[1].id;
    await s.next('message:new');
    await s.next('message:new');

    await restartRedisEmpty();
    await waitFor(async () => (await fetch(`${api.url}/up`)).status === 200, 20000);
    for (const body of ['after-1', 'after-2']) {
      await waitFor(async () => (await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body })).status === 201, 10000);
    }

    // SSE: resuming from an id the new data set never issued after is a gap, and the stream is not mute.
    const resumeCtl = new AbortController();
    cleanups.push(() => resumeCtl.abort());
    const resumed = await fetch(`${api.url}/api/realtime/events?rooms=chat:${roomId}`, { headers: { ...headers, 'Last-Event-ID': lastId }, signal: resumeCtl.signal });
    expect(resumed.headers.get('last-event-id-status')).toBe('gap');
    const replay = readSse(resumed, 1, 5000);
    await new Promise((r) => setTimeout(r, 300));
    await user.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'after-3' });
    const afterEvents = await replay;
    expect(afterEvents.length).toBeGreaterThan(0);
    for (const e of afterEvents) expect(BigInt(e.id)).toBeGreaterThan(BigInt(lastId));

    // The socket: sent the new events with higher ids, or made to resync (told recovered:false) — never silence.
    const outcome = await waitFor(async () => {
      const reconnect = s.received.slice(3).find((r) => r.event === 'connected');
      if (reconnect) return { resynced: true, recovered: reconnect.payload.recovered };
      const live = s.received.filter((r) => r.event === 'message:new' && String(r.payload.body).startsWith('after'));
      return live.length >= 2 ? { resynced: false, ids: live.map((r) => BigInt(String(r.payload.eventId))) } : undefined;
    }, 15000);
    if (outcome.resynced) expect(outcome.recovered).toBe(false);
    else for (const id of outcome.ids ?? []) expect(id).toBeGreaterThan(BigInt(lastId));
  });
});
