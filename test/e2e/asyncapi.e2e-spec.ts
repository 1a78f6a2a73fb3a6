import Ajv from 'ajv';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ApiProcess, ROOT, startApi } from '../support/api-process';
import { registerTokenUser } from '../support/http-client';
import { ack, openSocket } from './realtime-helpers';

jest.setTimeout(120_000);

interface Doc {
  asyncapi: string;
  channels: Record<string, { address: string; messages: Record<string, { $ref: string }> }>;
  operations: Record<string, { action: 'send' | 'receive'; channel: { $ref: string }; messages: { $ref: string }[] }>;
  components: { messages: Record<string, { name: string; payload: object; 'x-ack'?: object }> };
}

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return path.endsWith('.ts') && !path.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Event names the code sends: socket.emit('x'), RealtimeService calls and the helpers around them (string literals of event shape). */
function emittedInCode(): { server: Set<string>; client: Set<string> } {
  const server = new Set<string>();
  const client = new Set<string>();
  for (const file of sources(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/\.emit\('([^']+)'/g)) server.add(m[1]);
    for (const m of text.matchAll(/'((?:job|analysis|batch|system|message|notification):[a-z-]+)'/g)) server.add(m[1]);
    for (const m of text.matchAll(/(?:toRoom|toRooms|toUser|toProject|broadcast|toAdmins)\([^;]*?'(typing)'/g)) server.add(m[1]);
    for (const m of text.matchAll(/@SubscribeMessage\('([^']+)'\)/g)) client.add(m[1]);
  }
  return { server, client };
}

describe('AsyncAPI 3 for the namespaces and SSE', () => {
  let api: ApiProcess;
  let doc: Doc;

  beforeAll(async () => {
    api = await startApi();
    const res = await fetch(`${api.url}/docs/asyncapi.json`);
    expect(res.status).toBe(200);
    doc = (await res.json()) as Doc;
  });
  afterAll(async () => {
    await api?.stop();
  });

  it('is an AsyncAPI 3.0 document whose references all resolve', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(Object.values(doc.channels).map((c) => c.address).sort()).toEqual(['/', '/api/realtime/events', '/chat', '/notifications', '/realtime']);
    const resolve = (ref: string) => ref.split('/').slice(1).reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], doc);
    for (const op of Object.values(doc.operations)) {
      expect(resolve(op.channel.$ref)).toBeDefined();
      for (const m of op.messages) expect(resolve(m.$ref)).toBeDefined();
    }
    for (const ch of Object.values(doc.channels)) for (const m of Object.values(ch.messages)) expect(resolve(m.$ref)).toBeDefined();
  });

  it('documents every event the code emits and every event a gateway handles', () => {
    const { server, client } = emittedInCode();
    const documented = (dir: 'send' | 'receive') =>
      new Set(Object.values(doc.operations).filter((o) => o.action === dir).flatMap((o) => o.messages.map((m) => doc.components.messages[m.$ref.split('/').pop() as string].name)));
    const sent = documented('send');
    const received = documented('receive');
    expect([...server].filter((e) => !sent.has(e) && !received.has(e))).toEqual([]);
    expect([...client].filter((e) => !received.has(e))).toEqual([]);
    expect(server.size).toBeGreaterThan(10);
  });

  it('describes the payloads and acks a real client receives (validated against the document)', async () => {
    const ajv = new Ajv();
    const schema = (id: string) => doc.components.messages[id];
    const user = await registerTokenUser(api.url, 'asyncapi');
    const room = await user.client.post('/api/chat/rooms', { name: 'doc', memberIds: [] });
    const s = openSocket(api.url, '/chat', { token: user.client.token });
    const connected = await s.next('connected');
    expect(ajv.validate(schema('chat_out_connected').payload, connected)).toBe(true);
    const joined = await ack(s.socket, 'room:join', { roomId: room.body.id });
    expect(ajv.validate(schema('chat_in_room_join')['x-ack'] as object, joined)).toBe(true);
    const sent = await ack(s.socket, 'message:send', { roomId: room.body.id, body: 'documented' });
    expect(ajv.validate(schema('chat_in_message_send')['x-ack'] as object, sent)).toBe(true);
    const live = await s.next('message:new');
    expect(ajv.validate(schema('chat_out_message_new').payload, live) || ajv.errors).toBe(true);
    const bad = await ack(s.socket, 'message:send', { roomId: room.body.id });
    expect(ajv.validate(schema('chat_in_message_send')['x-ack'] as object, bad)).toBe(true);
    // The inbound schema is the gateway's own: what it refuses, the document refuses.
    expect(ajv.validate(schema('chat_in_message_send').payload, { roomId: room.body.id })).toBe(false);
    expect(ajv.validate(schema('chat_in_message_send').payload, { roomId: room.body.id, body: 'x', extra: 1 })).toBe(false);
    s.socket.close();
  });

  it('renders /docs/asyncapi as a page with no script and nothing from another host', async () => {
    const res = await fetch(`${api.url}/docs/asyncapi`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('message:new');
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/(src|href)="(https?:)?\/\//i);
  });
});
