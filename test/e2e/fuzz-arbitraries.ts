import fc from 'fast-check';

/** Not a test file: what the fuzz spec throws at the api (SPEC §10), as fast-check arbitraries. */

export type Auth = 'none' | 'bearer' | 'cookie' | 'admin' | 'garbage';

export interface Route {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /** Opens a stream: the request is cut once the headers are in. */
  stream?: boolean;
  /** Would end the caller's session: sent without valid credentials only. */
  endsSession?: boolean;
}

/**
 * Every route of the api (SPEC §4, §11), `:x` for path parameters. Routes
 * other helpers add (logout-all, member removal) are listed too: where they
 * are not there yet they answer 404, which the property accepts.
 */
export const ROUTES: Route[] = [
  { method: 'POST', path: '/api/auth/register' },
  { method: 'POST', path: '/api/auth/login' },
  { method: 'POST', path: '/api/auth/logout', endsSession: true },
  { method: 'POST', path: '/api/auth/logout-all', endsSession: true },
  { method: 'GET', path: '/api/auth/me' },
  { method: 'POST', path: '/api/auth/token' },
  { method: 'POST', path: '/api/chat/rooms' },
  { method: 'GET', path: '/api/chat/rooms' },
  { method: 'GET', path: '/api/chat/rooms/:x/messages' },
  { method: 'POST', path: '/api/chat/rooms/:x/messages' },
  { method: 'DELETE', path: '/api/chat/rooms/:x/members/:x' },
  { method: 'GET', path: '/api/notifications' },
  { method: 'GET', path: '/api/notifications/unread-count' },
  { method: 'POST', path: '/api/notifications/:x/read' },
  { method: 'POST', path: '/api/notifications/read-all' },
  { method: 'POST', path: '/api/projects' },
  { method: 'GET', path: '/api/projects' },
  { method: 'GET', path: '/api/projects/:x' },
  { method: 'DELETE', path: '/api/projects/:x/members/:x' },
  { method: 'POST', path: '/api/projects/:x/analyses' },
  { method: 'GET', path: '/api/analyses/:x' },
  { method: 'GET', path: '/api/jobs/:x/:x' },
  { method: 'GET', path: '/api/batches/:x' },
  { method: 'POST', path: '/api/batches/:x/cancel' },
  { method: 'GET', path: '/api/realtime/events', stream: true },
  { method: 'GET', path: '/api/realtime/jobs/:x/stream', stream: true },
  { method: 'GET', path: '/api/realtime/analysis/:x/stream', stream: true },
  { method: 'GET', path: '/api/realtime/stats' },
  { method: 'GET', path: '/api/realtime/health' },
  { method: 'GET', path: '/api/realtime/presence' },
  { method: 'POST', path: '/api/realtime/test' },
  { method: 'POST', path: '/api/ai/complete' },
  { method: 'GET', path: '/api/ai/cache/stats' },
  { method: 'GET', path: '/api/connections/stats' },
  { method: 'GET', path: '/api/performance/detailed' },
  { method: 'GET', path: '/api/performance/stream', stream: true },
  { method: 'GET', path: '/status' },
  { method: 'GET', path: '/up' },
  { method: 'GET', path: '/livez' },
  { method: 'GET', path: '/metrics' },
  { method: 'GET', path: '/admin/queues' },
  { method: 'GET', path: '/api/health' },
  { method: 'GET', path: '/api/metrics' },
  { method: 'GET', path: '/api/socket-performance' },
  { method: 'GET', path: '/docs/openapi.json' },
  { method: 'GET', path: '/api/nope/:x' },
];

/** Field names the DTOs know, so generated objects get past "unknown property" now and then. */
const FIELDS = ['name', 'memberIds', 'assistant', 'email', 'password', 'body', 'query', 'context', 'eventType', 'payload', 'target', 'room', 'roomId', 'priority', 'stations', 'token', 'userId'];
const NASTY_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', '\u0000', 'a.b', '$where'];
const ODD_TEXT = ['\ud800', '\udfff', '\u0000', '\u202e', '\ufeff', '\uffff', '💥', 'é', '\r\n', "'; DROP TABLE users; --", '%00', '../..', '{{7*7}}'];

const oddString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.array(fc.constantFrom(...ODD_TEXT), { maxLength: 6 }).map((p) => p.join('')),
);

export const scalar: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -1, 1, 1.5, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 2, 1e308, -0),
  fc.boolean(),
  fc.constant(null),
  oddString,
);

/** An object literal as JSON text, built by hand so `__proto__` stays an own key. */
const objectText = (value: fc.Arbitrary<unknown>) =>
  fc
    .array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS), fc.constantFrom(...NASTY_KEYS), fc.string({ maxLength: 12 })), value), { maxLength: 6 })
    .map((entries) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`).join(',')}}`);

const jsonish = fc.oneof(fc.jsonValue({ maxDepth: 4 }), scalar, fc.array(fc.integer({ min: -5, max: 100000 }), { maxLength: 20 }));

const wideArray = fc.integer({ min: 5_000, max: 200_000 }).map((n) => `[${'0,'.repeat(n - 1)}0]`);
const deepNest = fc.tuple(fc.integer({ min: 20, max: 60_000 }), fc.boolean()).map(([n, arrays]) => (arrays ? '['.repeat(n) + ']'.repeat(n) : '{"a":'.repeat(n) + '1' + '}'.repeat(n)));
const hugeString = fc.integer({ min: 50_000, max: 1_200_000 }).map((n) => JSON.stringify({ name: 'x'.repeat(n) }));
const truncated = fc.tuple(objectText(jsonish), fc.nat()).map(([text, cut]) => text.slice(0, cut % Math.max(1, text.length)));
const form = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS, ...NASTY_KEYS, 'a[b]', 'a[]', 'a[__proto__][x]'), fc.string({ maxLength: 8 })), fc.string({ maxLength: 20 })), {
    maxLength: 12,
  })
  .map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));
const manyKeys = fc.integer({ min: 500, max: 40_000 }).map((n) => `{${Array.from({ length: n }, (_, i) => `"k${i}":${i}`).join(',')}}`);

/** A request body as text or raw bytes, most of it small, some of it built to cost. */
export const body: fc.Arbitrary<string | Uint8Array> = fc.oneof(
  { arbitrary: objectText(jsonish), weight: 30 },
  { arbitrary: jsonish.map((v) => JSON.stringify(v) ?? 'null'), weight: 15 },
  { arbitrary: truncated, weight: 10 },
  { arbitrary: form, weight: 8 },
  { arbitrary: fc.uint8Array({ maxLength: 300 }), weight: 6 },
  { arbitrary: oddString, weight: 6 },
  { arbitrary: deepNest, weight: 2 },
  { arbitrary: wideArray, weight: 2 },
  { arbitrary: manyKeys, weight: 1 },
  { arbitrary: hugeString, weight: 1 },
);

export const contentType = fc.oneof(
  {
    arbitrary: fc.constantFrom(
      'application/json',
      'application/json; charset=utf-8',
      'application/x-www-form-urlencoded',
      'text/plain',
      'multipart/form-data; boundary=zz',
      'application/json; charset=utf-16',
      'application/json; charset=bogus',
      'application/xml',
      'application/vnd.api+json',
      '*/*',
    ),
    weight: 10,
  },
  { arbitrary: fc.constant(undefined), weight: 2 },
  { arbitrary: fc.stringMatching(/^[ -~]{0,40}$/), weight: 1 },
);

/** Path parameter values: ids, almost-ids and things that are not ids at all (percent-encoded as bytes). */
export const pathParam = fc.oneof(
  { arbitrary: fc.nat({ max: 100 }).map(String), weight: 5 },
  { arbitrary: fc.constantFrom('0', '-1', '1e3', '9'.repeat(30), 'default:1', 'high:abc', 'x:y:z', 'null', 'undefined', '__proto__'), weight: 3 },
  { arbitrary: oddString.map(percentEncode), weight: 2 },
  { arbitrary: fc.constantFrom('%', '%zz', '%E0%A4%A', '%00', '%2e%2e'), weight: 1 },
);

const queryValue = fc.oneof(
  fc.nat({ max: 200 }).map(String),
  fc.constantFrom('unread', 'all', 'bogus', '1,2,3', 'user:1,chat:1', `${'1,'.repeat(500)}1`, '9007199254740993', '-1', ''),
  oddString.map(percentEncode),
);
const QUERY_KEYS = ['limit', 'before', 'status', 'rooms', 'userIds', 'lastEventId', 'page', '__proto__', 'constructor[prototype]', 'a[b][c]'];

export const query = fc.oneof(
  { arbitrary: fc.array(fc.tuple(fc.constantFrom(...QUERY_KEYS), queryValue), { maxLength: 5 }).map((p) => p.map(([k, v]) => `${k}=${v}`).join('&')), weight: 10 },
  { arbitrary: fc.integer({ min: 50, max: 1500 }).map((n) => Array.from({ length: n }, (_, i) => `k${i}=1`).join('&')), weight: 1 },
);

/** Header values fetch will send (visible ASCII); names the pipeline reads. */
export const extraHeaders = fc.dictionary(
  fc.constantFrom('last-event-id', 'x-forwarded-for', 'x-request-id', 'origin', 'referer', 'accept', 'cookie', 'authorization', 'idempotency-key'),
  fc.oneof(fc.stringMatching(/^[ -~]{0,80}$/), fc.constantFrom('Bearer ', 'Bearer a.b.c', '5, 6', '9'.repeat(40), '1.2.3.4, ::1, garbage', 'switchboard.sid=s%3Aforged.sig')),
  { maxKeys: 3 },
);

export interface HttpCase {
  route: Route;
  params: string[];
  auth: Auth;
  /** A GET route sometimes gets a POST with a body: the body pipeline runs before routing, on every path. */
  asPost: boolean;
  query: string;
  body?: string | Uint8Array;
  contentType?: string;
  headers: Record<string, string>;
}

export const httpCase: fc.Arbitrary<HttpCase> = fc.record({
  route: fc.constantFrom(...ROUTES),
  params: fc.array(pathParam, { minLength: 2, maxLength: 2 }),
  auth: fc.constantFrom<Auth>('none', 'bearer', 'cookie', 'admin', 'garbage'),
  asPost: fc.boolean(),
  query: fc.option(query, { nil: '' }),
  body: fc.option(body, { nil: undefined, freq: 4 }),
  contentType,
  headers: fc.option(extraHeaders, { nil: {}, freq: 3 }),
});

/** The namespaces in the order SocketCase.nsp counts them, with the events each handles. */
export const NAMESPACES = ['/realtime', '/chat', '/notifications'];
const COMMON_EVENTS = ['authenticate', 'subscribe', 'unsubscribe'];
const EVENTS: string[][] = [COMMON_EVENTS, [...COMMON_EVENTS, 'room:join', 'message:send', 'typing'], [...COMMON_EVENTS, 'notification:unread-count']];
const ALL_EVENTS = [...new Set(EVENTS.flat())];
/** Mostly the namespace's own events; some of another namespace's, and names nobody handles. */
const eventFor = (nsp: number) =>
  fc.oneof(
    { arbitrary: fc.constantFrom(...EVENTS[nsp]), weight: 12 },
    { arbitrary: fc.constantFrom(...ALL_EVENTS), weight: 2 },
    { arbitrary: fc.constantFrom('error', '__proto__', 'constructor', 'toString', 'connected', 'message:new', ''), weight: 1 },
    { arbitrary: fc.string({ maxLength: 30 }), weight: 1 },
  );
/**
 * Stand-ins for the fuzz user's own ids, put in when the frame is sent: without them nearly every
 * frame would stop at `forbidden` and the handlers past the access check would never run.
 */
export const OWN = { userRoom: '$own-user-room', chatRoom: '$own-chat-room', projectRoom: '$own-project-room', roomId: '$own-room-id' };
const roomName = fc.oneof(
  { arbitrary: fc.constantFrom(OWN.userRoom, OWN.chatRoom, OWN.projectRoom), weight: 3 },
  { arbitrary: fc.constantFrom('user:1', 'project:1', 'analysis:1', 'job:default:1', 'queue:high', 'chat:1', 'broadcast', ''), weight: 2 },
  { arbitrary: oddString, weight: 1 },
);
const payloadObject = fc.oneof(
  { arbitrary: fc.record({ room: roomName }), weight: 4 },
  { arbitrary: fc.record({ roomId: fc.oneof(fc.constant(OWN.roomId), scalar), body: fc.oneof(oddString, scalar) }), weight: 3 },
  {
    arbitrary: fc.record(
      { roomId: fc.oneof(fc.constant(OWN.roomId), scalar), body: fc.oneof(oddString, scalar), clientMessageId: fc.oneof(fc.uuid(), fc.constantFrom('k', 'same-key'), oddString, scalar) },
      { requiredKeys: ['roomId', 'body'] },
    ),
    weight: 2,
  },
  { arbitrary: fc.record({ roomId: fc.oneof(fc.constant(OWN.roomId), scalar) }), weight: 2 },
  { arbitrary: fc.record({ roomId: fc.oneof(fc.constant(OWN.roomId), scalar), body: fc.oneof(oddString, scalar) }, { requiredKeys: [] }), weight: 1 },
  { arbitrary: fc.record({ token: fc.oneof(oddString, fc.constant('a.b.c')), userId: scalar }, { requiredKeys: [] }), weight: 1 },
  { arbitrary: objectText(jsonish).map((t) => JSON.parse(t) as unknown), weight: 2 },
);
/** One argument of a socket event. */
export const socketArg: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: payloadObject, weight: 20 },
  { arbitrary: jsonish, weight: 8 },
  { arbitrary: fc.uint8Array({ maxLength: 64 }), weight: 1 },
  { arbitrary: fc.integer({ min: 5_000, max: 100_000 }).map((n) => new Array<number>(n).fill(0)), weight: 1 },
  { arbitrary: fc.integer({ min: 20, max: 800 }).map(nestedArray), weight: 1 },
);

/** Raw socket.io packets written straight onto the connection: malformed ones close it, which is the right answer. */
export const rawPacket = fc.oneof(
  fc.constantFrom('2["x"', '2[]', '2{}', '21["x"]', '2/chat,["disconnect"]', '2/chat,0["error",1]', '51-["x",{"_placeholder":true,"num":0}]', '0/nope,', '9', '2/realtime,["subscribe"', '3/chat,999[]'),
  fc.stringMatching(/^[0-9][ -~]{0,60}$/),
);

export interface SocketCase {
  nsp: number;
  authed: boolean;
  event: string;
  args: unknown[];
  withAck: boolean;
  raw?: string;
}

export const socketCase: fc.Arbitrary<SocketCase> = fc.nat({ max: NAMESPACES.length - 1 }).chain((nsp) =>
  fc.record({
    nsp: fc.constant(nsp),
    authed: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
    event: eventFor(nsp),
    args: fc.oneof({ arbitrary: fc.array(socketArg, { minLength: 1, maxLength: 1 }), weight: 6 }, { arbitrary: fc.array(socketArg, { maxLength: 3 }), weight: 1 }),
    withAck: fc.oneof({ arbitrary: fc.constant(true), weight: 6 }, { arbitrary: fc.constant(false), weight: 1 }),
    raw: fc.oneof({ arbitrary: fc.constant(undefined), weight: 39 }, { arbitrary: rawPacket, weight: 1 }),
  }),
);

function nestedArray(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** Percent-encodes the UTF-8 bytes (encodeURIComponent throws on a lone surrogate). */
export function percentEncode(s: string): string {
  return [...Buffer.from(s, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
}
