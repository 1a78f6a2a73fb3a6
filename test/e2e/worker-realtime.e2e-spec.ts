import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, registerUser, TestUser, waitFor } from '../support/http-client';
import { QueueKit } from './queue-test-kit';
import { openSocket, readSse } from './realtime-helpers';

jest.setTimeout(180000);

/**
 * What a worker tells users reaches them through RealtimeService on any api
 * process: analysis progress over a socket and over SSE, and assistant room
 * replies as message:new.
 */
describe('worker → RealtimeService → sockets and SSE on every api process', () => {
  const kit = new QueueKit({ ANALYSIS_STATION_MS: '200', AI_PROVIDERS: 'local' });
  let a: ApiProcess;
  let b: ApiProcess;
  let owner: TestUser;
  let member: TestUser;
  let projectId: number;

  beforeAll(async () => {
    [a, b] = await Promise.all([startApi(kit.env), startApi(kit.env)]);
    owner = await registerUser(a.url, 'owner');
    member = await registerTokenUser(b.url, 'member');
    const res = await owner.client.post('/api/projects', { name: 'Live', memberIds: [member.id] });
    expect(res.status).toBe(201);
    projectId = res.body.id as number;
    kit.work(['--queue=high,default']);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await kit.close();
  });

  it('delivers analysis progress to a project member’s socket on another process and to the analysis SSE stream', async () => {
    const ws = openSocket(b.url, '/realtime', { token: member.client.token });
    await ws.next('authenticated');
    const sub = (await ws.socket.timeout(15000).emitWithAck('subscribe', { room: `project:${projectId}` })) as { ok: boolean };
    expect(sub.ok).toBe(true);

    const res = await owner.client.post(`/api/projects/${projectId}/analyses`, { priority: 'default', stations: 3 });
    expect(res.status).toBe(202);
    const { analysisId } = res.body as { analysisId: number };
    const sse = await fetch(`${b.url}/api/realtime/analysis/${analysisId}/stream`, {
      headers: { authorization: `Bearer ${member.client.token}`, 'last-event-id': '0' },
    });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toContain('text/event-stream');

    const completed = await ws.next<Record<string, unknown>>('analysis:completed', 60000);
    expect(completed).toMatchObject({ analysisId, projectId, eventType: 'analysis:completed' });
    const progress = ws.received.filter((r) => r.event === 'analysis:progress').map((r) => r.payload);
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.map((p) => Number(p.progress))).toEqual([...progress.map((p) => Number(p.progress))].sort((x, y) => x - y));
    for (const p of progress) expect(typeof p.timestamp).toBe('string');

    // The SSE stream replays the same events with the same ids (one id space for both transports).
    // The stream also carries the member's own room: notification:new and its unread count can come before completed.
    const events = await readSse(sse, progress.length + 2, 20000, (e) => e.event === 'analysis:completed');
    const sseIds = new Set(events.map((e) => e.id));
    for (const p of progress) expect(sseIds.has(String(p.eventId))).toBe(true);
    expect(events.map((e) => e.event)).toContain('analysis:completed');
    ws.socket.close();

    const done = await owner.client.get(`/api/analyses/${analysisId}`);
    expect(done.body).toMatchObject({ status: 'completed', progress: 100 });
  });

  it('answers a member message in an assistant room with message:new from the assistant, once', async () => {
    const room = await owner.client.post('/api/chat/rooms', { name: 'Ask', memberIds: [member.id], assistant: true });
    expect(room.status).toBe(201);
    const roomId = room.body.id as number;
    const ws = openSocket(b.url, '/chat', { token: member.client.token });
    await ws.next('authenticated');
    const join = (await ws.socket.timeout(15000).emitWithAck('room:join', { roomId })) as { ok: boolean };
    expect(join.ok).toBe(true);

    const sent = await owner.client.post(`/api/chat/rooms/${roomId}/messages`, { body: 'What does the status page show?' });
    expect(sent.status).toBe(201);
    const first = await ws.next<{ userId: number; body: string }>('message:new');
    expect(first).toMatchObject({ userId: owner.id, body: 'What does the status page show?' });
    const reply = await ws.next<{ userId: number; body: string; roomId: number }>('message:new', 60000);
    expect(reply.userId).not.toBe(owner.id);
    expect(reply.userId).not.toBe(member.id);
    expect(reply.roomId).toBe(roomId);
    expect(reply.body.length).toBeGreaterThan(0);

    // The assistant's own message does not trigger another reply, and the job ran once.
    await new Promise((r) => setTimeout(r, 1500));
    const history = await waitFor(async () => {
      const h = await owner.client.get<{ messages: { userId: number }[] }>(`/api/chat/rooms/${roomId}/messages`);
      return h.status === 200 && h.body.messages.length === 2 ? h.body.messages : undefined;
    });
    expect(history.map((m: { userId: number }) => m.userId)).toEqual([reply.userId, owner.id]);
    const job = await kit.job('high', `assistant-reply-${sent.body.id}`);
    expect(await job?.getState()).toBe('completed');
    ws.socket.close();
  });
});
