import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Namespace, Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { runInRequestContext } from '../database/request-context';
import { BadRequestError, DomainError, UnauthorizedError } from '../errors/domain-error';
import { socketActiveConnections, socketConnectionDuration } from '../metrics/metrics';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import { Authenticator } from '../session/authenticator';
import { principalCredential } from '../session/credential-tag';
import type { Principal } from '../session/principal';
import { parsePayload } from '../validation/dto-validation';
import { ClusterState } from './cluster-state';
import { AuthenticateDto, RoomSubscriptionDto } from './dto';
import { EventLog, LoggedEvent, wireId } from './event-log';
import { emitTo, RealtimeHub } from './realtime-hub';
import { userRoom } from './realtime.contract';
import { ADMINS_ROOM, BROADCAST_ROOM } from './redis-realtime.service';
import { RecentRevocations } from './recent-revocations';
import { RoomAccess } from './room-access';
import { EventRouting } from './event-routing';
import { ClientEventRunner } from './client-event-runner';
import type { Ack, EventClass } from './client-event-runner';
import { SocketAdmission, socketPrincipal } from './socket-admission';
import { SocketNamespaces } from './socket-namespaces';
import { PendingRecovery, SocketSessionStore } from './socket-sessions';
import type { AppSocket, SocketState } from './socket-state';

export type { Ack, EventClass } from './client-event-runner';
export type { AppSocket } from './socket-state';

function pidOf(socket: Socket): string | undefined {
  return (socket as unknown as { pid?: string }).pid;
}

/**
 * Everything the three namespaces share: cluster-wide limits and handshake
 * authentication (middleware, which also runs on every recovery), the
 * `authenticate` deadline, rooms with their rules, recovery replay, and the
 * wrapper every client event runs through (auth, rate limit, unit of work,
 * `{ok, ...}` acks, never a crash).
 */
@Injectable()
export class SocketConnections implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('Sockets');
  readonly sessions: SocketSessionStore;
  private touchTimer?: NodeJS.Timeout;
  /**
   * One disconnect listener shared by every socket (EventEmitter calls it with
   * the socket as `this`): a closure per socket cost a context and a `once`
   * wrapper for the socket's whole life.
   */
  private readonly disconnectListener: (this: Socket) => void;

  constructor(
    private readonly config: AppConfig,
    @Inject(REDIS) redis: RedisClient,
    private readonly admission: SocketAdmission,
    private readonly events: ClientEventRunner,
    private readonly authenticator: Authenticator,
    private readonly access: RoomAccess,
    private readonly cluster: ClusterState,
    private readonly hub: RealtimeHub,
    private readonly namespaces: SocketNamespaces,
    private readonly log: EventLog,
    private readonly revocations: RecentRevocations,
    private readonly routing: EventRouting,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const connections = this;
    this.disconnectListener = function (this: Socket) {
      connections.onDisconnect(this as AppSocket);
    };
    const refreshMs = Math.max(1000, Math.floor(config.realtime.recoveryWindowMs / 3));
    this.sessions = new SocketSessionStore(redis, config.redis.prefix, config.realtime.recoveryWindowMs + refreshMs);
  }

  /** Client events whose ack is not sent yet (ClientEventRunner); SIGTERM waits for them. */
  get inFlight(): ClientEventRunner['inFlight'] {
    return this.events.inFlight;
  }

  onModuleInit(): void {
    const refreshMs = Math.max(1000, Math.floor(this.config.realtime.recoveryWindowMs / 3));
    this.touchTimer = setInterval(() => void this.touchSessions(), refreshMs);
    this.touchTimer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.touchTimer);
  }

  /** A gateway's namespace: its events are routed here, and its handshakes go through admission. */
  attach(nsp: Namespace): void {
    this.namespaces.attach(nsp);
    nsp.use(this.admission.middleware());
  }

  async onConnection(raw: Socket): Promise<void> {
    const socket = raw as AppSocket;
    socketActiveConnections.inc({ namespace: socket.nsp.name });
    const admission = this.admission.admitted(socket);
    socket.on('disconnect', this.disconnectListener);
    const recovery = socket.data.recovery;
    if (recovery) socket.data.recovery = undefined;
    try {
      const principal = socket.data.principal;
      if (!principal) {
        socket.emit('connected', { socketId: socket.id, recovered: false });
        this.startAuthDeadline(socket);
        return;
      }
      if (recovery) {
        await this.recover(socket, principal, recovery, admission?.revocationMark);
        return;
      }
      const offset = admission?.offset ?? (await this.log.offsetForNewSocket());
      this.joinBaseRooms(socket, principal);
      if (this.endedMeanwhile(socket, principal, admission?.revocationMark)) return;
      socket.emit('connected', { socketId: socket.id, recovered: false }, String(offset));
      socket.emit('authenticated', { userId: principal.id });
      await this.saveSession(socket, true);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, socketId: socket.id }, 'connection set-up failed');
      socket.emit('error', { code: 'unavailable', message: 'Could not set up the connection' });
      socket.disconnect(true);
    }
  }

  private onDisconnect(socket: AppSocket): void {
    socketActiveConnections.dec({ namespace: socket.nsp.name });
    socketConnectionDuration.observe({ namespace: socket.nsp.name }, (Date.now() - socket.handshake.issued) / 1000);
    clearTimeout(socket.data.authTimer);
    this.admission.release(socket);
    if (socket.data.principal) this.cluster.userOffline(socket.data.principal.id);
    this.hub.endReplay(socket, Number.MAX_SAFE_INTEGER);
  }

  private startAuthDeadline(socket: AppSocket): void {
    socket.data.authTimer = setTimeout(() => {
      if (socket.data.principal || !socket.connected) return;
      socket.emit('error', { code: 'auth_timeout', message: `Not authenticated within ${this.config.realtime.authTimeoutMs} ms` });
      socket.disconnect(true);
    }, this.config.realtime.authTimeoutMs);
  }

  private joinBaseRooms(socket: AppSocket, principal: Principal): void {
    const wasAuthenticated = socket.rooms.has(BROADCAST_ROOM);
    void socket.join([userRoom(principal.id), BROADCAST_ROOM, ...(principal.role === 'admin' ? [ADMINS_ROOM] : [])]);
    if (!wasAuthenticated) this.cluster.userOnline(principal.id);
  }

  /** Re-authenticated, rooms re-checked, then what was missed in id order, then live again. All or nothing. */
  private async recover(socket: AppSocket, principal: Principal, recovery: PendingRecovery, revocationMark: number | undefined): Promise<void> {
    this.hub.beginReplay(socket);
    let lastSent = recovery.offset;
    try {
      this.joinBaseRooms(socket, principal);
      if (this.endedMeanwhile(socket, principal, revocationMark)) return;
      // Each room is joined as soon as it is checked: access lost after the check then reaches it (leaveRooms).
      socket.data.rooms = [];
      for (const room of recovery.rooms.slice(0, this.config.realtime.maxRoomsPerSocket)) {
        if (!(await runInRequestContext(() => this.access.may(principal, room), { userId: String(principal.id) }))) continue;
        socket.data.rooms = [...socket.data.rooms, room];
        void socket.join(room);
      }
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
      await this.saveSession(socket);
    } finally {
      this.hub.endReplay(socket, lastSent);
    }
  }

  /**
   * A logout heard after the credential was checked and before the socket
   * joined its user room (where AccessRevocations looks) missed it: end it here.
   */
  private endedMeanwhile(socket: AppSocket, principal: Principal, mark: number | undefined): boolean {
    if (mark === undefined || !this.revocations.endedSince(principal.id, socket.data.credential, mark)) return false;
    this.endSession(socket);
    return true;
  }

  private visibleTo(socket: AppSocket, e: LoggedEvent): boolean {
    const skip = this.routing.roomToSkip(e.eventType, e.payload);
    if (skip && socket.rooms.has(skip)) return false;
    return e.target !== 'sse' && this.routing.namespacesFor(e.eventType).includes(socket.nsp.name) && e.rooms.some((r) => socket.rooms.has(r));
  }

  /** `first`: the save right after a handshake, batched with other new sockets' (SocketSessionStore.saveSoon). */
  private async saveSession(socket: AppSocket, first = false): Promise<void> {
    const pid = pidOf(socket);
    const principal = socket.data.principal;
    if (!pid || !principal) return;
    const session = { sid: socket.id, pid, nsp: socket.nsp.name, userId: principal.id, rooms: socket.data.rooms };
    await (first ? this.sessions.saveSoon(session) : this.sessions.save(session));
  }

  private async touchSessions(): Promise<void> {
    const pids: string[] = [];
    for (const nsp of this.namespaces.all()) for (const s of nsp.sockets.values()) if (s.data && (s.data as SocketState).principal) pids.push(pidOf(s) ?? '');
    await this.sessions.touch(pids.filter(Boolean)).catch((err: Error) => this.logger.warn({ err: err.message }, 'session refresh failed'));
  }

  /** The one wrapper for client events (ClientEventRunner): auth, rate limit, unit of work, `{ok, ...}` acks. */
  handle<T extends object>(raw: Socket, event: string, cls: EventClass, fn: (user: Principal) => Promise<T>, opts: { public?: boolean } = {}): Promise<Ack<T>> {
    return this.events.handle(raw, event, cls, fn, opts);
  }

  /** `authenticate {token}`: for clients that did not authenticate in the handshake. */
  authenticate(socket: Socket, data: unknown): Promise<Ack<{ userId: number }>> {
    return this.handle(
      socket,
      'authenticate',
      'auth',
      async () => {
        const s = socket as AppSocket;
        const { token, userId } = parsePayload(AuthenticateDto, data);
        const mark = this.revocations.mark();
        const principal = await this.authenticator.fromToken(token);
        if (!principal) throw new UnauthorizedError('Invalid or expired token');
        if (userId !== undefined && Number(userId) !== principal.id) throw new UnauthorizedError('userId does not match the token');
        if (s.data.principal && s.data.principal.id !== principal.id) throw new BadRequestError('This socket is already authenticated as another user');
        s.data.principal = socketPrincipal(principal);
        s.data.credential = principalCredential(principal, undefined);
        clearTimeout(s.data.authTimer);
        this.joinBaseRooms(s, principal);
        if (this.endedMeanwhile(s, principal, mark)) throw new UnauthorizedError('Invalid or expired token');
        await this.saveSession(s);
        socket.emit('authenticated', { userId: principal.id });
        return { userId: principal.id };
      },
      { public: true },
    );
  }

  subscribe(socket: Socket, data: unknown): Promise<Ack<{ room: string }>> {
    return this.handle(socket, 'subscribe', 'rooms', async (user) => {
      const { room } = parsePayload(RoomSubscriptionDto, data);
      await this.join(socket, user, room);
      return { room };
    });
  }

  unsubscribe(socket: Socket, data: unknown): Promise<Ack<{ room: string }>> {
    return this.handle(socket, 'unsubscribe', 'rooms', async () => {
      const s = socket as AppSocket;
      const { room } = parsePayload(RoomSubscriptionDto, data);
      if (!s.data.rooms.includes(room)) throw new BadRequestError('Not subscribed to this room');
      s.data.rooms = s.data.rooms.filter((r: string) => r !== room);
      void socket.leave(room);
      await this.saveSession(s);
      return { room };
    });
  }

  /**
   * The user lost these rooms (AccessRevocations): the socket leaves them now,
   * and its stored session no longer lists them for a recovery.
   */
  leaveRooms(socket: Socket, rooms: string[]): void {
    const s = socket as AppSocket;
    const lost = rooms.filter((r) => socket.rooms.has(r) || s.data.rooms.includes(r));
    if (!lost.length) return;
    s.data.rooms = s.data.rooms.filter((r: string) => !lost.includes(r));
    for (const room of lost) void socket.leave(room);
    this.saveSession(s).catch((err: Error) => this.logger.warn({ err: err.message, socketId: socket.id }, 'session not saved after lost access'));
  }

  /** Logout reached this socket: it is told why, then disconnected (a client does not reconnect after a server disconnect). */
  endSession(socket: Socket): void {
    socket.emit('error', { code: 'session_ended', message: 'The session or token this connection used has ended' });
    socket.disconnect(true);
  }

  /** The credential the socket authenticated with (credentialTag). */
  credentialOf(socket: Socket): number | undefined {
    return (socket as AppSocket).data.credential;
  }

  /** Joins after the room rules and the per-socket room limit. */
  async join(socket: Socket, user: Principal, room: string): Promise<void> {
    const s = socket as AppSocket;
    await this.access.assert(user, room);
    if (s.data.rooms.includes(room)) return;
    if (s.data.rooms.length >= this.config.realtime.maxRoomsPerSocket) {
      throw new DomainError('room_limit', `At most ${this.config.realtime.maxRoomsPerSocket} rooms per socket`);
    }
    s.data.rooms = [...s.data.rooms, room];
    await socket.join(room);
    await this.saveSession(s);
  }
}
