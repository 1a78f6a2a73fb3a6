import { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket as NetSocket } from 'node:net';

export type EngineMiddleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * An Engine.IO middleware that answers handshakes and upgrades 503 while `refuse()` says so:
 * nginx then resends the GET to another upstream (proxy_next_upstream http_503), so the client
 * lands on a process that can keep it instead of one about to drop it. 429 says "busy, retry":
 * nginx passes it to the client and does not count it against the process (HandshakeAdmission).
 */
export function refuseHandshakesWhile(refuse: () => boolean, message: string, status: 503 | 429 = 503): EngineMiddleware {
  const reason = status === 503 ? 'Service Unavailable' : 'Too Many Requests';
  const body = JSON.stringify({ statusCode: status, error: reason, message });
  return (_req, res, next) => {
    if (!refuse()) return next();
    if (!(res instanceof ServerResponse)) {
      // A WebSocket upgrade: engine.io's stand-in response cannot write a status, the raw socket can.
      const raw = (res as unknown as { socket?: NetSocket }).socket;
      raw?.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', 'retry-after': '1', connection: 'close' });
    res.end(body);
  };
}
