import type { INestApplication } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AuthenticateDto, RoomSubscriptionDto } from '../core/realtime/dto';
import { ChatRoomRefDto, SendMessagePayload } from '../modules/chat/dto/chat.dto';
import { dtoSchema } from './dto-schema';

type Json = Record<string, unknown>;

const ISO = { type: 'string', format: 'date-time' };
const ENVELOPE = {
  eventId: { type: 'string', description: 'Stream position: the same id over Socket.IO and SSE (`id:`); resume from it' },
  eventType: { type: 'string' },
  timestamp: ISO,
};
const obj = (properties: Record<string, Json>, required: string[] = Object.keys(properties)): Json => ({ type: 'object', properties, required });
const withEnvelope = (properties: Record<string, Json>, required: string[]): Json =>
  obj({ ...properties, ...ENVELOPE }, [...required, 'eventId', 'eventType', 'timestamp']);

const ACK_ERROR = obj(
  {
    ok: { const: false },
    error: {
      type: 'string',
      enum: ['bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'room_limit', 'rate_limited', 'unknown_event', 'internal', 'unavailable'],
    },
    message: { type: 'string' },
    retryAfterMs: { type: 'integer', description: 'with rate_limited' },
  },
  ['ok', 'error', 'message'],
);
/** `optional`: fields of the {ok:true} answer that are not always there. */
const ack = (ok: Record<string, Json>, optional: string[] = []): Json => ({
  oneOf: [obj({ ok: { const: true }, ...ok }, ['ok', ...Object.keys(ok).filter((k) => !optional.includes(k))]), ACK_ERROR],
});

const JOB = withEnvelope(
  {
    jobId: { type: 'string' },
    queueName: { type: 'string' },
    progress: { type: 'number', minimum: 0, maximum: 100 },
    status: { enum: ['active', 'waiting', 'completed', 'failed'] },
    userId: { type: 'integer' },
    jobName: { type: 'string' },
    message: { type: 'string' },
    currentStep: { type: 'string' },
    totalSteps: { type: 'integer' },
    attempt: { type: 'integer' },
    result: { description: 'job:completed: what the job returned' },
    duration: { type: 'integer', description: 'job:completed: ms from dispatch to completion' },
    error: { type: 'string', description: 'job:failed' },
    attemptsMade: { type: 'integer', description: 'job:failed' },
    attemptsMax: { type: 'integer', description: 'job:failed' },
  },
  ['jobId', 'queueName', 'progress', 'status'],
);
const ANALYSIS = withEnvelope(
  {
    projectId: { type: 'integer' },
    analysisId: { type: 'integer' },
    currentStation: { type: 'integer' },
    totalStations: { type: 'integer' },
    stationName: { type: 'string' },
    progress: { type: 'number' },
    logs: { type: 'array', items: { type: 'string' } },
  },
  ['projectId', 'analysisId', 'currentStation', 'totalStations', 'stationName', 'progress'],
);
const BATCH = withEnvelope(
  {
    batchId: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    totalJobs: { type: 'integer' },
    pendingJobs: { type: 'integer', description: 'not (yet) succeeded' },
    processedJobs: { type: 'integer', description: 'totalJobs - pendingJobs' },
    failedJobs: { type: 'integer' },
    skippedJobs: { type: 'integer', description: 'jobs of a cancelled batch that never ran' },
    progress: { type: 'integer', minimum: 0, maximum: 100 },
    cancelledAt: { type: ['string', 'null'] },
    finishedAt: { type: ['string', 'null'], description: 'set once every job has succeeded, failed or been skipped' },
  },
  ['batchId', 'name', 'totalJobs', 'pendingJobs', 'processedJobs', 'failedJobs', 'skippedJobs', 'progress', 'cancelledAt', 'finishedAt'],
);
const SYSTEM = withEnvelope({ message: { type: 'string' }, level: { type: 'string' }, code: { type: 'string' } }, []);
const MESSAGE_VIEW = { id: { type: 'integer' }, roomId: { type: 'integer' }, userId: { type: 'integer' }, body: { type: 'string' }, createdAt: ISO };
const NOTIFICATION_VIEW = {
  id: { type: 'integer' },
  type: { type: 'string', description: 'chat.room_added, project.member_added, analysis.completed, analysis.failed' },
  title: { type: 'string' },
  body: { type: ['string', 'null'] },
  data: { type: 'object' },
  status: { enum: ['unread', 'read'] },
  readAt: { type: ['string', 'null'] },
  createdAt: ISO,
};

interface EventDoc {
  payload: Json;
  summary: string;
  /** Client → server events: the acknowledgement the callback receives. */
  ack?: Json;
}

const CONNECTION_EVENTS: Record<string, EventDoc> = {
  connected: { summary: 'First event on every connection; recovered=false after a reconnect means: refetch', payload: obj({ socketId: { type: 'string' }, recovered: { type: 'boolean' } }) },
  authenticated: { summary: 'Handshake or authenticate succeeded', payload: obj({ userId: { type: 'integer' } }) },
  error: {
    summary: 'Then the server disconnects: auth_timeout, session_ended (logout), maintenance, unavailable',
    payload: obj({ code: { enum: ['auth_timeout', 'session_ended', 'maintenance', 'unavailable'] }, message: { type: 'string' } }),
  },
};
const COMMON_CLIENT: Record<string, EventDoc> = {
  authenticate: { summary: 'Authenticate after connecting (seed 003 also sends userId, which must match the token)', payload: dtoSchema(AuthenticateDto), ack: ack({ userId: { type: 'integer' } }) },
  subscribe: { summary: 'Join a room: user:<id> (self), project:<id>, analysis:<id> (members), job:<queue>:<id> (owner), queue:<name> (admin)', payload: dtoSchema(RoomSubscriptionDto), ack: ack({ room: { type: 'string' } }) },
  unsubscribe: { summary: 'Leave a room', payload: dtoSchema(RoomSubscriptionDto), ack: ack({ room: { type: 'string' } }) },
};
const SYSTEM_EVENTS: Record<string, EventDoc> = {
  'system:info': { summary: 'To admins: an api process started (deploy); any via POST /api/realtime/test', payload: SYSTEM },
  'system:warning': { summary: 'To admins: capacity at 75/90 %, slow sockets shed, queue:monitor over a threshold', payload: SYSTEM },
  'system:error': { summary: 'To admins: a job failed for good', payload: SYSTEM },
};
const REALTIME: { server: Record<string, EventDoc>; client: Record<string, EventDoc> } = {
  client: COMMON_CLIENT,
  server: {
    ...CONNECTION_EVENTS,
    'job:started': { summary: 'A job began an attempt (jobName, userId)', payload: JOB },
    'job:progress': { summary: 'Seed 003 JobProgressPayload', payload: JOB },
    'job:completed': { summary: 'With result and duration', payload: JOB },
    'job:failed': { summary: 'Failed for good: error, attemptsMade, attemptsMax', payload: JOB },
    'analysis:started': { summary: 'Seed 003 AnalysisProgressPayload', payload: ANALYSIS },
    'analysis:progress': { summary: 'One station done', payload: ANALYSIS },
    'analysis:completed': { summary: 'All stations done', payload: ANALYSIS },
    'batch:progress': { summary: "A batch's counts changed (to its owner; an operator's batch to admins): throttled to ~4/s per worker, always on a failure, cancel or finish", payload: BATCH },
    ...SYSTEM_EVENTS,
  },
};

/** Every namespace, with what each side sends. `/` serves the `/realtime` contract (seed 003). */
export const NAMESPACE_EVENTS: Record<string, { server: Record<string, EventDoc>; client: Record<string, EventDoc> }> = {
  '/realtime': REALTIME,
  '/': REALTIME,
  '/chat': {
    client: {
      ...COMMON_CLIENT,
      'room:join': { summary: 'Join a chat room you are a member of', payload: dtoSchema(ChatRoomRefDto), ack: ack({ roomId: { type: 'integer' } }) },
      'message:send': {
        summary:
          'Store and deliver a message; the ack carries it. With clientMessageId (unique per sender, shared with the Idempotency-Key header of ' +
          'POST /api/chat/rooms/{id}/messages) a resend after a lost ack returns the message already stored, replayed:true, and nothing is sent twice; ' +
          'the same clientMessageId for a different message is answered conflict',
        payload: dtoSchema(SendMessagePayload),
        ack: ack({ message: obj(MESSAGE_VIEW), replayed: { const: true, description: 'Only when an earlier send with this clientMessageId stored the message' } }, ['replayed']),
      },
      typing: { summary: 'Tell the other members (never echoed to you)', payload: dtoSchema(ChatRoomRefDto), ack: ack({ roomId: { type: 'integer' } }) },
    },
    server: {
      ...CONNECTION_EVENTS,
      'message:new': { summary: 'A message in a room you joined', payload: withEnvelope(MESSAGE_VIEW, Object.keys(MESSAGE_VIEW)) },
      typing: { summary: 'Someone else in the room is typing', payload: withEnvelope({ roomId: { type: 'integer' }, userId: { type: 'integer' } }, ['roomId', 'userId']) },
      ...SYSTEM_EVENTS,
    },
  },
  '/notifications': {
    client: { ...COMMON_CLIENT, 'notification:unread-count': { summary: 'Ask for the unread count (no payload)', payload: { type: 'null' }, ack: ack({ count: { type: 'integer' } }) } },
    server: {
      ...CONNECTION_EVENTS,
      'notification:new': { summary: 'A new notification for you', payload: withEnvelope(NOTIFICATION_VIEW, Object.keys(NOTIFICATION_VIEW)) },
      'notification:unread-count': { summary: 'Your unread count changed', payload: withEnvelope({ count: { type: 'integer' } }, ['count']) },
      ...SYSTEM_EVENTS,
    },
  },
};

/** The SSE streams carry every server event of /realtime, /chat and /notifications that reaches their rooms, plus `connected`. */
const SSE_EVENTS: Record<string, EventDoc> = {
  connected: { summary: 'First event of every stream; no id, so it never moves Last-Event-ID', payload: obj({ userId: { type: 'integer' }, rooms: { type: 'array', items: { type: 'string' } }, eventType: { const: 'connected' }, timestamp: ISO }) },
  ...Object.fromEntries(Object.values(NAMESPACE_EVENTS).flatMap((n) => Object.entries(n.server).filter(([name]) => !(name in CONNECTION_EVENTS)))),
};

const channelId = (path: string) => (path === '/' ? 'root' : path.replace(/[^A-Za-z0-9]+/g, '_').replace(/^_|_$/g, ''));
const msgId = (name: string) => name.replace(/[^A-Za-z0-9]+/g, '_');

export function buildAsyncApi(): Json {
  const channels: Json = {};
  const operations: Json = {};
  const messages: Json = {};
  const add = (ch: string, address: string, description: string, bindings: Json, server: Record<string, EventDoc>, client: Record<string, EventDoc>) => {
    const chMessages: Json = {};
    for (const [dir, events] of [
      ['send', server],
      ['receive', client],
    ] as const) {
      for (const [name, e] of Object.entries(events)) {
        const id = `${ch}_${dir === 'send' ? 'out' : 'in'}_${msgId(name)}`;
        messages[id] = {
          name,
          title: name,
          summary: e.summary,
          payload: e.payload,
          ...(e.ack ? { 'x-ack': e.ack } : {}),
          ...(dir === 'send' && address !== '/api/realtime/events'
            ? { 'x-socketio-extra-arguments': [{ name: 'eventId', schema: { type: 'string' }, description: 'Appended by connection state recovery to every stored event: handlers must accept an extra last argument' }] }
            : {}),
        };
        chMessages[id] = { $ref: `#/components/messages/${id}` };
        operations[id] = { action: dir, channel: { $ref: `#/channels/${ch}` }, messages: [{ $ref: `#/channels/${ch}/messages/${id}` }], summary: e.summary, ...(e.ack ? { reply: { channel: { $ref: `#/channels/${ch}` } } } : {}) };
      }
    }
    channels[ch] = { address, description, messages: chMessages, bindings };
  };
  for (const [path, events] of Object.entries(NAMESPACE_EVENTS)) {
    add(
      channelId(path),
      path,
      `Socket.IO namespace ${path}. Handshake auth: {token} (bearer JWT) or the session cookie; or emit authenticate within AUTH_TIMEOUT_MS. ` +
        'Every client event takes an ack callback: {ok:true,...} or {ok:false,error,message}. Connection state recovery: a reconnect within ' +
        'WS_RECOVERY_WINDOW_MS replays what was missed (connected.recovered=true) or says recovered=false (refetch).',
      { ws: { bindingVersion: '0.1.0', query: { type: 'object', properties: { EIO: { const: '4' }, transport: { enum: ['websocket', 'polling'] } } } } },
      events.server,
      events.client,
    );
  }
  add(
    'sse',
    '/api/realtime/events',
    'Server-Sent Events (also /api/realtime/jobs/{jobId}/stream and /api/realtime/analysis/{analysisId}/stream). `id:` is the eventId; ' +
      'reconnect with Last-Event-ID (header or ?lastEventId=); the response header Last-Event-ID-Status is replayed or gap (refetch). ' +
      ': keep-alive comments every SSE_KEEPALIVE_MS; retry: on connect. Same auth as HTTP.',
    { http: { bindingVersion: '0.3.0', method: 'GET' } },
    SSE_EVENTS,
    {},
  );
  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Switchboard realtime',
      version: '1.0.0',
      description:
        'Socket.IO namespaces /realtime (also served on /), /chat, /notifications and the SSE streams. Every stored server event carries eventId, eventType and timestamp; ' +
        'over Socket.IO the eventId is also appended as the last argument of the emit (connection state recovery). Database ids are numbers; jobId and eventId are strings.',
    },
    servers: { api: { host: 'localhost:3000', protocol: 'ws', description: 'Socket.IO over WebSocket or HTTP long-polling, path /socket.io/' } },
    channels,
    operations,
    components: { messages },
  };
}

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);

/** A self-contained page (no scripts, nothing from the internet) of the AsyncAPI document. */
export function renderAsyncApiPage(doc: Json): string {
  const info = doc.info as { title: string; description: string };
  const channels = doc.channels as Record<string, { address: string; description: string; messages: Record<string, { $ref: string }> }>;
  const messages = (doc.components as { messages: Record<string, { name: string; summary: string; payload: Json; 'x-ack'?: Json }> }).messages;
  const parts = [`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)}</title>`,
    '<style>body{font:14px/1.5 system-ui,sans-serif;margin:2rem;max-width:70rem}code,pre{font:12px ui-monospace,monospace;background:#f4f4f4}pre{padding:.5rem;overflow:auto}h2{border-bottom:1px solid #ccc}</style></head><body>',
    `<h1>${esc(info.title)}</h1><p>${esc(info.description)}</p><p>JSON: <a href="/docs/asyncapi.json">/docs/asyncapi.json</a> · REST: <a href="/docs">/docs</a></p>`];
  for (const [id, ch] of Object.entries(channels)) {
    parts.push(`<h2 id="${esc(id)}"><code>${esc(ch.address)}</code></h2><p>${esc(ch.description)}</p>`);
    for (const ref of Object.values(ch.messages)) {
      const key = ref.$ref.split('/').pop() as string;
      const m = messages[key];
      const dir = key.includes('_in_') ? 'client → server' : 'server → client';
      parts.push(`<h3 class="event"><code>${esc(m.name)}</code> <small>${dir}</small></h3><p>${esc(m.summary)}</p><pre>${esc(JSON.stringify(m.payload, null, 2))}</pre>`);
      if (m['x-ack']) parts.push(`<p>Acknowledgement:</p><pre>${esc(JSON.stringify(m['x-ack'], null, 2))}</pre>`);
    }
  }
  parts.push('</body></html>');
  return parts.join('\n');
}

/** `/docs/asyncapi.json` and `/docs/asyncapi` (rendered), built once. */
export function setupAsyncApi(app: INestApplication): void {
  const doc = buildAsyncApi();
  const json = JSON.stringify(doc);
  const page = renderAsyncApiPage(doc);
  const http = app.getHttpAdapter();
  http.get('/docs/asyncapi.json', (_req: Request, res: Response) => void res.type('application/json').send(json));
  http.get('/docs/asyncapi', (_req: Request, res: Response) => void res.type('html').send(page));
}
