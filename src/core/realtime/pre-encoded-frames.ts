import type { Server } from 'socket.io';

/** The parts of engine.io's websocket transport and ws's Sender this relies on (both untyped). */
interface WsTransport {
  name: string;
  perMessageDeflate: { threshold?: number } | null;
  socket?: { _sender?: { sendFrame?: unknown; _state?: number; _queue?: unknown[] } };
  _canSendPreEncodedFrame(packet: { options?: { wsPreEncodedFrame?: Buffer[] } }): boolean;
}

const WS_SENDER_IDLE = 0; // ws Sender's DEFAULT state: not deflating, not reading a blob
const patched = new WeakSet<object>();

/**
 * A room broadcast encodes its WebSocket frame once (socket.io-adapter's
 * wsPreEncodedFrame), but engine.io sends it only when per-message deflate is
 * off for the whole server; otherwise every recipient frames the message
 * again, which made fan-out p99 worse than stock (bench/RESULTS.md).
 *
 * An uncompressed frame is valid on a connection that negotiated deflate, and
 * ws itself sends a message under the threshold as exactly that frame. So the
 * pre-encoded frame is also used when the payload is under the threshold and
 * the connection's sender is idle (nothing being compressed or queued ahead of
 * it, which keeps the order). Messages above the threshold are compressed as
 * before. The transport class is patched once, from the first websocket seen.
 */
export function sendPreEncodedFramesUnderThreshold(server: Server): void {
  type Conn = { transport: WsTransport; once(ev: string, fn: () => void): void };
  // Listens only until the class is patched: nothing stays per connection afterwards.
  const onConnection = (conn: Conn) => {
    if (patchTransport(conn.transport)) server.engine.off('connection', onConnection);
    else conn.once('upgrade', () => patchTransport(conn.transport) && server.engine.off('connection', onConnection));
  };
  server.engine.on('connection', onConnection);
}

/** Patches the websocket transport class once; true once it is patched. */
function patchTransport(transport: WsTransport): boolean {
  if (transport.name !== 'websocket') return false;
  const proto = Object.getPrototypeOf(transport) as WsTransport;
  if (patched.has(proto)) return true;
  patched.add(proto);
  const original = proto._canSendPreEncodedFrame;
  proto._canSendPreEncodedFrame = function (this: WsTransport, packet) {
    if (original.call(this, packet)) return true;
    const frame = packet.options?.wsPreEncodedFrame;
    const sender = this.socket?._sender;
    const threshold = this.perMessageDeflate?.threshold;
    if (!frame || threshold === undefined || typeof sender?.sendFrame !== 'function') return false;
    if (sender._state !== WS_SENDER_IDLE || sender._queue?.length) return false;
    let bytes = 0;
    for (const part of frame) bytes += part.length;
    return bytes < threshold; // the whole frame, so the payload is under it too
  };
  return true;
}
