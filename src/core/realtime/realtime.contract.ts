/**
 * The one way out to clients (SPEC §5). Domain code and workers depend on
 * this abstract class only; core/realtime provides the implementation
 * (RedisRealtimeService): each event is appended to Redis history (one id
 * space for Socket.IO recovery and SSE replay) and published on one Redis
 * channel, which every api process reads and delivers to its own sockets and
 * SSE streams. It needs no Socket.IO server, so it works from a worker.
 */
export type RealtimeTarget = 'all' | 'websocket' | 'sse';

export interface EmitOptions {
  /** Default 'all'. */
  target?: RealtimeTarget;
}

/** What every delivered event carries (added by the service). */
export interface EventEnvelope {
  /** One id space for both transports: Socket.IO payload `eventId` === SSE `id:`. */
  eventId: string;
  eventType: string;
  /** ISO 8601. */
  timestamp: string;
}

export const userRoom = (userId: number | string) => `user:${userId}`;
export const projectRoom = (projectId: number | string) => `project:${projectId}`;
export const analysisRoom = (analysisId: number | string) => `analysis:${analysisId}`;
export const jobRoom = (queue: string, jobId: string) => `job:${queue}:${jobId}`;
export const queueRoom = (queue: string) => `queue:${queue}`;
export const chatRoom = (roomId: number | string) => `chat:${roomId}`;

export abstract class RealtimeService {
  /** Resolves with the event id once the event is on its way (history written, published). */
  abstract toRoom(room: string, event: string, payload: object, opts?: EmitOptions): Promise<string>;
  /**
   * One event (one id) to several rooms: a client in more than one of them
   * receives it once, and every room's history holds it under the same id.
   */
  abstract toRooms(rooms: string[], event: string, payload: object, opts?: EmitOptions): Promise<string>;
  abstract toUser(userId: number | string, event: string, payload: object, opts?: EmitOptions): Promise<string>;
  abstract toProject(projectId: number | string, event: string, payload: object, opts?: EmitOptions): Promise<string>;
  /** Every connected client (system:* events). */
  abstract broadcast(event: string, payload: object, opts?: EmitOptions): Promise<string>;
  /** Admins only (system:warning for capacity and queue alerts). */
  abstract toAdmins(event: string, payload: object, opts?: EmitOptions): Promise<string>;
  /**
   * Logout: on every process, the user's sockets and SSE streams opened with
   * these credentials (core/session credentialTag), or all of them, are told
   * `error {code:"session_ended"}` and closed. Resolves once on its way.
   */
  abstract endSessions(userId: number, credentials: number[] | 'all'): Promise<void>;
  /**
   * The user may no longer see these rooms: on every process their sockets
   * leave them and their SSE streams stop carrying them, before any event
   * published after this call is delivered.
   */
  abstract revokeAccess(userId: number, rooms: string[]): Promise<void>;
}
