import { Inject, Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import type { Request } from 'express';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { DefaultEventsMap, Namespace, Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { StickyWindow } from '../database/sticky-window';
import { currentRequestContext, runInRequestContext } from '../database/request-context';
import { BadRequestError, DomainError, ErrorCode, RateLimitedError, UnauthorizedError } from '../errors/domain-error';
import { assertSameSiteHandshake } from '../http/cross-site';
import { socketActiveConnections, socketConnectionDuration, socketMessagesTotal } from '../metrics/metrics';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import { Authenticator } from '../session/authenticator';
import { principalCredential } from '../session/credential-tag';
import type { Principal } from '../session/principal';
import { SESSION_COOKIE } from '../session/session.middleware';
import { parsePayload } from '../validation/dto-validation';
import { ClusterState } from './cluster-state';
import { AuthenticateDto, RoomSubscriptionDto } from './dto';
import { connectionAddress } from './connection-address';
import { EventLog, LoggedEvent } from './event-log';
import { emitTo, RealtimeHub } from './realtime-hub';
import { userRoom } from './realtime.contract';
import { ADMINS_ROOM, BROADCAST_ROOM, RedisRealtimeService } from './redis-realtime.service';
import { RecentRevocations, RevocationMarked } from './recent-revocations';
import { RoomAccess } from './room-access';
import { namespacesFor, senderRoomToSkip } from './room-name';
import type { SlotHolderKind } from './slot-ledger';
import { InFlightEvents } from './in-flight-events';
import { PendingRecovery, SocketSessionStore } from './socket-sessions';

export type Ack<T extends object = object> = ({ ok: true } & T) | { ok: false; error: ErrorCode; message: string; retryAfterMs?: number };

/** Per-user limits apply to each class separately (SPEC §3 RATE_LIMIT_*). */
export type EventClass = 'auth' | 'rooms' | 'message' | 'typing';

interface SocketState {
  principal?: Principal;
  /** The token or session it authenticated with (credentialTag): logout ends exactly these sockets. */
  credential?: number;
  ip: string;
  rooms: string[];
  authTimer?: NodeJS.Timeout;
  recovery?: PendingRecovery;
}

/** A socket between its cluster slot and its connection handler. */
interface Admission {
  /** Releases the slot when the client leaves before the socket connects. */
  gone: () => void;
  /** The recovery offset, read during the handshake (before any room is joined). */
  offset?: number;
  /** RecentRevocations.mark() from before the credential was checked: a logout heard since then ends the socket. */
  revocationMark: number;
}

/** socket.io types `data` per socket as its fourth type parameter (any by default). */
export type AppSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketState>;

/**
 * What a socket keeps of its principal for its life: who and which role. The
 * token's id and expiry serve HTTP logout only, and the uuid string cost
 * about 0.1 KB per socket.
 */
function socketPrincipal(p: Principal): Principal {
  return { id: p.id, role: p.role, via: p.via };
}

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
  private readonly limiters = new Map<EventClass, RateLimiterRedis>();
  readonly sessions: SocketSessionStore;
  /** Client events whose ack is not sent yet; the server waits for them before closing sockets on SIGTERM. */
  readonly inFlight = new InFlightEvents();
  private touchTimer?: NodeJS.Timeout;
  /** Sockets past the cluster limits that have not connected yet (kept out of socket.data, which stays small). */
  private readonly admitting = new Map<AppSocket, Admission>();
  /**
   * One disconnect listener shared by every socket (EventEmitter calls it with
   * the socket as `this`): a closure per socket cost a context and a `once`
   * wrapper for the socket's whole life.
   */
  private readonly disconnectListener: (this: Socket) => void;
  /**
   * A socket holds its slot while its engine connection is open and it is either connected to
   * its namespace or still being admitted; anything else is a close that was missed.
   */
  private readonly slotKind: SlotHolderKind<AppSocket> = {
    transport: 'websocket',
    isOpen: (socket) => socket.conn.readyState !== 'closed' && (socket.connected || this.admitting.has(socket)),
    forget: (socket) => void this.admitted(socket),
  };

  constructor(
    private readonly config: AppConfig,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly authenticator: Authenticator,
    private readonly access: RoomAccess,
    private readonly cluster: ClusterState,
    private readonly hub: RealtimeHub,
    private readonly log: EventLog,
    private readonly sticky: StickyWindow,
    private readonly realtime: RedisRealtimeService,
    private readonly revocations: RecentRevocations,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const connections = this;
    this.disconnectListener = function (this: Socket) {
      connections.onDisconnect(this as AppSocket);
    };
    const refreshMs = Math.max(1000, Math.floor(config.realtime.recoveryWindowMs / 3));
    this.sessions = new SocketSessionStore(redis, config.redis.prefix, config.realtime.recoveryWindowMs + refreshMs);
    for (const cls of ['auth', 'rooms', 'message', 'typing'] as EventClass[]) {
      this.limiters.set(
        cls,
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${config.redis.prefix}rl:ws:${cls}`,
          points: config.realtime.rateLimitPoints,
          duration: config.realtime.rateLimitDurationS,
        }),
      );
    }
  }

  onModuleInit(): void {
    const refreshMs = Math.max(1000, Math.floor(this.config.realtime.recoveryWindowMs / 3));
    this.touchTimer = setInterval(() => void this.touchSessions(), refreshMs);
    this.touchTimer.unref();
    this.cluster.setStatsProvider(() => this.localStats());
    const warn = (payload: object) =>
      void this.realtime.toAdmins('system:warning', payload).catch((err: Error) => this.logger.warn({ err: err.message }, 'system:warning not sent'));
    this.cluster.onCapacity = (level, ratio, total) =>
      warn({ code: 'capacity', level, ratio, connections: total, limit: this.config.realtime.maxConnections, instance: this.config.instanceId });
    this.hub.onShed = (count) => warn({ code: 'shedding', shed: count, instance: this.config.instanceId });
  }

  onModuleDestroy(): void {
    clearInterval(this.touchTimer);
  }

  /** Installed on each namespace: limits, then handshake auth. Runs for recovered sockets too. */
  middleware(): (socket: Socket, next: (err?: Error) => void) => void {
    return (raw, next) => {
      this.admit(raw as AppSocket).then(
        () => next(),
        (err: unknown) => {
          const code = err instanceof DomainError ? err.code : 'unavailable';
          const message = err instanceof DomainError ? err.message : 'Service temporarily unavailable';
          next(Object.assign(new Error(code), { data: { code, message } }));
        },
      );
    };
  }

  /**
   * Per-socket listeners are made in small methods of their own: a closure
   * made inside the middleware kept its whole scope chain (Socket.IO's
   * middleware runner included) alive for the socket's life.
   */
  private async admit(socket: AppSocket): Promise<void> {
    const ip = connectionAddress(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], this.config.http.trustedProxies);
    socket.data.ip = ip;
    socket.data.rooms = [];
    // A handshake token is checked here (signature, expiry) and its revocation key is read in the
    // same Redis call that takes the connection slot, with the recovery offset: one round trip per
    // connection instead of three, and each command left about 2 KB of garbage (bench/RESULTS.md).
    // The engine handshake's mark when it loaded a session (realtime-io.adapter), else now, before the token is read.
    const revocationMark = (socket.request as RevocationMarked).revocationMark ?? this.revocations.mark();
    const token = this.takeHandshakeToken(socket);
    if (token === undefined && socket.handshake.headers.cookie?.includes(`${SESSION_COOKIE}=`)) {
      assertSameSiteHandshake(socket.handshake.headers, this.config.http.corsOrigins);
    }
    const checked = token === undefined ? undefined : this.authenticator.checkToken(token);
    const offsetToo = !!checked && !socket.data.recovery;
    const read = checked ? (offsetToo ? [checked.revocationKey, this.log.seqKey] : [checked.revocationKey]) : [];
    const [revoked, seq] = await this.cluster.acquire(ip, this.slotKind, socket, read);
    if (!this.holdSlot(socket, offsetToo ? Number(seq ?? 0) : undefined, revocationMark)) return;
    const principal =
      checked === undefined ? await this.authenticator.fromRequest(socket.request as Request).catch(() => null) : checked && revoked === null ? checked.principal : null;
    if (principal) {
      socket.data.principal = socketPrincipal(principal);
      socket.data.credential = principalCredential(principal, (socket.request as Request).sessionID);
    }
    const recovery = socket.data.recovery;
    if (recovery && recovery.userId !== principal?.id) socket.data.recovery = undefined;
  }

  /**
   * The socket holds a cluster slot until released, once. Until it connects,
   * the connection closing releases it (socket.io drops a socket whose client
   * left during the middleware without any event); afterwards, disconnect does.
   * A connection that closed while the slot was being taken has already emitted
   * its 'close': the slot goes back at once.
   */
  private holdSlot(socket: AppSocket, offset: number | undefined, revocationMark: number): boolean {
    if (socket.conn.readyState === 'closed') {
      this.cluster.release(socket);
      return false;
    }
    const gone = () => this.releaseSlot(socket);
    this.admitting.set(socket, { gone, offset, revocationMark });
    socket.conn.once('close', gone);
    return true;
  }

  /** The socket connected (or its client left): the admission's listener goes, what it read is handed back. */
  private admitted(socket: AppSocket): Admission | undefined {
    const admission = this.admitting.get(socket);
    if (!admission) return undefined;
    this.admitting.delete(socket);
    socket.conn.off('close', admission.gone);
    return admission;
  }

  private releaseSlot(socket: AppSocket): void {
    this.admitted(socket);
    this.cluster.release(socket);
  }

  attach(nsp: Namespace): void {
    this.hub.attach(nsp);
    nsp.use(this.middleware());
  }

  async onConnection(raw: Socket): Promise<void> {
    const socket = raw as AppSocket;
    socketActiveConnections.inc({ namespace: socket.nsp.name });
    const admission = this.admitted(socket);
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
    this.releaseSlot(socket);
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

  /** The handshake token, removed from the handshake: checked once, not kept in memory for the socket's life. */
  private takeHandshakeToken(socket: AppSocket): string | undefined {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    if (typeof auth?.token !== 'string' || !auth.token) return undefined;
    const token = auth.token;
    delete auth.token;
    return token;
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
        lastSent = await this.log.currentId();
        socket.emit('connected', { socketId: socket.id, recovered: false }, String(lastSent));
      } else {
        socket.emit('connected', { socketId: socket.id, recovered: true }, String(recovery.offset));
        for (const e of history.events) {
          if (this.visibleTo(socket, e)) emitTo(socket, e);
          lastSent = e.id;
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
    const skip = senderRoomToSkip(e.eventType, e.payload);
    if (skip && socket.rooms.has(skip)) return false;
    return e.target !== 'sse' && namespacesFor(e.eventType).includes(socket.nsp.name as never) && e.rooms.some((r) => socket.rooms.has(r));
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
    for (const nsp of this.hub.allNamespaces()) for (const s of nsp.sockets.values()) if (s.data && (s.data as SocketState).principal) pids.push(pidOf(s) ?? '');
    await this.sessions.touch(pids.filter(Boolean)).catch((err: Error) => this.logger.warn({ err: err.message }, 'session refresh failed'));
  }

  /**
   * The one wrapper for client events: metrics, authentication, per-user rate
   * limit of the event class, a unit of work for sticky reads, and an ack that
   * is always `{ok:true,...}` or `{ok:false,error,message}`.
   */
  handle<T extends object>(raw: Socket, event: string, cls: EventClass, fn: (user: Principal) => Promise<T>, opts: { public?: boolean } = {}): Promise<Ack<T>> {
    return this.inFlight.track(this.handleNow(raw, event, cls, fn, opts));
  }

  private async handleNow<T extends object>(raw: Socket, event: string, cls: EventClass, fn: (user: Principal) => Promise<T>, opts: { public?: boolean }): Promise<Ack<T>> {
    const socket = raw as AppSocket;
    socketMessagesTotal.inc({ namespace: socket.nsp.name, event, direction: 'in' });
    try {
      const user = socket.data.principal;
      if (!user && !opts.public) throw new UnauthorizedError('Authenticate first');
      await this.consume(cls, user ? `u${user.id}` : `ip${socket.data.ip}`);
      const result = await runInRequestContext(
        async () => {
          const unit = currentRequestContext();
          if (unit && user) unit.userWithinWindow = await this.sticky.isWithin(String(user.id));
          return fn(user as Principal);
        },
        { userId: user ? String(user.id) : undefined },
      );
      return { ok: true, ...result };
    } catch (err) {
      return this.toAck(err, socket, event);
    }
  }

  private toAck(err: unknown, socket: Socket, event: string): Ack<never> {
    if (err instanceof RateLimitedError) return { ok: false, error: 'rate_limited', message: err.message, retryAfterMs: err.retryAfterMs };
    if (err instanceof DomainError) return { ok: false, error: err.code, message: err.message };
    this.logger.error({ err, event, socketId: socket.id }, 'socket event failed');
    return { ok: false, error: 'internal', message: 'Internal error' };
  }

  private async consume(cls: EventClass, key: string): Promise<void> {
    try {
      await (this.limiters.get(cls) as RateLimiterRedis).consume(key);
    } catch (err) {
      if (err instanceof RateLimiterRes) throw new RateLimitedError(err.msBeforeNext);
      throw err;
    }
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

  private localStats(): ReturnType<Parameters<ClusterState['setStatsProvider']>[0]> {
    const namespaces: Record<string, { connections: number; authenticated: number }> = {};
    const rooms: Record<string, number> = {};
    for (const nsp of this.hub.allNamespaces()) {
      let authenticated = 0;
      for (const s of nsp.sockets.values()) if ((s.data as SocketState | undefined)?.principal) authenticated++;
      namespaces[nsp.name] = { connections: nsp.sockets.size, authenticated };
      for (const [room, members] of nsp.adapter.rooms) {
        if (nsp.sockets.has(room)) continue; // a socket's own id room
        rooms[`${nsp.name}#${room}`] = members.size;
      }
    }
    for (const [room, size] of this.hub.sseRoomSizes()) rooms[`sse#${room}`] = size;
    return { namespaces, sse: { clients: this.hub.sseClients, authenticated: this.hub.sseClients }, rooms };
  }
}
