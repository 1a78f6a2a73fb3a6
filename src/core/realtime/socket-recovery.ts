import { Injectable } from '@nestjs/common';
import type { Principal } from '../session/principal';
import { EventLog, LoggedEvent, wireId } from './event-log';
import { EventRouting } from './event-routing';
import { emitTo, RealtimeHub } from './realtime-hub';
import { SocketLogout } from './socket-logout';
import { SocketRooms } from './socket-rooms';
import type { PendingRecovery } from './socket-sessions';
import type { AppSocket } from './socket-state';

/**
 * A reconnect that the recovery adapter accepted (its stored session exists
 * and history covered it then), after the middleware authenticated the socket
 * again: its rooms are re-checked, then what it missed is sent in id order,
 * then it is live again. All or nothing: a gap found now says
 * `recovered: false` and replays nothing. Live events for the socket are held
 * (RealtimeHub.beginReplay) until the replay is done, so each arrives once.
 */
@Injectable()
export class SocketRecovery {
  constructor(
    private readonly hub: RealtimeHub,
    private readonly log: EventLog,
    private readonly routing: EventRouting,
    private readonly rooms: SocketRooms,
    private readonly logout: SocketLogout,
  ) {}

  async recover(socket: AppSocket, principal: Principal, recovery: PendingRecovery, revocationMark: number | undefined): Promise<void> {
    this.hub.beginReplay(socket);
    socket.data.recovering = true; // the session is saved once, at the end (SocketRooms.save)
    let lastSent = recovery.offset;
    try {
      this.rooms.joinBase(socket, principal);
      if (this.logout.endIfEndedSince(socket, principal, revocationMark)) return;
      await this.rooms.rejoin(socket, principal, recovery.rooms);
      const history = await this.log.readAfter([...socket.rooms], recovery.offset);
      if (history.gap) {
        lastSent = this.log.format(await this.log.currentPosition());
        socket.emit('connected', { socketId: socket.id, recovered: false }, lastSent);
      } else {
        socket.emit('connected', { socketId: socket.id, recovered: true }, recovery.offset);
        for (const e of history.events) {
          if (this.visibleTo(socket, e)) emitTo(socket, e);
          lastSent = wireId(e);
        }
      }
      socket.emit('authenticated', { userId: principal.id });
      await this.rooms.saveRecovered(socket);
    } finally {
      delete socket.data.recovering;
      this.hub.endReplay(socket, lastSent);
    }
  }

  /** The socket disconnected: nothing stays held for it if it was in the middle of a replay. */
  forget(socket: AppSocket): void {
    this.hub.endReplay(socket, Number.MAX_SAFE_INTEGER);
  }

  /** What live delivery would have sent this socket: its namespace, one of its rooms, not SSE-only, not skipped. */
  private visibleTo(socket: AppSocket, e: LoggedEvent): boolean {
    const skip = this.routing.roomToSkip(e.eventType, e.payload);
    if (skip && socket.rooms.has(skip)) return false;
    return e.target !== 'sse' && this.routing.namespacesFor(e.eventType).includes(socket.nsp.name) && e.rooms.some((r) => socket.rooms.has(r));
  }
}
