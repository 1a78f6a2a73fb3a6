import type { INestApplication } from '@nestjs/common';
import { IoAdapter } from '@nestjs/platform-socket.io';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server, ServerOptions } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import { sessionMiddleware } from '../session/session.middleware';
import { EventLog } from './event-log';
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

type EngineRes = ServerResponse & { status?: (code: number) => EngineRes; json?: (body: unknown) => void };

/**
 * The api's Socket.IO server: options from config (SPEC §3), connection state
 * recovery through Redis (recoveryAdapter, middlewares never skipped), and
 * the express session loaded on the handshake request so the session cookie
 * authenticates sockets exactly as it does HTTP.
 */
export class RealtimeIoAdapter extends IoAdapter {
  private readonly config: AppConfig;

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
      // 0 turns per-message deflate off. While it is negotiated Socket.IO cannot send one pre-encoded
      // frame to every socket of a room (engine.io skips wsPreEncodedFrame), which costs about 2x
      // CPU per delivery even for frames under the threshold: see bench/RESULTS.md.
      perMessageDeflate: rt.compressionThresholdBytes > 0 ? compactDeflate(rt.compressionThresholdBytes) : false,
      httpCompression: { threshold: rt.compressionThresholdBytes },
      pingInterval: rt.pingIntervalMs,
      pingTimeout: rt.pingTimeoutMs,
      connectTimeout: rt.connectTimeoutMs,
      connectionStateRecovery: { maxDisconnectionDuration: rt.recoveryWindowMs, skipMiddlewares: false },
      adapter: recoveryAdapter(this.app.get(EventLog), connections.sessions) as never,
    }) as Server;
    const session = sessionMiddleware(this.config, this.app.get<RedisClient>(REDIS));
    server.engine.use((req: IncomingMessage & { _query?: { sid?: string } }, res: EngineRes, next: (err?: unknown) => void) => {
      if (req._query?.sid !== undefined) return next(); // only the handshake carries the cookie we need
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
}
