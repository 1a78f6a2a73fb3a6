import type { NextFunction, Request, Response } from 'express';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The plain HTTP connections of the api's server (WebSocket upgrades leave the count) and how many
 * requests each is serving right now. An idle one is open with nothing in flight: a keep-alive
 * connection in nginx's upstream pool, or one accepted whose request has not been read yet. Ending
 * such a connection is the reset nginx reports as `recv() failed (104: Connection reset by peer)`,
 * and it never resends a POST: the shutdown waits until none is left (ShutdownState).
 * Attach after Socket.IO: engine.io moves the server's 'request' listeners behind its own, which calls
 * them only for requests that are not its (a polling request would then look idle while it waits).
 */
export class OpenHttpConnections {
  private readonly serving = new Map<Socket, number>();

  attach(server: Server): void {
    const serving = this.serving;
    // One shared listener (the socket is `this`), removed again on upgrade: a closure and `once` wrapper
    // per connection stayed with every WebSocket for its life, and the third 'close' listener it made
    // during the upgrade grew the socket's listener array to 20 slots (~0.3 KB per socket, bench/RESULTS.md).
    function closed(this: Socket): void {
      serving.delete(this);
    }
    server.on('connection', (socket: Socket) => {
      serving.set(socket, 0);
      socket.on('close', closed);
    });
    // Every request passes here: one shared 'close' listener (the response is `this`), no closure per request.
    function answered(this: ServerResponse): void {
      const socket = this.req.socket;
      const n = serving.get(socket);
      if (n !== undefined) serving.set(socket, n - 1);
    }
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const n = serving.get(req.socket);
      if (n === undefined) return;
      serving.set(req.socket, n + 1);
      res.once('close', answered);
    });
    // Socket.IO's WebSockets: no more HTTP requests on them; the realtime shutdown closes them. Ahead of
    // engine.io's listener, so the socket's own listener is gone before ws adds its two.
    server.prependListener('upgrade', (req: IncomingMessage) => {
      serving.delete(req.socket);
      req.socket.off('close', closed);
    });
  }

  get open(): number {
    return this.serving.size;
  }

  get idle(): number {
    let n = 0;
    for (const inFlight of this.serving.values()) if (inFlight === 0) n++;
    return n;
  }

  /** Resolves with how many idle connections are left: 0, or more when `maxMs` ran out first. */
  async whenNoneIdle(maxMs: number, pollMs = 20): Promise<number> {
    const until = Date.now() + maxMs;
    while (this.idle > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, pollMs));
    return this.idle;
  }
}

/** What ShutdownState tells the middleware below. */
export interface ClosingState {
  readonly isClosing: boolean;
}

/**
 * Once the listener has stopped (the second phase of the shutdown, ShutdownState), every response
 * asks the client — nginx — to close its connection: the ones it keeps in its upstream pool are
 * used once more and end cleanly, and nginx can only open new ones, which are refused and resent to
 * another process for any method. Before that, during SHUTDOWN_DRAIN_MS, connections stay kept
 * alive: a new connection per request would put nginx's requests in the accept queue at the moment
 * the listener stops, and the kernel resets those (drills/RESULTS.md, the POST reset at exit).
 */
export function closeConnectionsWhileDraining(shutdown: ClosingState) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (shutdown.isClosing) res.setHeader('Connection', 'close');
    next();
  };
}
