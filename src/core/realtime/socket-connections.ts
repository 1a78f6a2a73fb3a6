import { Injectable, Logger } from '@nestjs/common';
import type { Namespace, Socket } from 'socket.io';
import { socketActiveConnections, socketConnectionDuration } from '../metrics/metrics';
import type { Principal } from '../session/principal';
import { parsePayload } from '../validation/dto-validation';
import { ClientEventRunner } from './client-event-runner';
import type { Ack, EventClass } from './client-event-runner';
import { RoomSubscriptionDto } from './dto';
import { SocketAdmission } from './socket-admission';
import { SocketAuthentication } from './socket-authentication';
import { SocketNamespaces } from './socket-namespaces';
import { SocketRecovery } from './socket-recovery';
import { SocketRooms } from './socket-rooms';
import type { SocketSessionStore } from './socket-sessions';
import type { AppSocket } from './socket-state';

export type { Ack, EventClass } from './client-event-runner';
export type { AppSocket } from './socket-state';

/**
 * What the namespace gateways talk to: a socket's life from connect to
 * disconnect, composed of parts with one job each, and the events every
 * namespace shares. Admission and handshake auth (SocketAdmission), who the
 * socket is and the `authenticate` deadline (SocketAuthentication), recovery
 * replay (SocketRecovery), rooms and the stored session (SocketRooms), the
 * wrapper every client event runs through (ClientEventRunner).
 */
@Injectable()
export class SocketConnections {
  private readonly logger = new Logger('Sockets');
  /**
   * One disconnect listener shared by every socket (EventEmitter calls it with
   * the socket as `this`): a closure per socket cost a context and a `once`
   * wrapper for the socket's whole life.
   */
  private readonly disconnectListener: (this: Socket) => void;

  constructor(
    private readonly admission: SocketAdmission,
    private readonly namespaces: SocketNamespaces,
    private readonly events: ClientEventRunner,
    private readonly authentication: SocketAuthentication,
    private readonly recovery: SocketRecovery,
    private readonly rooms: SocketRooms,
  ) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const connections = this;
    this.disconnectListener = function (this: Socket) {
      connections.onDisconnect(this as AppSocket);
    };
  }

  /** Where sessions are kept for recovery (the recovery adapter reads them). */
  get sessions(): SocketSessionStore {
    return this.rooms.sessions;
  }

  /** Client events whose ack is not sent yet (ClientEventRunner); SIGTERM waits for them. */
  get inFlight(): ClientEventRunner['inFlight'] {
    return this.events.inFlight;
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
      if (!principal) this.authentication.awaitToken(socket);
      else if (recovery) await this.recovery.recover(socket, principal, recovery, admission?.revocationMark);
      else await this.authentication.welcome(socket, principal, admission?.offset, admission?.revocationMark);
    } catch (err) {
      this.logger.warn({ err: (err as Error).message, socketId: socket.id }, 'connection set-up failed');
      socket.emit('error', { code: 'unavailable', message: 'Could not set up the connection' });
      // The transport is closed, not the socket: "io server disconnect" keeps socket.io-client away for
      // good, while a closed transport makes it reconnect with its backoff and recover. What fails here is
      // Redis or the database for a moment (a failover), not the client: the SENTINEL FAILOVER drill lost
      // 57-74 of 1,000 sockets for good this way (drills/RESULTS.md).
      socket.conn.close();
    }
  }

  private onDisconnect(socket: AppSocket): void {
    socketActiveConnections.dec({ namespace: socket.nsp.name });
    socketConnectionDuration.observe({ namespace: socket.nsp.name }, (Date.now() - socket.handshake.issued) / 1000);
    this.authentication.disconnected(socket);
    this.admission.release(socket);
    this.rooms.left(socket);
    this.recovery.forget(socket);
  }

  /** The one wrapper for client events (ClientEventRunner): auth, rate limit, unit of work, `{ok, ...}` acks. */
  handle<T extends object>(raw: Socket, event: string, cls: EventClass, fn: (user: Principal) => Promise<T>, opts: { public?: boolean } = {}): Promise<Ack<T>> {
    return this.events.handle(raw, event, cls, fn, opts);
  }

  /** `authenticate {token}`: for clients that did not authenticate in the handshake. */
  authenticate(socket: Socket, data: unknown): Promise<Ack<{ userId: number }>> {
    return this.handle(socket, 'authenticate', 'auth', () => this.authentication.authenticate(socket as AppSocket, data), { public: true });
  }

  subscribe(socket: Socket, data: unknown): Promise<Ack<{ room: string }>> {
    return this.handle(socket, 'subscribe', 'rooms', async (user) => {
      const { room } = parsePayload(RoomSubscriptionDto, data);
      await this.rooms.join(socket, user, room);
      return { room };
    });
  }

  unsubscribe(socket: Socket, data: unknown): Promise<Ack<{ room: string }>> {
    return this.handle(socket, 'unsubscribe', 'rooms', async () => {
      const { room } = parsePayload(RoomSubscriptionDto, data);
      await this.rooms.leave(socket, room);
      return { room };
    });
  }

  /** A feature's own join event (`room:join`): after the room rules and the per-socket room limit. */
  join(socket: Socket, user: Principal, room: string): Promise<void> {
    return this.rooms.join(socket, user, room);
  }
}
