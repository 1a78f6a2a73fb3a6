import type { INestApplication } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { isObservable } from 'rxjs';
import type { EventEmitter } from 'node:events';
import type { Server as HttpServer, IncomingMessage, ServerResponse } from 'node:http';
import type { Namespace, Server, ServerOptions } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { MaintenanceMode } from '../maintenance/maintenance-mode';
import { REDIS } from '../redis/redis.module';
import { BatchedReads } from '../redis/batched-reads';
import type { RedisClient } from '../redis/redis.factory';
import { SESSION_COOKIE, sessionMiddleware } from '../session/session.middleware';
import { RecentRevocations, RevocationMarked } from './recent-revocations';
import { checkWebsocketTransport, checkWsSender, sendPreEncodedFramesUnderThreshold } from '../patches/engine-io';
import { checkSubscribeMessages, SharedHandlerBinder, shareGatewayHandlers } from '../patches/nest-websockets';
import { reportPatch } from '../patches/patch-check';
import { checkPreConnectSockets } from '../patches/socket-io';
import { checkDeflateAccept, compactDeflate, shareNegotiatedDeflateParams } from '../patches/ws';
import { EventLog } from './event-log';
import { recoveryAdapter } from './recovery-adapter';
import { RedisReachability } from './redis-reachability';
import { refuseHandshakesWhile } from './refuse-handshake';
import { HandshakeAdmission } from './handshake-admission';
import { ShutdownState } from '../health/shutdown-state';
import { SocketConnections } from './socket-connections';
import { guardClientEvents, refusedOutOfBounds } from './client-event-guard';
import { guardUpgradeSockets } from './upgrade-socket-errors';
import { SocketNamespaces } from './socket-namespaces';
import { spreadCloses } from './close-spread';

/** The longest a stopping process spends sending its sockets away (close-spread.ts). */
const SHUTDOWN_SPREAD_MS = 5000;

const SESSION_COOKIE_PREFIX = `${SESSION_COOKIE}=`;

/** Only a handshake that carries our session cookie needs the session loaded (tokens come in the CONNECT packet). */
function hasSessionCookie(req: IncomingMessage): boolean {
  const cookie = req.headers.cookie;
  return typeof cookie === 'string' && cookie.includes(SESSION_COOKIE_PREFIX);
}

/** The socket type of the Socket.IO copy @nestjs/platform-socket.io compiles against. */
type NestSocket = Parameters<IoAdapter['bindMessageHandlers']>[0];
type NestServer = Parameters<IoAdapter['close']>[0];

type EngineRes = ServerResponse & { status?: (code: number) => EngineRes; json?: (body: unknown) => void };

/**
 * The api's Socket.IO server: options from config (SPEC §3), connection state
 * recovery through Redis (recoveryAdapter, middlewares never skipped), and
 * the express session loaded on the handshake request so the session cookie
 * authenticates sockets exactly as it does HTTP.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private readonly config: AppConfig;
  private readonly logger = new Logger('RealtimeIoAdapter');
  /** The shutdown's one spread of closes, shared by every gateway's close. */
  private sendingSocketsAway?: Promise<void>;

  constructor(private readonly app: INestApplication) {
    super(app);
    this.config = app.get(AppConfig);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const rt = this.config.realtime;
    const connections = this.app.get(SocketConnections);
    if (this.httpServer) guardUpgradeSockets(this.httpServer as HttpServer);
    const server = super.createIOServer(port, {
      ...options,
      cors: { origin: this.config.http.corsOrigins, credentials: true },
      maxHttpBufferSize: rt.maxBufferBytes,
      // 0 turns per-message deflate off. While it is negotiated engine.io would not send one
      // pre-encoded frame to every socket of a room, which cost about 2x CPU per delivery even for
      // frames under the threshold: sendPreEncodedFramesUnderThreshold restores that (bench/RESULTS.md).
      perMessageDeflate: rt.compressionThresholdBytes > 0 ? compactDeflate(rt.compressionThresholdBytes, rt.maxBufferBytes) : false,
      httpCompression: { threshold: rt.compressionThresholdBytes },
      pingInterval: rt.pingIntervalMs,
      pingTimeout: rt.pingTimeoutMs,
      connectTimeout: rt.connectTimeoutMs,
      connectionStateRecovery: { maxDisconnectionDuration: rt.recoveryWindowMs, skipMiddlewares: false },
      adapter: recoveryAdapter(this.app.get(EventLog), connections.sessions) as never,
    }) as Server;
    // Required (core/patches/socket-io.ts): the recovery adapter reads it to keep a recovered socket out of a twin's clean-up.
    reportPatch(checkPreConnectSockets(server.of('/')), 'required');
    if (rt.compressionThresholdBytes > 0) {
      // Optional patches (core/patches): a shape that changed leaves the library's own path, with a warning and library_patch_active 0.
      if (reportPatch(checkWebsocketTransport(), 'optional').ok && reportPatch(checkWsSender(), 'optional').ok) sendPreEncodedFramesUnderThreshold();
      if (reportPatch(checkDeflateAccept(), 'optional').ok) shareNegotiatedDeflateParams();
    }
    // Before any gateway's own middleware: 'new_namespace' fires inside server.of(), ahead of afterInit.
    const maintenance = this.app.get(MaintenanceMode).socketGate();
    server.use(maintenance);
    server.on('new_namespace', (nsp: Namespace) => nsp.use(maintenance));
    const session = sessionMiddleware(this.config, this.app.get<RedisClient>(REDIS), this.app.get(BatchedReads));
    const revocations = this.app.get(RecentRevocations);
    // A client handed to a draining process would be dropped again seconds later (the rolling-deploy
    // drill counted 3.5 reconnects per client over six restarts): send it to another process now.
    const shutdown = this.app.get(ShutdownState);
    server.engine.use(refuseHandshakesWhile(() => shutdown.isShuttingDown, 'This process is shutting down'));
    server.engine.use(this.app.get(RedisReachability).engineMiddleware());
    // Reconnect storms: a bounded number of connections admitted at once, the rest told to retry.
    const admission = new HandshakeAdmission(rt.maxPendingHandshakes);
    server.engine.use(admission.middleware());
    server.engine.on('connection', (conn: EventEmitter) => admission.track(conn));
    server.engine.use((req: IncomingMessage & RevocationMarked & { _query?: { sid?: string } }, res: EngineRes, next: (err?: unknown) => void) => {
      if (req._query?.sid !== undefined) return next(); // only the handshake carries the cookie we need
      // Without our cookie there is no session to load; loading one anyway kept express-session's
      // per-request closures alive with the socket (bench/RESULTS.md, about 5 KB per socket).
      if (!hasSessionCookie(req)) return next();
      // A logout heard after this point (the session was loaded before it was destroyed) ends the socket once it connects.
      req.revocationMark = revocations.mark();
      // The session middleware answers a Redis failure in Express style; give the raw response that shape.
      res.status = (code: number) => {
        res.statusCode = code;
        return res;
      };
      res.json = (body: unknown) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(body));
      };
      session(req as never, res as never, next);
    });
    return server;
  }

  /**
   * SIGTERM, after the drain: events still being handled get their acks out before the sockets
   * close (InFlightEvents), then the clients reconnect elsewhere and recover. The sockets close in a
   * spread (close-spread.ts, within SHUTDOWN_SPREAD_MS so a stop stays well inside Supervisor's
   * stopwaitsecs): the other processes take this one's clients as a stream, not all in one second
   * (a rolling restart of 3,000 sockets, bench:scale); handshakes here are refused meanwhile.
   */
  override async close(server: NestServer): Promise<void> {
    // Nest calls close once per gateway, all at once (SocketModule.close): one spread for every namespace,
    // not one per gateway, or three gateways close the sockets three times as fast (a CI flake found it).
    this.sendingSocketsAway ??= this.sendSocketsAway();
    await this.sendingSocketsAway;
    await super.close(server);
  }

  private async sendSocketsAway(): Promise<void> {
    const inFlight = this.app.get(SocketConnections).inFlight;
    await inFlight.whenIdle(5000);
    const closes: (() => void)[] = [];
    for (const nsp of this.app.get(SocketNamespaces).all()) for (const socket of nsp.sockets.values()) closes.push(() => socket.conn.close());
    await spreadCloses(closes, { maxMs: SHUTDOWN_SPREAD_MS }).done;
    await inFlight.whenIdle(5000);
    // The acks go out in the ticks after the handlers settle (the dispatch pipeline below).
    await new Promise((r) => setImmediate(r));
  }

  /**
   * Nest's IoAdapter builds an rxjs pipeline per socket and per handler
   * (fromEvent + mergeMap + takeUntil(disconnect)), held for the socket's whole
   * life: about 6 KB per socket with three handlers (bench/RESULTS.md). A
   * plain listener per handler does the same (handler result, then ack) and
   * builds the pipeline per message only. Used only where the shared listeners
   * below are not installed (core/patches/nest-websockets.ts).
   */
  override bindMessageHandlers(socket: NestSocket, handlers: MessageMappingProperties[]): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => this.dispatch(socket, message as string, callback, args, isAckHandledManually));
    }
    guardClientEvents(socket, handlers);
  }

  private readonly shared = new WeakMap<MessageMappingProperties[], SharedListener[]>();
  /** The socket whose gateway has no handleDisconnect, between its handlers and its disconnect hook (one tick). */
  private noDisconnectHookFor: unknown = null;

  /**
   * Called (core/patches/nest-websockets.ts) instead of Nest's subscribeMessages, which
   * binds every handler to every socket (`callback.bind(gateway, socket)`) and
   * hands the bound copies to bindMessageHandlers: per socket three bound
   * functions, three listener closures and their contexts, kept for the
   * socket's life. Here each gateway gets one listener per event, shared by all
   * its sockets (EventEmitter calls it with the socket as `this`), which calls
   * the same Nest handler (guards, pipes, filters, parameter decorators) with
   * that socket.
   */
  bindSharedMessageHandlers(socket: unknown, handlers: MessageMappingProperties[], gateway: object): void {
    const client = socket as NestSocket;
    let listeners = this.shared.get(handlers);
    if (!listeners) {
      listeners = handlers.map(({ message, callback, isAckHandledManually }) => {
        // eslint-disable-next-line @typescript-eslint/no-this-alias -- the listener's own `this` is the socket
        const adapter = this;
        const event = message as string;
        const listener = function (this: NestSocket, ...args: unknown[]) {
          adapter.dispatch(this, event, (data: unknown, ack: unknown) => callback.call(gateway, this, data, ack), args, isAckHandledManually);
        };
        return { event, listener };
      });
      this.shared.set(handlers, listeners);
    }
    for (const { event, listener } of listeners) client.on(event, listener);
    guardClientEvents(client, handlers);
    // Nest then adds `() => disconnect.next(socket)` as a disconnect listener: with no handleDisconnect
    // on the gateway nothing observes that subject, so the closure need not be kept (bindClientDisconnect).
    this.noDisconnectHookFor = typeof (gateway as { handleDisconnect?: unknown }).handleDisconnect === 'function' ? null : client;
  }

  override bindClientDisconnect(client: NestSocket, callback: () => void): void {
    const skip = client === this.noDisconnectHookFor;
    this.noDisconnectHookFor = null;
    if (!skip) super.bindClientDisconnect(client, callback);
  }

  /** One client event: Nest's handler, then its result as the ack (or as an event, Nest's `{event, data}`). */
  private dispatch(socket: NestSocket, message: string, callback: (data: unknown, ack: unknown) => unknown, args: unknown[], isAckHandledManually: boolean): void {
    if (refusedOutOfBounds(args)) return;
    // fromEvent's convention, which mapPayload expects: one argument as is, several as an array.
    const { data, ack } = this.mapPayload(args.length > 1 ? args : args[0]) as { data: unknown; ack: unknown };
    const reply = (response: unknown): void => {
      if (response === null || response === undefined) return;
      const r = response as { event?: string; data?: unknown };
      if (r.event) {
        socket.emit(r.event, r.data);
        return;
      }
      if (!isAckHandledManually && typeof ack === 'function') (ack as (r: unknown) => void)(response);
    };
    const failed = (err: unknown): void => this.logger.error({ err, event: message }, 'socket handler failed');
    // What Nest's transform does (await, then an observable's values or the one value), without
    // keeping Nest's per-socket transform closure alive, and with a promise: rxjs's from + pipe +
    // mergeMap + filter + subscribe per client event left ~4 KB of garbage each (bench:setup --alloc-prof).
    Promise.resolve(callback(data, ack))
      .then((result) => {
        if (isObservable(result)) result.subscribe({ next: reply, error: failed });
        else reply(result);
      })
      .catch(failed);
  }
}

interface SharedListener {
  event: string;
  listener: (this: NestSocket, ...args: unknown[]) => void;
}

/** The adapter takes over Nest's per-socket handler binding (core/patches/nest-websockets.ts) for its own app only. */
function isRealtimeIoAdapter(adapter: unknown): adapter is SharedHandlerBinder {
  return adapter instanceof RealtimeIoAdapter;
}

if (reportPatch(checkSubscribeMessages(), 'optional').ok) shareGatewayHandlers(isRealtimeIoAdapter);
