import { Injectable } from '@nestjs/common';
import { ACCESS_REVOKED, AccessRevokedControl, SESSION_ENDED, SessionEndedControl } from './control-events';
import { EventLog, LoggedEvent } from './event-log';
import { EmitOptions, projectRoom, RealtimeService, userRoom } from './realtime.contract';

/** Every authenticated client joins these (sockets and SSE alike). */
export const BROADCAST_ROOM = 'all';
export const ADMINS_ROOM = 'admins';

/**
 * The RealtimeService of every process, the worker included: it needs Redis
 * only. The event gets its id and lands in each room's history, then the
 * api processes (subscribed to the channel) deliver it to their sockets and
 * SSE streams. No Socket.IO server is involved in sending.
 */
@Injectable()
export class RedisRealtimeService extends RealtimeService {
  constructor(private readonly log: EventLog) {
    super();
  }

  publish(rooms: string[], event: string, payload: object, opts?: EmitOptions): Promise<LoggedEvent> {
    // Not async (queue:work publishes two events per job): a throw (a payload JSON cannot encode) still rejects.
    try {
      return this.log.append(rooms, event, { ...(payload as Record<string, unknown>) }, opts?.target ?? 'all');
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  toRoom(room: string, event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.publish([room], event, payload, opts).then(this.publishedId);
  }

  /** Not async either: one `then` instead of an async function's promise, frame and await per event. */
  toRooms(rooms: string[], event: string, payload: object, opts?: EmitOptions): Promise<string> {
    // The log keeps each room once.
    return this.publish(rooms, event, payload, opts).then(this.publishedId);
  }

  private readonly publishedId = (event: LoggedEvent): string => this.log.publishedId(event);

  toUser(userId: number | string, event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.toRoom(userRoom(userId), event, payload, opts);
  }

  toProject(projectId: number | string, event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.toRoom(projectRoom(projectId), event, payload, opts);
  }

  broadcast(event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.toRoom(BROADCAST_ROOM, event, payload, opts);
  }

  toAdmins(event: string, payload: object, opts?: EmitOptions): Promise<string> {
    return this.toRoom(ADMINS_ROOM, event, payload, opts);
  }

  async endSessions(userId: number, credentials: number[] | 'all'): Promise<void> {
    if (Array.isArray(credentials) && !credentials.length) return;
    const control: SessionEndedControl = { userId, credentials };
    await this.log.append([], SESSION_ENDED, { ...control }, 'all');
  }

  async revokeAccess(userId: number, rooms: string[]): Promise<void> {
    if (!rooms.length) return;
    const control: AccessRevokedControl = { userId, rooms: [...new Set(rooms)] };
    await this.log.append([], ACCESS_REVOKED, { ...control }, 'all');
  }
}
