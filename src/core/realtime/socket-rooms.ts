import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { runInRequestContext } from '../database/request-context';
import { BadRequestError, DomainError, ForbiddenError } from '../errors/domain-error';
import { REDIS_PER_TURN } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import type { Principal } from '../session/principal';
import { preConnectSocket } from '../patches/socket-io';
import { ClusterState } from './cluster-state';
import { userRoom } from './realtime.contract';
import { RecentRevocations } from './recent-revocations';
import { ADMINS_ROOM, BROADCAST_ROOM } from './redis-realtime.service';
import { RoomAccess } from './room-access';
import { RoomHearing } from './room-hearing';
import { SocketNamespaces } from './socket-namespaces';
import { SocketSessionStore } from './socket-sessions';
import type { AppSocket, SocketState } from './socket-state';

/** How often live sockets' sessions (and the marks of the rooms they hear: RoomHearing) get their TTL back: three times per recovery window. */
export function sessionRefreshMs(config: AppConfig): number {
  return Math.max(1000, Math.floor(config.realtime.recoveryWindowMs / 3));
}

/**
 * Sessions outlive their socket by the recovery window (plus one refresh period, so a live one never
 * lapses). Every session command goes on the one connection without auto-pipelining (REDIS_PER_TURN),
 * so they keep their order: a save after `subscribe` built an ioredis Pipeline of its own.
 */
export const socketSessionStoreProvider = {
  provide: SocketSessionStore,
  inject: [REDIS_PER_TURN, AppConfig],
  useFactory: (redis: RedisClient, config: AppConfig) => new SocketSessionStore(redis, config.redis.prefix, config.realtime.recoveryWindowMs + sessionRefreshMs(config)),
};

function pidOf(socket: Socket): string | undefined {
  return (socket as unknown as { pid?: string }).pid;
}

/**
 * The rooms a socket is in, and the stored session that lists them: the
 * base rooms of an authenticated socket (its user room, broadcast, admins),
 * the rooms it asked for after RoomAccess and the per-socket limit, the rooms
 * it lost, and their re-check on recovery. `socket.data.rooms` (what it asked
 * for) is written to Redis on every change and its TTL refreshed while the
 * socket lives, so a recovery on any process, even after this one died, finds it.
 */
@Injectable()
export class SocketRooms implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Sockets');
  private touchTimer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly access: RoomAccess,
    private readonly cluster: ClusterState,
    readonly sessions: SocketSessionStore,
    private readonly namespaces: SocketNamespaces,
    private readonly revocations: RecentRevocations,
    private readonly hearing: RoomHearing,
  ) {}

  onModuleInit(): void {
    this.touchTimer = setInterval(() => void this.touchSessions(), sessionRefreshMs(this.config));
    this.touchTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.touchTimer);
  }

  /**
   * An authenticated socket's own rooms; its first time there counts its user online (presence). A
   * socket that ended while it was being welcomed (its client gave up) joins nothing: its id would stay
   * in those rooms for good, and its user would be counted online after its disconnect was counted.
   */
  joinBase(socket: AppSocket, principal: Principal): void {
    if (!socket.connected) return;
    void socket.join([userRoom(principal.id), BROADCAST_ROOM, ...(principal.role === 'admin' ? [ADMINS_ROOM] : [])]);
    if (socket.data.online) return;
    socket.data.online = true;
    this.cluster.userOnline(principal.id);
  }

  /** The socket disconnected: its user has one socket less (presence), if this one was counted. */
  left(socket: AppSocket): void {
    if (!socket.data.online || !socket.data.principal) return;
    delete socket.data.online;
    this.cluster.userOffline(socket.data.principal.id);
  }

  /** `subscribe`, `room:join`: after the room rules and the per-socket room limit; refused, nothing changes. */
  async join(socket: Socket, user: Principal, room: string): Promise<void> {
    const s = socket as AppSocket;
    const checkedAt = this.revocations.mark();
    await this.access.assert(user, room);
    // Access lost while the check ran reached AccessRevocations before the socket was in the room: too late for it to act.
    if (this.revocations.revokedSince(user.id, room, checkedAt)) throw new ForbiddenError('You may not subscribe to this room');
    // A queue's room or job room: its jobs are announced from the answer on (QUEUE_JOB_EVENTS=heard).
    await this.hearing.hear([room]);
    await this.enter(s, user, room);
  }

  /**
   * A checked room: listed (within the per-socket limit), joined, stored in the session. A second
   * subscribe of a room whose first is still being stored shares that one's outcome: answered ok before
   * the store, it would stay acknowledged when the first is refused and rolled back (the room gone).
   */
  private enter(s: AppSocket, user: Principal, room: string): Promise<void> {
    const pending = s.data.entering?.get(room);
    if (pending) return pending;
    if (s.data.rooms.includes(room)) return Promise.resolve();
    const entering = (s.data.entering ??= new Map());
    const entry = this.enterNew(s, user, room).finally(() => {
      entering.delete(room);
      if (!entering.size && s.data.entering === entering) delete s.data.entering;
    });
    entering.set(room, entry);
    return entry;
  }

  private async enterNew(s: AppSocket, user: Principal, room: string): Promise<void> {
    if (s.data.rooms.length >= this.config.realtime.maxRoomsPerSocket) {
      throw new DomainError('room_limit', `At most ${this.config.realtime.maxRoomsPerSocket} rooms per socket`);
    }
    // concat, not [...rooms, room]: the spread leaves room for 16 more entries in every socket's list.
    s.data.rooms = s.data.rooms.concat(room);
    // An ended socket is out of every room for good (socket.io's clean-up ran): a join now would put its id
    // back into the room and leave it there, where a later socket of the same id (a recovery) would get the
    // room's events without having passed its check, and where nothing would ever remove it.
    if (!s.connected) return this.joinAfterEnd(s, user, room);
    await s.join(room);
    try {
      await this.save(s);
    } catch (err) {
      // Refused (Redis did not take the session: the ack says `unavailable`), so nothing changes: a socket
      // left in the room would get its events now but lose it at its next recovery, whose session never
      // listed it, while its client, told it is not subscribed, subscribes again.
      s.data.rooms = s.data.rooms.filter((r) => r !== room);
      void s.leave(room);
      throw err;
    }
  }

  /**
   * The socket ended while its `subscribe` was being checked (its client gave up on the connection and
   * reconnects): the client never saw the ack, and socket.io-client does not send it again, so a recovery
   * that did not carry the room would leave the client recovered and deaf to it. The room goes where the
   * recovery of this session is: the socket that recovered it here (same id), the one still in its
   * handshake (its pending recovery's rooms, checked again there), one reading the session here right now
   * (its claim takes it: SocketSessionStore.handToClaim), and the stored session a recovery still to come
   * will read. A client that recovers on another process before this save lands misses the room (no
   * ack: its subscription is unknown to it).
   */
  private async joinAfterEnd(socket: AppSocket, user: Principal, room: string): Promise<void> {
    const { recovered, recovering } = this.twinsOf(socket);
    if (recovered) {
      if (recovered.connected && recovered.data.principal?.id === user.id) await this.enter(recovered, user, room);
      return;
    }
    const pending = recovering?.data?.recovery;
    if (pending) {
      if (pending.userId === user.id && !pending.rooms.includes(room)) pending.rooms = pending.rooms.concat(room);
      return;
    }
    // A recovery here may be between reading the session and claiming it: it takes the room too. The
    // session is written all the same, for a recovery on another process.
    this.sessions.handToClaim(socket.id, room);
    await this.save(socket);
  }

  /** `unsubscribe`: only a room the socket asked for. */
  async leave(socket: Socket, room: string): Promise<void> {
    const s = socket as AppSocket;
    if (!s.data.rooms.includes(room)) throw new BadRequestError('Not subscribed to this room');
    s.data.rooms = s.data.rooms.filter((r: string) => r !== room);
    void socket.leave(room);
    await this.save(s);
  }

  /**
   * The user lost these rooms (AccessRevocations): the socket leaves them now,
   * and its stored session no longer lists them for a recovery.
   */
  leaveLost(socket: Socket, rooms: string[]): void {
    const s = socket as AppSocket;
    const lost = rooms.filter((r) => socket.rooms.has(r) || s.data.rooms.includes(r));
    if (!lost.length) return;
    s.data.rooms = s.data.rooms.filter((r: string) => !lost.includes(r));
    for (const room of lost) void socket.leave(room);
    this.save(s).catch((err: Error) => this.logger.warn({ err: err.message, socketId: socket.id }, 'session not saved after lost access'));
  }

  /**
   * Recovery: the rooms of the stored session, up to the room limit, each
   * checked again. Each is joined as soon as it passes, so access lost after
   * its check reaches it (`leaveLost`); access lost while it ran is caught
   * here. The session is not saved here: the recovery saves it once it is done.
   * A socket that ended meanwhile joins nothing more (see `enter`), but its
   * list is still completed: the session its recovery saves is what the
   * client's next recovery reads, and a room missing there would be missed silently.
   */
  async rejoin(socket: AppSocket, principal: Principal, rooms: string[]): Promise<void> {
    socket.data.rooms = [];
    for (const room of rooms.slice(0, this.config.realtime.maxRoomsPerSocket)) {
      const checkedAt = this.revocations.mark();
      if (!(await runInRequestContext(() => this.access.may(principal, room), { userId: String(principal.id) }))) continue;
      if (this.revocations.revokedSince(principal.id, room, checkedAt)) continue;
      // A subscribe during the re-check may have listed it already.
      if (!socket.data.rooms.includes(room)) socket.data.rooms = socket.data.rooms.concat(room);
      if (socket.connected) void socket.join(room);
    }
    // Before the recovery reads history: a queue room that was not heard meanwhile has its history marked
    // incomplete (the recovery then says recovered:false), and its jobs are announced from here on.
    await this.hearing.hear(socket.data.rooms);
  }

  /**
   * The recovery is done: saves the session it rebuilt (saves were held while it ran, see `save`). A
   * recovery whose socket ended still saves it (its client recovers from it next), unless another socket
   * of the same id is on this process now, in the namespace or still in its handshake: that one
   * recovered the session and keeps it current.
   */
  async saveRecovered(socket: AppSocket): Promise<void> {
    delete socket.data.recovering;
    if (!socket.connected) {
      const { recovered, recovering } = this.twinsOf(socket);
      if (recovered || recovering) return;
    }
    await this.save(socket);
  }

  /**
   * The other sockets of this socket's id on this process (a recovery takes the id of the session it
   * recovers): the one in the namespace, and the one still in its handshake (core/patches/socket-io.ts).
   */
  private twinsOf(socket: AppSocket): { recovered?: AppSocket; recovering?: AppSocket } {
    const inNamespace = socket.nsp.sockets.get(socket.id) as AppSocket | undefined;
    return {
      recovered: inNamespace !== socket ? inNamespace : undefined,
      recovering: preConnectSocket(socket.nsp, socket.id) as AppSocket | undefined,
    };
  }

  /**
   * Writes the socket's session (what a recovery needs). `first`: the save right
   * after a handshake, batched with other new sockets' (SocketSessionStore.saveSoon).
   * Nothing while the socket's own recovery runs (`recovering`): its list is being
   * rebuilt (rejoin), a save could store part of it, and a recovery elsewhere
   * would trust that; the recovery saves the whole list once (`saveRecovered`).
   */
  async save(socket: AppSocket, first = false): Promise<void> {
    const pid = pidOf(socket);
    const principal = socket.data.principal;
    if (!pid || !principal || socket.data.recovering) return;
    const session = { sid: socket.id, pid, nsp: socket.nsp.name, userId: principal.id, rooms: socket.data.rooms };
    await (first ? this.sessions.saveSoon(session) : this.sessions.save(session));
  }

  private async touchSessions(): Promise<void> {
    const pids: string[] = [];
    for (const nsp of this.namespaces.all()) {
      nsp.sockets.forEach((s) => {
        if (s.data && (s.data as SocketState).principal) pids.push(pidOf(s) ?? '');
      });
    }
    await this.sessions.touch(pids.filter(Boolean)).catch((err: Error) => this.logger.warn({ err: err.message }, 'session refresh failed'));
  }
}
