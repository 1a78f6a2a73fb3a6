import { createServer, Server, Socket as NetSocket, connect } from 'node:net';
import { io, Socket } from 'socket.io-client';
import { comparePositions, parsePosition } from '../../src/core/realtime/position';
import { shardOfRoom } from '../../src/core/realtime/shard-layout';

/** Not a test file: helpers for the realtime e2e specs. */

export interface Received {
  event: string;
  payload: Record<string, unknown>;
}

/** A socket.io-client socket that records every event it receives. */
export function openSocket(
  baseUrl: string,
  nsp: string,
  opts: {
    token?: string;
    cookie?: string;
    forwardedFor?: string;
    reconnection?: boolean;
    transports?: ('polling' | 'websocket')[];
    extraHeaders?: Record<string, string>;
    /** More handshake auth fields, e.g. another socket's `pid` and `offset` (what socket.io-client sends to recover). */
    auth?: Record<string, string>;
  } = {},
) {
  const headers: Record<string, string> = { ...opts.extraHeaders };
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.forwardedFor) headers['x-forwarded-for'] = opts.forwardedFor;
  const socket: Socket = io(baseUrl + nsp, {
    auth: { ...(opts.token ? { token: opts.token } : {}), ...opts.auth },
    transports: opts.transports ?? ['websocket'],
    forceNew: true, // one engine connection per socket: its own headers (cookie, X-Forwarded-For)
    extraHeaders: headers,
    reconnection: opts.reconnection ?? false,
    reconnectionDelay: 200,
    reconnectionDelayMax: 500,
    timeout: 10000,
  });
  const received: Received[] = [];
  const consumed = new Map<string, number>();
  socket.onAny((event: string, payload: Record<string, unknown>) => received.push({ event, payload }));
  socket.on('connect_error', (err: Error & { data?: Record<string, unknown> }) => received.push({ event: 'connect_error', payload: { message: err.message, ...err.data } }));
  /** The next `event` not yet taken, from everything received since the socket was made (no listener race). */
  const next = async <T = Record<string, unknown>>(event: string, timeoutMs = 15000): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const from = consumed.get(event) ?? 0;
      const i = received.findIndex((r, idx) => idx >= from && r.event === event);
      if (i >= 0) {
        consumed.set(event, i + 1);
        return received[i].payload as T;
      }
      if (Date.now() > deadline) throw new Error(`no ${event} within ${timeoutMs} ms (got: ${received.map((r) => r.event).join(', ')})`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  return { socket, received, next };
}

export function once<T = Record<string, unknown>>(socket: Socket, event: string, timeoutMs = 15000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${timeoutMs} ms`)), timeoutMs);
    socket.once(event, (payload: T) => {
      clearTimeout(timer);
      resolve(payload);
    });
  });
}

export async function connected(socket: Socket): Promise<{ socketId: string; recovered: boolean }> {
  return once(socket, 'connected');
}

export function connectError(socket: Socket): Promise<Error & { data?: { code: string } }> {
  return once(socket, 'connect_error');
}

export function ack<T = Record<string, unknown>>(socket: Socket, event: string, payload?: unknown): Promise<T> {
  return (payload === undefined ? socket.timeout(15000).emitWithAck(event) : socket.timeout(15000).emitWithAck(event, payload)) as Promise<T>;
}

/** A TCP forwarder standing in for a load balancer: its target can be switched (to move clients to another process). */
export class SwitchingProxy {
  private server?: Server;
  private readonly sockets = new Set<NetSocket>();
  port = 0;

  constructor(public targetPort: number) {}

  async start(): Promise<void> {
    const port = this.port;
    this.server = createServer((client) => {
      const upstream = connect(this.targetPort, '127.0.0.1');
      this.sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((r) => this.server?.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Drops every client and points at a port where nothing listens: clients retry while events pile up. */
  async cut(): Promise<void> {
    this.targetPort = 1;
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

/** Reads an SSE response body into events (id, event, data) until `count` events or the deadline. */
export type SseEvent = { id: string; event: string; data: Record<string, unknown> };

/** Moves the complete events at the front of an SSE text buffer into `events`; returns the rest. */
export function takeSseEvents(buffer: string, events: SseEvent[]): string {
  let idx: number;
  while ((idx = buffer.indexOf('\n\n')) >= 0) {
    const block = buffer.slice(0, idx);
    buffer = buffer.slice(idx + 2);
    const fields: Record<string, string> = {};
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const i = line.indexOf(':');
      if (i > 0) fields[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    // `connected` (no id) opens every stream; these helpers count the numbered events only.
    if (fields.event && fields.id) events.push({ id: fields.id, event: fields.event, data: JSON.parse(fields.data) as Record<string, unknown> });
  }
  return buffer;
}

/**
 * Reads the stream until `count` events (and, with `until`, one it accepts) arrived, or the timeout. Events of
 * other rooms of the stream (a user's notifications) can come between: `until` waits for the one that matters.
 */
export async function readSse(
  res: Response,
  count: number,
  timeoutMs = 15000,
  until?: (e: { event: string; data: Record<string, unknown> }) => boolean,
): Promise<{ id: string; event: string; data: Record<string, unknown> }[]> {
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const events: { id: string; event: string; data: Record<string, unknown> }[] = [];
  let buffer = '';
  const deadline = Date.now() + timeoutMs;
  try {
    while ((events.length < count || (until !== undefined && !events.some(until))) && Date.now() < deadline) {
      const chunk = await Promise.race([
        reader.read(),
        new Promise<{ done: true; value: undefined }>((r) => setTimeout(() => r({ done: true, value: undefined }), Math.max(1, deadline - Date.now()))),
      ]);
      if (chunk.done) break;
      buffer += decoder.decode(chunk.value, { stream: true });
      buffer = takeSseEvents(buffer, events);
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return events;
}

/** true on `connected`, false on `connect_error` (listeners set at once, so neither is missed). */
export function outcome(socket: Socket): Promise<boolean> {
  return new Promise((resolve) => {
    socket.once('connected', () => resolve(true));
    socket.once('connect_error', () => resolve(false));
  });
}

/** REALTIME_SHARDS of the processes under test: npm test's Cluster pass runs 3 (scripts/test.js). */
export const SHARDS = Number(process.env.REALTIME_SHARDS || 1);

/** EventLog options for a test's own publisher: the same shards as the processes it talks to. */
export const logOptions = (historyPerRoom: number) => ({ prefix: 'sb:', historyPerRoom, historyTtlMs: 60000, shards: SHARDS });

/**
 * An event's own id inside a wire id: with one shard the wire id itself; with several, the component of
 * the shard of the event's first room (wire ids are positions, the delivering process's watermark).
 */
export function idIn(wireId: string, firstRoom: string): string {
  if (SHARDS === 1) return wireId;
  const parsed = parsePosition(wireId, SHARDS);
  if (parsed?.kind !== 'at') throw new Error(`not a position of ${SHARDS} shards: ${wireId}`);
  return String(parsed.position[shardOfRoom(firstRoom, SHARDS)]);
}

/** Every wire id after the one before it (dominance, position.ts; one shard: a larger number). */
export function inOrder(wireIds: string[]): boolean {
  const at = wireIds.map((id) => {
    const parsed = parsePosition(id, SHARDS);
    if (parsed?.kind !== 'at') throw new Error(`not a position of ${SHARDS} shards: ${id}`);
    return parsed.position;
  });
  return at.every((p, i) => i === 0 || comparePositions(p, at[i - 1]) === 'after');
}
