import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ChatClient, Delivered } from '../../clients/typescript/switchboard-client';
import type { MessageView } from '../../src/modules/chat/chat.views';
import { ApiProcess, ROOT, startApi } from '../support/api-process';
import { registerTokenUser, TestUser, waitFor } from '../support/http-client';

jest.setTimeout(120_000);

/** The two clients of docs/clients.md, run as written against a real api. */
describe('the documented clients work against a real api', () => {
  let api: ApiProcess;
  let alice: TestUser;
  let bob: TestUser;
  let roomId: number;

  beforeAll(async () => {
    api = await startApi({ SSE_HISTORY: '5' });
    alice = await registerTokenUser(api.url, 'client-alice');
    bob = await registerTokenUser(api.url, 'client-bob');
    roomId = (await alice.client.post('/api/chat/rooms', { name: 'clients', memberIds: [bob.id] })).body.id as number;
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('TypeScript: joins, receives, recovers a dropped connection with nothing lost, then resumes over SSE', async () => {
    const got: Delivered<MessageView>[] = [];
    let resyncs = 0;
    const client = new ChatClient({ baseUrl: api.url, token: bob.client.token as string, onMessage: (m) => got.push(m), onResync: () => resyncs++ });
    const connects: unknown[] = [];
    client.socket.on('connected', (info) => connects.push({ ...info, at: Date.now() }));
    client.socket.on('disconnect', (reason) => connects.push({ disconnect: reason, at: Date.now() }));
    const seen = () => JSON.stringify({ got: got.map((m) => [m.body, m.eventId]), connects, lastEventId: client.lastEventId });
    try {
      await client.ready();
      await client.join(roomId);
      await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'one' });
      await waitFor(async () => got.length === 1);
      // Drop the transport: the client reconnects by itself and the server replays what it missed.
      client.socket.io.engine.close();
      await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'two' });
      const mine = await client.send(roomId, 'three');
      expect(typeof mine.id).toBe('number');
      await waitFor(async () => got.length === 3, 20000).catch(() => Promise.reject(new Error(`not 3 messages: ${seen()}`)));
      expect(got.map((m) => m.body)).toEqual(['one', 'two', 'three']);
      expect(resyncs).toBe(0);
      client.socket.disconnect();
      await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'four' });
      const { source, status } = client.resumeOverSse(roomId);
      try {
        expect(await status).toBe('replayed');
        await waitFor(async () => got.length === 4);
        expect(got.map((m) => m.body)).toEqual(['one', 'two', 'three', 'four']);
      } finally {
        source.close();
      }
      // Fell out of history (SSE_HISTORY=5): told so, never a silent hole.
      for (let i = 0; i < 8; i++) await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: `flood ${i}` });
      client.lastEventId = '1';
      const again = client.resumeOverSse(roomId);
      expect(await again.status).toBe('gap');
      again.source.close();
      expect(resyncs).toBe(1);
    } finally {
      client.close();
    }
  });

  it('TypeScript: a message whose ack a dropped connection swallowed is sent again with its clientMessageId and stored once', async () => {
    const client = new ChatClient({ baseUrl: api.url, token: bob.client.token as string, onMessage: () => undefined });
    try {
      await client.ready();
      await client.join(roomId);
      for (let i = 0; i < 5; i++) {
        const sending = client.send(roomId, `resent ${i}`);
        client.socket.io.engine.close(); // the send is on the wire (or not yet): either way its ack is lost
        const message = await sending;
        const history = await alice.client.get(`/api/chat/rooms/${roomId}/messages?limit=50`);
        expect((history.body.messages as MessageView[]).filter((m) => m.body === `resent ${i}`).map((m) => m.id)).toEqual([message.id]);
      }
    } finally {
      client.close();
    }
  });

  it('TypeScript: a handshake refused at the connection limit is tried again after its retryAfterMs, and connects once a slot is free', async () => {
    // A process of its own: one connection cluster-wide, under a prefix no other suite counts in.
    const limited = await startApi({ MAX_CONCURRENT_CONNECTIONS: '1', REDIS_PREFIX: `sbclientlimit${Date.now()}:` });
    const holder = new ChatClient({ baseUrl: limited.url, token: bob.client.token as string, onMessage: () => undefined });
    const client = new ChatClient({ baseUrl: limited.url, token: alice.client.token as string, onMessage: () => undefined });
    try {
      await holder.ready();
      const refusals: { code?: string; retryAfterMs?: number; at: number }[] = [];
      client.socket.on('connect_error', (err) => refusals.push({ ...(err as Error & { data?: { code?: string; retryAfterMs?: number } }).data, at: Date.now() }));
      const ready = client.ready();
      await waitFor(async () => refusals.length === 1, 10000);
      expect(refusals[0]).toMatchObject({ code: 'connection_limit', retryAfterMs: 5000 });
      // socket.io-client gives up on a refused namespace: only the client's own retry brings it back.
      expect(client.socket.active).toBe(false);
      const freedAt = Date.now();
      holder.close();
      await ready;
      const waited = Date.now() - freedAt;
      // Jittered 0.5–1.5 × 5 s from the refusal, and no retry before that (one refusal only).
      expect(refusals).toHaveLength(1);
      expect(waited).toBeGreaterThan(2000);
      expect(waited).toBeLessThan(9000);
      expect(client.socket.connected).toBe(true);
    } finally {
      holder.close();
      client.close();
      await limited.stop();
    }
  });

  it('Python (Debian python3-socketio): joins, sends, receives with the trailing event id, resumes over SSE with Last-Event-ID', async () => {
    const child = spawn('/usr/bin/python3', [join(ROOT, 'clients', 'python', 'switchboard_client.py'), api.url, bob.client.token as string, String(roomId)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const lines: Record<string, unknown>[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(JSON.parse(l) as Record<string, unknown>));
    const step = (name: string) => waitFor(async () => lines.find((l) => l.step === name), 20000).catch(() => Promise.reject(new Error(`no ${name}: ${JSON.stringify(lines)} ${stderr}`)));
    try {
      expect(await step('connected')).toMatchObject({ recovered: false });
      expect(await step('authenticated')).toMatchObject({ userId: bob.id });
      expect(await step('joined')).toMatchObject({ ack: { ok: true, roomId } });
      const sent = (await step('sent')) as { id: number; clientMessageId: string };
      // The same message resent over REST with the socket's clientMessageId as Idempotency-Key: the one stored, not a second.
      expect(await step('resent')).toEqual({ step: 'resent', id: sent.id, replayed: 'true' });
      const message = (await step('message')) as { body: string; id: number; eventId: string; extra: unknown[] };
      expect(message.body).toBe('hello from python');
      expect(typeof message.id).toBe('number');
      expect(message.extra).toEqual([message.eventId]);
      expect(await step('refused')).toMatchObject({ error: 'bad_request' });
      await step('offline');
      await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'while away 1' });
      await alice.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'while away 2' });
      child.stdin.write('go\n');
      expect(await step('resumed')).toMatchObject({ status: 'replayed', bodies: ['while away 1', 'while away 2'] });
    } finally {
      child.kill();
    }
  });
});
