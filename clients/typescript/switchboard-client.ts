/**
 * A complete Switchboard chat client in TypeScript (docs/clients.md): log in
 * with a token, join a room, receive messages, and never lose one across a
 * dropped connection (Socket.IO connection state recovery, or SSE with
 * Last-Event-ID), refetching over REST when the server says it cannot replay.
 * Payload types come from the schemas the server validates with.
 */
import { EventSource } from 'eventsource';
import { io, Socket } from 'socket.io-client';
import type { SendMessagePayload } from '../../src/modules/chat/dto/chat.dto';
import type { MessageView } from '../../src/modules/chat/chat.views';

/** What the server sends with every stored event. */
export type Delivered<T> = T & { eventId: string; eventType: string; timestamp: string };
export type Ack<T> = ({ ok: true } & T) | { ok: false; error: string; message: string; retryAfterMs?: number };
export type SendMessage = Pick<SendMessagePayload, 'roomId' | 'body' | 'clientMessageId'>;

export interface ServerEvents {
  connected: (info: { socketId: string; recovered: boolean }) => void;
  authenticated: (info: { userId: number }) => void;
  'message:new': (message: Delivered<MessageView>, eventId?: string) => void;
  typing: (who: Delivered<{ roomId: number; userId: number }>) => void;
  error: (err: { code: string; message: string }) => void;
}
export interface ClientEvents {
  'room:join': (payload: { roomId: number }, ack: (r: Ack<{ roomId: number }>) => void) => void;
  'message:send': (payload: SendMessage, ack: (r: Ack<{ message: MessageView; replayed?: true }>) => void) => void;
  typing: (payload: { roomId: number }, ack: (r: Ack<{ roomId: number }>) => void) => void;
}

export interface ChatClientOptions {
  baseUrl: string;
  token: string;
  /** Called for every message exactly once, in order, live or replayed. */
  onMessage: (m: Delivered<MessageView>) => void;
  /** The server could not replay what was missed: fetch the room's history again. */
  onResync?: () => void;
  /** How long to wait for a message:send ack before sending it again (same clientMessageId). */
  ackTimeoutMs?: number;
  /** Tries of one message:send before `send` gives up. */
  sendAttempts?: number;
}

/** The server answered a message:send with an error: resending the same payload would not help. */
export class SendRefused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

export class ChatClient {
  readonly socket: Socket<ServerEvents, ClientEvents>;
  /** The last event id seen: Socket.IO keeps it for recovery, and an SSE fallback resumes from it. */
  lastEventId: string | undefined;
  private readonly rooms = new Set<number>();
  private firstConnect = true;
  private closed = false;
  private retry?: ReturnType<typeof setTimeout>;

  constructor(private readonly opts: ChatClientOptions) {
    this.socket = io(`${opts.baseUrl}/chat`, { auth: { token: opts.token }, transports: ['websocket'], reconnectionDelay: 200, reconnectionDelayMax: 1000 });
    this.socket.on('message:new', (m) => this.deliver(m));
    this.socket.on('connected', ({ recovered }) => {
      // recovered:false after a reconnect: the gap was not replayed. Rejoin and refetch.
      if (!this.firstConnect && !recovered) {
        for (const roomId of this.rooms) void this.join(roomId);
        this.opts.onResync?.();
      }
      this.firstConnect = false;
    });
    this.socket.on('connect_error', (err) => this.retryLater(err));
  }

  /**
   * A handshake refused for now (`connection_limit`, `ip_limit`) says when to try again in
   * `retryAfterMs`; socket.io-client never retries a refused namespace by itself. The retry is
   * jittered (0.5–1.5×) so that clients refused together do not come back together.
   */
  private retryLater(err: Error): void {
    const ms = retryAfterMs(err);
    if (ms === undefined || this.closed || this.socket.active) return;
    clearTimeout(this.retry);
    this.retry = setTimeout(() => {
      if (!this.closed && !this.socket.connected) this.socket.connect();
    }, ms * (0.5 + Math.random()));
  }

  private deliver(m: Delivered<MessageView>): void {
    if (this.lastEventId !== undefined && BigInt(m.eventId) <= BigInt(this.lastEventId)) return;
    this.lastEventId = m.eventId;
    this.opts.onMessage(m);
  }

  /** Resolves once authenticated; rejects on a refusal that will not pass by itself (one with retryAfterMs is retried). */
  ready(): Promise<void> {
    return new Promise((resolve, reject) => {
      const refused = (err: Error): void => {
        if (retryAfterMs(err) !== undefined) return;
        this.socket.off('connect_error', refused);
        reject(err);
      };
      this.socket.on('connect_error', refused);
      this.socket.once('authenticated', () => {
        this.socket.off('connect_error', refused);
        resolve();
      });
    });
  }

  async join(roomId: number): Promise<void> {
    const r = (await this.socket.timeout(10000).emitWithAck('room:join', { roomId })) as Ack<{ roomId: number }>;
    if (!r.ok) throw new Error(`${r.error}: ${r.message}`);
    this.rooms.add(roomId);
  }

  /**
   * message:send with a clientMessageId. When the ack does not come back (the connection dropped
   * with the message in flight, or the ack timed out) the same payload is sent again once the
   * socket is back — socket.io-client holds an emit while disconnected — and the server answers
   * with the message it stored the first time: one message, however many tries.
   */
  async send(roomId: number, body: string, clientMessageId: string = globalThis.crypto.randomUUID()): Promise<MessageView> {
    const attempts = this.opts.sendAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        const r = (await this.socket.timeout(this.opts.ackTimeoutMs ?? 10000).emitWithAck('message:send', { roomId, body, clientMessageId })) as Ack<{ message: MessageView; replayed?: true }>;
        if (!r.ok) throw new SendRefused(r.error, r.message);
        return r.message;
      } catch (err) {
        if (err instanceof SendRefused || attempt >= attempts) throw err;
      }
    }
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.socket.close();
  }

  /**
   * The same messages over SSE, resuming after `lastEventId` (one id space for
   * both transports). Resolves with the stream's Last-Event-ID-Status.
   */
  resumeOverSse(roomId: number): { source: EventSource; status: Promise<string | null> } {
    let status!: (s: string | null) => void;
    const statusP = new Promise<string | null>((r) => (status = r));
    const url = `${this.opts.baseUrl}/api/realtime/events?rooms=chat:${roomId}${this.lastEventId ? `&lastEventId=${this.lastEventId}` : ''}`;
    const source = new EventSource(url, {
      fetch: async (input, init) => {
        const res = await fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string>), authorization: `Bearer ${this.opts.token}` } });
        const got = res.headers.get('last-event-id-status');
        // gap: the id fell out of history; what was missed must be fetched over REST.
        if (got === 'gap') this.opts.onResync?.();
        status(got);
        return res;
      },
    });
    source.addEventListener('message:new', (e) => this.deliver(JSON.parse(e.data as string) as Delivered<MessageView>));
    return { source, status: statusP };
  }
}

/** The retry hint of a refused handshake (the server's `connect_error` data), if it has one. */
function retryAfterMs(err: Error): number | undefined {
  const ms = (err as Error & { data?: { retryAfterMs?: unknown } }).data?.retryAfterMs;
  return typeof ms === 'number' && ms >= 0 ? ms : undefined;
}
