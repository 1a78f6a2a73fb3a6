import type { Principal } from '../session/principal';
import type { AppSocket } from './socket-state';

/** What a fake socket was sent, in order: `[event, ...args]`. */
export type Sent = [string, ...unknown[]];

export interface FakeSocket {
  socket: AppSocket;
  sent: Sent[];
  /** Events sent other than `connected`/`authenticated`/`error`: what was delivered or replayed. */
  delivered(): string[];
  disconnected(): boolean;
  /** The client's transport was closed: it reconnects and recovers by itself. */
  transportClosed(): boolean;
}

/**
 * A Socket.IO socket as the realtime classes use it (rooms, data, emit, join,
 * leave, disconnect), in memory, for unit specs at their seams.
 */
export function fakeSocket(opts: { id?: string; pid?: string; nsp?: string; principal?: Principal; rooms?: string[]; connected?: boolean; namespaceSockets?: Map<string, unknown> } = {}): FakeSocket {
  const id = opts.id ?? 's1';
  const sent: Sent[] = [];
  const rooms = new Set<string>([id]);
  let disconnected = false;
  let transportClosed = false;
  const socket = {
    id,
    pid: opts.pid ?? `pid-${id}`,
    nsp: { name: opts.nsp ?? '/realtime', sockets: opts.namespaceSockets ?? new Map() },
    connected: opts.connected ?? true,
    rooms,
    handshake: { issued: Date.now() },
    data: { ip: '10.0.0.1', rooms: [...(opts.rooms ?? [])], principal: opts.principal },
    emit(event: string, ...args: unknown[]) {
      sent.push([event, ...args]);
      return true;
    },
    join(room: string | string[]) {
      for (const r of typeof room === 'string' ? [room] : room) rooms.add(r);
    },
    leave(room: string) {
      rooms.delete(room);
    },
    disconnect() {
      socket.connected = false;
      disconnected = true;
    },
    /** The engine connection: closing it makes the client reconnect (a server disconnect would not). */
    conn: {
      close() {
        transportClosed = true;
      },
    },
  };
  for (const r of opts.rooms ?? []) rooms.add(r);
  return {
    socket: socket as unknown as AppSocket,
    sent,
    delivered: () => sent.map(([event]) => event).filter((e) => !['connected', 'authenticated', 'error'].includes(e)),
    disconnected: () => disconnected,
    transportClosed: () => transportClosed,
  };
}

export const alice: Principal = { id: 7, role: 'user', via: 'token' };
export const admin: Principal = { id: 1, role: 'admin', via: 'session' };
