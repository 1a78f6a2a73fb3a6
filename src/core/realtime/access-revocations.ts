import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { ACCESS_REVOKED, AccessRevokedControl, SESSION_ENDED, SessionEndedControl } from './control-events';
import { RealtimeHub } from './realtime-hub';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';
import { userRoom } from './realtime.contract';
import { RecentRevocations } from './recent-revocations';
import { SocketLogout } from './socket-logout';
import { SocketRooms } from './socket-rooms';

function isUserId(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0;
}

/**
 * What a logout or a lost membership does to live connections, on every api
 * process: the control events (control-events.ts) arrive on the realtime
 * channel in id order with the events, and this acts on the local sockets
 * and SSE streams of that user (found through the user's own room, which
 * every authenticated connection is in). Acting as the control event is
 * delivered, before any later event, is what makes "nothing after the
 * removal reaches them" hold.
 */
@Injectable()
export class AccessRevocations implements OnModuleInit {
  private readonly logger = new Logger(AccessRevocations.name);

  constructor(
    private readonly hub: RealtimeHub,
    private readonly namespaces: SocketNamespaces,
    private readonly sse: SseRegistry,
    private readonly logout: SocketLogout,
    private readonly rooms: SocketRooms,
    private readonly recent: RecentRevocations,
  ) {}

  onModuleInit(): void {
    this.hub.onControl(SESSION_ENDED, (payload) => this.sessionEnded(payload));
    this.hub.onControl(ACCESS_REVOKED, (payload) => this.accessRevoked(payload));
  }

  private sessionEnded({ userId, credentials }: Partial<SessionEndedControl>): void {
    if (!isUserId(userId) || (credentials !== 'all' && !Array.isArray(credentials))) return;
    const ends = (tag: number | undefined) => credentials === 'all' || (tag !== undefined && credentials.includes(tag));
    this.recent.recordEnded(userId, credentials);
    let sockets = 0;
    for (const socket of this.socketsOf(userId)) {
      if (!ends(this.logout.credentialOf(socket))) continue;
      this.logout.end(socket);
      sockets++;
    }
    let streams = 0;
    for (const listener of this.sse.listenersOf(userRoom(userId))) {
      if (listener.userId !== userId || !ends(listener.credential)) continue;
      listener.close?.();
      streams++;
    }
    if (sockets || streams) this.logger.log({ userId, sockets, streams }, 'session ended: connections closed');
  }

  private accessRevoked({ userId, rooms }: Partial<AccessRevokedControl>): void {
    if (!isUserId(userId) || !Array.isArray(rooms)) return;
    const lost = rooms.filter((r): r is string => typeof r === 'string');
    for (const room of lost) this.recent.record(userId, room);
    for (const socket of this.socketsOf(userId)) this.rooms.leaveLost(socket, lost);
    for (const listener of this.sse.listenersOf(userRoom(userId))) if (listener.userId === userId) this.sse.dropRooms(listener, lost);
  }

  /** The user's authenticated sockets on this process, in every namespace. */
  private *socketsOf(userId: number): Generator<Socket> {
    const room = userRoom(userId);
    for (const nsp of this.namespaces.all()) {
      const ids = nsp.adapter.rooms.get(room);
      if (!ids) continue;
      for (const id of [...ids]) {
        const socket = nsp.sockets.get(id);
        if (socket) yield socket;
      }
    }
  }
}
