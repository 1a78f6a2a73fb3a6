import type { IncomingMessage, ServerResponse } from 'node:http';
import type { EventEmitter } from 'node:events';
import { socketHandshakesPending, socketHandshakesTotal } from '../metrics/metrics';
import { EngineMiddleware, refuseHandshakesWhile } from './refuse-handshake';

/** The engine.io connection events this needs (engine.io's Socket). */
type EngineConnection = EventEmitter;

/**
 * Admission control for reconnect storms (issue 18, docs/scaling/phase3.md). When an api process
 * dies its clients all reconnect within a second or two; without a bound every handshake is taken
 * at once, each waits behind all the others in the event loop, clients give up after their connect
 * timeout (socket.io-client: 20 s) and retry, and the work done for them is wasted. So at most
 * `maxPending` connections per process may be between their engine handshake and their first
 * namespace answer (CONNECT or CONNECT_ERROR: authentication, slot, recovery session found); a new handshake
 * beyond that is answered 429 with `Retry-After: 1` at once, before any work, and the client retries
 * after its reconnection delay (socket.io-client: 1 s doubling to 5 s, jittered). Not 503: nginx
 * counts a 503 against the process (max_fails), and in a storm every process would be refusing, so
 * nginx took them all out for fail_timeout ("no live upstreams", bench:scale). Requests of
 * established connections are never refused.
 * The default bound is 1,024, not the 256 it was: a refusal is not free (the client, nginx and this
 * process each pay a connection for it, and the client then backs off up to 5 s), and with 256 a
 * restarted process refused 2-2.8 handshakes for each of its returning clients. On two cores the storm
 * is CPU-bound, so that waste was the storm's time (bench:scale, 10,000 clients back: 256 took 34-53 s
 * and 4.8-6.1 ms of machine CPU per reconnect, 1,024 and 2,048 took 23-24 s and 3.1-3.3 ms; at 100,000
 * sockets on 8 processes, 12,250 clients of a killed one: 256 took 171 s, 5,834 told recovered:false,
 * 63,737 refusals, 1,024 took 77 s, all recovered, 14,949 refusals; bench/RESULTS.md). A bound that grew
 * with the answer rate let 1,478 clients reach socket.io-client's 20 s timeout: "pending" ends at
 * CONNECT, and a recovering socket's replay runs after it, unbounded.
 * socket_handshakes_total{result} and socket_handshakes_pending show it working.
 */
export class HandshakeAdmission {
  private pending = 0;
  private readonly refuse: EngineMiddleware;

  constructor(private readonly maxPending: number) {
    this.refuse = refuseHandshakesWhile(() => true, 'This process is busy admitting other connections; retry shortly', 429);
  }

  get inProgress(): number {
    return this.pending;
  }

  /** Engine.IO middleware: new handshakes past the bound get 429 + Retry-After. */
  middleware(): EngineMiddleware {
    return (req: IncomingMessage & { _query?: { sid?: string } }, res: ServerResponse, next: (err?: unknown) => void) => {
      if (req._query?.sid !== undefined) return next(); // an established connection's request
      if (this.pending >= this.maxPending) {
        socketHandshakesTotal.inc({ result: 'refused' });
        return this.refuse(req, res, next);
      }
      socketHandshakesTotal.inc({ result: 'admitted' });
      next();
    };
  }

  /** A new engine connection: pending until the server first sends it a Socket.IO packet, or it closes. */
  track(conn: EngineConnection): void {
    this.pending++;
    socketHandshakesPending.set(this.pending);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.pending--;
      socketHandshakesPending.set(this.pending);
      conn.off('packetCreate', onPacket);
      conn.off('close', finish);
    };
    // engine.io's own packets are 'open', 'ping', 'noop'...; Socket.IO's (CONNECT, CONNECT_ERROR) are 'message'.
    const onPacket = (packet: { type?: string }): void => {
      if (packet.type === 'message') finish();
    };
    conn.on('packetCreate', onPacket);
    conn.once('close', finish);
  }
}
