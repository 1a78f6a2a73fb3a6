/** The rooms a client may ask for (SPEC §5), parsed strictly: anything else is bad_request. */
export type RoomRef =
  | { kind: 'user'; userId: number }
  | { kind: 'project'; projectId: number }
  | { kind: 'analysis'; analysisId: number }
  | { kind: 'job'; queue: string; jobId: string }
  | { kind: 'queue'; queue: string }
  | { kind: 'chat'; roomId: number };

const ID = '([1-9][0-9]{0,9})';
const NAME = '([A-Za-z0-9_-]{1,64})';
const PATTERNS: [RegExp, (m: RegExpExecArray) => RoomRef][] = [
  [new RegExp(`^user:${ID}$`), (m) => ({ kind: 'user', userId: Number(m[1]) })],
  [new RegExp(`^project:${ID}$`), (m) => ({ kind: 'project', projectId: Number(m[1]) })],
  [new RegExp(`^analysis:${ID}$`), (m) => ({ kind: 'analysis', analysisId: Number(m[1]) })],
  [new RegExp(`^job:${NAME}:${NAME}$`), (m) => ({ kind: 'job', queue: m[1], jobId: m[2] })],
  [new RegExp(`^queue:${NAME}$`), (m) => ({ kind: 'queue', queue: m[1] })],
  [new RegExp(`^chat:${ID}$`), (m) => ({ kind: 'chat', roomId: Number(m[1]) })],
];

export function parseRoom(name: unknown): RoomRef | null {
  if (typeof name !== 'string' || name.length > 200) return null;
  for (const [re, make] of PATTERNS) {
    const m = re.exec(name);
    if (m) return make(m);
  }
  return null;
}

/**
 * Which namespace an event type belongs to; system:* goes everywhere. The
 * default namespace `/` serves the `/realtime` contract too: seed 003's
 * clients connect with `io('http://host:3000')` and no namespace.
 */
export type NamespaceName = '/realtime' | '/chat' | '/notifications' | '/';
export const NAMESPACES: NamespaceName[] = ['/realtime', '/chat', '/notifications', '/'];
const REALTIME: NamespaceName[] = ['/realtime', '/'];

export function namespacesFor(eventType: string): NamespaceName[] {
  if (eventType.startsWith('system:')) return NAMESPACES;
  if (eventType.startsWith('message:') || eventType === 'typing' || eventType.startsWith('room:')) return ['/chat'];
  if (eventType.startsWith('notification:')) return ['/notifications'];
  return REALTIME;
}

/**
 * The room whose sockets an event skips: `typing` reaches the others in the
 * chat room, never the typist (any of their tabs). Every authenticated
 * socket is in its `user:<id>` room, so that room names them all.
 */
export function senderRoomToSkip(eventType: string, payload: Record<string, unknown>): string | undefined {
  if (eventType !== 'typing') return undefined;
  const id = payload.userId;
  return typeof id === 'number' && Number.isSafeInteger(id) ? `user:${id}` : undefined;
}
