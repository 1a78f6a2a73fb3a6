import type { Server } from 'socket.io';

/** The parts of engine.io's websocket transport and ws's Sender this relies on (both untyped). */
interface WsTransport {
  name: string;
  perMessageDeflate: { threshold?: number } | null;
  socket?: { _sender?: { sendFrame?: unknown; _state?: number; _queue?: unknown[] }; _socket?: { cork(): void; uncork(): void } };
  _canSendPreEncodedFrame(packet: { options?: { wsPreEncodedFrame?: Buffer[] } }): boolean;
  send(packets: unknown[]): void;
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

/** Patches the websocket transport class once (pre-encoded frames, batched writes); true once it is patched. */
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
  // Packets that waited for the previous write go out together: ws writes each frame with its own
  // cork/uncork (one writev per frame, the largest cost of a delivery in the profile); corking the
  // TCP socket around the batch makes it one writev per batch. Nothing waits longer: the batch is
  // written before send() returns.
  const send = proto.send;
  proto.send = function (this: WsTransport, packets: unknown[]) {
    const tcp = packets.length > 1 ? this.socket?._socket : undefined;
    if (!tcp) return send.call(this, packets);
    tcp.cork();
    try {
      send.call(this, packets);
    } finally {
      tcp.uncork();
    }
  };
  return true;
}
