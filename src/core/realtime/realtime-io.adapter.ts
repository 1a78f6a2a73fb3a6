import type { INestApplication } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { MessageMappingProperties } from '@nestjs/websockets';
import { filter, from, isObservable, mergeMap, of } from 'rxjs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, ServerOptions } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { REDIS } from '../redis/redis.module';
import { BatchedReads } from '../redis/batched-reads';
import type { RedisClient } from '../redis/redis.factory';
import { SESSION_COOKIE, sessionMiddleware } from '../session/session.middleware';
import { EventLog } from './event-log';
import { sendPreEncodedFramesUnderThreshold } from './pre-encoded-frames';
import { recoveryAdapter } from './recovery-adapter';
import { SocketConnections } from './socket-connections';

/**
 * Per-message deflate with small zlib windows and no context takeover: ws's
 * defaults (32 KB windows kept per connection) cost about 250 KB of RSS per
 * socket here (bench/RESULTS.md); small windows keep compression for large
 * payloads at a few KB.
 */
function compactDeflate(threshold: number) {
  return {
    threshold,
    serverNoContextTakeover: true,
    clientNoContextTakeover: true,
    serverMaxWindowBits: 10,
    clientMaxWindowBits: 10,
    zlibDeflateOptions: { memLevel: 4 },
  };
}

const SESSION_COOKIE_PREFIX = `${SESSION_COOKIE}=`;

/** Only a handshake that carries our session cookie needs the session loaded (tokens come in the CONNECT packet). */
function hasSessionCookie(req: IncomingMessage): boolean {
  const cookie = req.headers.cookie;
  return typeof cookie === 'string' && cookie.includes(SESSION_COOKIE_PREFIX);
}

/** The socket type of the Socket.IO copy @nestjs/platform-socket.io compiles against. */
type NestSocket = Parameters<IoAdapter['bindMessageHandlers']>[0];

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

  constructor(private readonly app: INestApplication) {
    super(app);
    this.config = app.get(AppConfig);
  }

  override createIOServer(port: number, options?: ServerOptions): Server {
    const rt = this.config.realtime;
    const connections = this.app.get(SocketConnections);
    const server = super.createIOServer(port, {
      ...options,
      cors: { origin: this.config.http.corsOrigins, credentials: true },
      maxHttpBufferSize: rt.maxBufferBytes,
      // 0 turns per-message deflate off. While it is negotiated engine.io would not send one
      // pre-encoded frame to every socket of a room, which cost about 2x CPU per delivery even for
      // frames under the threshold: sendPreEncodedFramesUnderThreshold restores that (bench/RESULTS.md).
      perMessageDeflate: rt.compressionThresholdBytes > 0 ? compactDeflate(rt.compressionThresholdBytes) : false,
      httpCompression: { threshold: rt.compressionThresholdBytes },
      pingInterval: rt.pingIntervalMs,
      pingTimeout: rt.pingTimeoutMs,
      connectTimeout: rt.connectTimeoutMs,
      connectionStateRecovery: { maxDisconnectionDuration: rt.recoveryWindowMs, skipMiddlewares: false },
      adapter: recoveryAdapter(this.app.get(EventLog), connections.sessions) as never,
    }) as Server;
    if (rt.compressionThresholdBytes > 0) sendPreEncodedFramesUnderThreshold(server);
    const session = sessionMiddleware(this.config, this.app.get<RedisClient>(REDIS), this.app.get(BatchedReads));
    server.engine.use((req: IncomingMessage & { _query?: { sid?: string } }, res: EngineRes, next: (err?: unknown) => void) => {
      if (req._query?.sid !== undefined) return next(); // only the handshake carries the cookie we need
      // Without our cookie there is no session to load; loading one anyway kept express-session's
      // per-request closures alive with the socket (bench/RESULTS.md, about 5 KB per socket).
      if (!hasSessionCookie(req)) return next();
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
   * Nest's IoAdapter builds an rxjs pipeline per socket and per handler
   * (fromEvent + mergeMap + takeUntil(disconnect)), held for the socket's whole
   * life: about 6 KB per socket with three handlers (bench/RESULTS.md). A
   * plain listener per handler does the same (handler result, then ack) and
   * builds the pipeline per message only. (The transform argument is not used: see below.)
   */
  override bindMessageHandlers(socket: NestSocket, handlers: MessageMappingProperties[]): void {
    for (const { message, callback, isAckHandledManually } of handlers) {
      socket.on(message as string, (...args: unknown[]) => {
        // fromEvent's convention, which mapPayload expects: one argument as is, several as an array.
        const { data, ack } = this.mapPayload(args.length > 1 ? args : args[0]);
        // What Nest's transform does (await, then an observable's values or the one value), without
        // keeping Nest's per-socket transform closure alive.
        from(Promise.resolve(callback(data, ack) as unknown))
          .pipe(
            mergeMap((result) => (isObservable(result) ? result : of(result))),
            filter((response) => response !== null && response !== undefined),
          )
          .subscribe({
            next: (response) => {
              const r = response as { event?: string; data?: unknown };
              if (r.event) {
                socket.emit(r.event, r.data);
                return;
              }
              if (!isAckHandledManually && typeof ack === 'function') (ack as (r: unknown) => void)(response);
            },
            error: (err: unknown) => this.logger.error({ err, event: message }, 'socket handler failed'),
          });
      });
    }
  }
}
