import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';

/** Shared by every upgrade socket: a closure per socket would live as long as the connection. */
function ignoreUntilWsOwnsIt(): void {
  // ws listens for errors once it has the socket; until then a reset only means the client left.
}

function guard(_req: IncomingMessage, socket: Duplex): void {
  socket.on('error', ignoreUntilWsOwnsIt);
}

/**
 * Node's HTTP server removes its 'error' listener from a socket it hands to 'upgrade', and ws adds
 * its own only when engine.io calls it, after engine.io's middlewares (the session load, a Redis
 * round trip). A client that reset its connection in between raised an unhandled 'error' event,
 * which ended the api process (found by the issue 19 test). Installed before engine.io's listener.
 */
export function guardUpgradeSockets(server: HttpServer): void {
  server.prependListener('upgrade', guard);
}
