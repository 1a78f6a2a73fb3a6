import { randomUUID } from 'node:crypto';
import { ApiProcess, startApi } from '../support/api-process';
import { ownStack } from '../support/stack';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';
import { ack, openSocket } from './realtime-helpers';

jest.setTimeout(120_000);

type Sent = { ok: boolean; error?: string; message?: { id: number; body: string; roomId: number }; replayed?: boolean };

/**
 * A client that lost an ack (or an HTTP response) resends with the same key and gets the message
 * stored the first time: across transports, across api processes, and when the resends race.
 */
describe('idempotent message sends (clientMessageId / Idempotency-Key)', () => {
  let a: ApiProcess;
  let b: ApiProcess;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: number;
  const cleanups: (() => void)[] = [];

  beforeAll(async () => {
    [a, b] = await Promise.all([startApi(), startApi()]);
    alice = await registerTokenUser(a.url, 'idem-alice');
    bob = await registerTokenUser(a.url, 'idem-bob');
    roomId = (await alice.client.post('/api/chat/rooms', { name: 'idempotent', memberIds: [bob.id] })).body.id as number;
  });
  afterEach(() => {
    for (const c of cleanups.splice(0)) c();
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  function chatSocket(api: ApiProcess, user: TestUser) {
    const s = openSocket(api.url, '/chat', { token: user.client.token });
    cleanups.push(() => s.socket.close());
    return s;
  }

  async function stored(body: string): Promise<number[]> {
    const history = await alice.client.get(`/api/chat/rooms/${roomId}/messages?limit=100`);
    return (history.body.messages as { id: number; body: string }[]).filter((m) => m.body === body).map((m) => m.id);
  }

  it('answers a resend with the stored message, over the socket on another process and over HTTP, and delivers it once', async () => {
    const listener = chatSocket(b, bob);
    await listener.next('authenticated');
    expect(await ack(listener.socket, 'room:join', { roomId })).toMatchObject({ ok: true });
    const onA = chatSocket(a, alice);
    const onB = chatSocket(b, alice);
    await Promise.all([onA.next('authenticated'), onB.next('authenticated')]);

    const key = randomUUID();
    const first = await ack<Sent>(onA.socket, 'message:send', { roomId, body: 'only once', clientMessageId: key });
    expect(first).toMatchObject({ ok: true, message: { body: 'only once' } });
    expect(first.replayed).toBeUndefined();
    const again = await ack<Sent>(onB.socket, 'message:send', { roomId, body: 'only once', clientMessageId: key });
    expect(again).toEqual({ ok: true, message: first.message, replayed: true });
    const overHttp = await alice.client.on(b.url).post(`/api/chat/rooms/${roomId}/messages`, { body: 'only once' }, { 'idempotency-key': key });
    expect(overHttp.status).toBe(201);
    expect(overHttp.body).toEqual(first.message);
    expect(overHttp.headers.get('idempotent-replayed')).toBe('true');
    // The Structured Field form of the header (draft-ietf-httpapi-idempotency-key-header) names the same key.
    const quoted = await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'only once' }, { 'idempotency-key': `"${key}"` });
    expect(quoted.body.id).toBe(first.message?.id);

    expect(await stored('only once')).toEqual([first.message?.id]);
    await listener.next('message:new');
    await new Promise((r) => setTimeout(r, 1000));
    expect(listener.received.filter((r) => r.event === 'message:new').map((r) => r.payload.id)).toEqual([first.message?.id]);
  });

  it('takes the key from HTTP first and replays it over the socket; other senders and keys are independent', async () => {
    const key = randomUUID();
    const posted = await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'http first' }, { 'idempotency-key': key });
    expect(posted.status).toBe(201);
    expect(posted.headers.get('idempotent-replayed')).toBeNull();
    const s = chatSocket(b, alice);
    await s.next('authenticated');
    expect(await ack<Sent>(s.socket, 'message:send', { roomId, body: 'http first', clientMessageId: key })).toEqual({ ok: true, message: posted.body, replayed: true });
    // Bob's key space is his own: the same key stores his message.
    const bobs = await bob.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'http first' }, { 'idempotency-key': key });
    expect(bobs.status).toBe(201);
    expect(bobs.body.id).not.toBe(posted.body.id);
    // Without a key every send is a new message, as before.
    const plain = await Promise.all([1, 2].map(() => ack<Sent>(s.socket, 'message:send', { roomId, body: 'no key' })));
    expect(new Set(plain.map((p) => p.message?.id)).size).toBe(2);
  });

  it('stores one message when twenty resends of it race over both transports and both processes', async () => {
    const key = randomUUID();
    const sockets = [chatSocket(a, alice), chatSocket(b, alice)];
    await Promise.all(sockets.map((s) => s.next('authenticated')));
    const sends = Array.from({ length: 20 }, (_, i) =>
      i % 2
        ? ack<Sent>(sockets[i % 4 === 1 ? 0 : 1].socket, 'message:send', { roomId, body: 'raced', clientMessageId: key }).then((r) => ({ id: r.message?.id, replayed: r.replayed === true, ok: r.ok }))
        : new Promise((r) => setTimeout(r, i)).then(() =>
            alice.client
              .on(i % 4 === 0 ? a.url : b.url)
              .post(`/api/chat/rooms/${roomId}/messages`, { body: 'raced' }, { 'idempotency-key': key })
              .then((r) => ({ id: r.body.id as number, replayed: r.headers.get('idempotent-replayed') === 'true', ok: r.status === 201 })),
          ),
    );
    const results = await Promise.all(sends);
    expect(results.every((r) => r.ok)).toBe(true);
    const ids = await stored('raced');
    expect(ids).toHaveLength(1);
    expect(new Set(results.map((r) => r.id))).toEqual(new Set(ids));
    expect(results.filter((r) => !r.replayed)).toHaveLength(1);
  });

  it('resends what a dropped connection left unacknowledged and ends with each message stored once', async () => {
    const s = openSocket(a.url, '/chat', { token: alice.client.token, reconnection: true });
    cleanups.push(() => s.socket.close());
    await s.next('authenticated');
    const bodies = Array.from({ length: 10 }, (_, i) => `dropped ${i}`);
    for (const body of bodies) {
      const payload = { roomId, body, clientMessageId: randomUUID() };
      // The send leaves, the transport drops at once: the ack is lost (whether or not the server got the message).
      const first = s.socket.timeout(5000).emitWithAck('message:send', payload).catch((err: Error) => err);
      s.socket.io.engine.close();
      const lost = (await first) as Sent | Error;
      await waitFor(async () => s.socket.connected, 10000, 20);
      const resent = await ack<Sent>(s.socket, 'message:send', payload);
      expect(resent).toMatchObject({ ok: true, message: { body } });
      if (!(lost instanceof Error)) expect(resent.message?.id).toBe(lost.message?.id);
    }
    for (const body of bodies) expect(await stored(body)).toHaveLength(1);
  });

  it('delivers a message whose first send was stored but never published (its process died in between) when it is resent', async () => {
    const { name, control } = ownStack();
    const listener = chatSocket(b, bob);
    await listener.next('authenticated');
    expect(await ack(listener.socket, 'room:join', { roomId })).toMatchObject({ ok: true });
    const key = randomUUID();
    // What a kill -9 between the commit and the publish leaves: the row, and no message:new.
    await control.sql(name, 'primary', `INSERT INTO ${process.env.DB_DATABASE ?? 'switchboard'}.messages (room_id, user_id, body, client_message_id) VALUES (${roomId}, ${alice.id}, 'orphaned', '${key}')`);
    const s = chatSocket(a, alice);
    await s.next('authenticated');
    const resent = await ack<Sent>(s.socket, 'message:send', { roomId, body: 'orphaned', clientMessageId: key });
    expect(resent).toMatchObject({ ok: true, replayed: true, message: { body: 'orphaned' } });
    const live = await listener.next<{ id: number }>('message:new', 15000);
    expect(live.id).toBe(resent.message?.id);
    // A second resend finds it delivered: no second message:new.
    expect(await ack<Sent>(s.socket, 'message:send', { roomId, body: 'orphaned', clientMessageId: key })).toMatchObject({ ok: true, replayed: true });
    await new Promise((r) => setTimeout(r, 1000));
    expect(listener.received.filter((r) => r.event === 'message:new')).toHaveLength(1);
  });

  it('refuses a key reused for another message, and malformed keys, storing nothing', async () => {
    const key = randomUUID();
    const s = chatSocket(a, alice);
    await s.next('authenticated');
    expect(await ack<Sent>(s.socket, 'message:send', { roomId, body: 'the original', clientMessageId: key })).toMatchObject({ ok: true });
    expect(await ack<Sent>(s.socket, 'message:send', { roomId, body: 'something else', clientMessageId: key })).toMatchObject({ ok: false, error: 'conflict' });
    const conflict = await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'something else' }, { 'idempotency-key': key });
    expect(conflict.status).toBe(409);
    // (null is no key, as class-validator's IsOptional reads it.)
    for (const bad of ['', 'has space', 'x'.repeat(65), 'ünïcode', 42, {}]) {
      expect(await ack<Sent>(s.socket, 'message:send', { roomId, body: 'bad key', clientMessageId: bad })).toMatchObject({ ok: false, error: 'bad_request' });
    }
    for (const bad of ['has space', 'x'.repeat(65), '"unterminated']) {
      const r = await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'bad key' }, { 'idempotency-key': bad });
      expect(r.status).toBe(400);
      expect(r.body.message).toMatch(/Idempotency-Key/);
    }
    expect(await stored('something else')).toEqual([]);
    expect(await stored('bad key')).toEqual([]);
    expect((await fetch(`${a.url}/livez`)).status).toBe(200);
  });
});
