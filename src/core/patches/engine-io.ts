import { dirname } from 'node:path';
import { engineIoWs, wsVersion } from './ws';
import { installedVersion, PatchCheck } from './patch-check';

/**
 * engine.io's websocket transport, and ws's Sender under it.
 *
 * A room broadcast encodes its WebSocket frame once (socket.io-adapter's wsPreEncodedFrame), but
 * engine.io sends it only when per-message deflate is off for the whole server; otherwise every
 * recipient frames the message again, which made fan-out p99 worse than stock (bench/RESULTS.md).
 * An uncompressed frame is valid on a connection that negotiated deflate, and ws itself sends a
 * message under the threshold as exactly that frame. So:
 *
 * 1. `Transport.prototype._canSendPreEncodedFrame(packet)` also says yes when the frame is under
 *    the deflate threshold and the connection's ws Sender is idle (ws Sender's private `_state` is
 *    DEFAULT (0) and its `_queue` is empty: nothing being compressed or queued ahead of it, which
 *    keeps the order). Messages above the threshold are compressed as before.
 * 2. `Transport.prototype.send(packets)` corks the TCP socket (ws's private `_socket`) around a
 *    batch: ws writes each frame with its own cork/uncork (one writev per frame, the largest cost
 *    of a delivery in the profile); corked, a batch is one writev. Nothing waits longer.
 *
 * Measured: fan-out p99 at 1,000 msg/s 1.12–1.58× → 0.27–0.39× stock (bench/RESULTS.md). Optional:
 * when the transport or the Sender has another shape, engine.io's own path runs (a frame per
 * recipient). If `_queue` were renamed and not checked, a frame could overtake one being
 * compressed: hence the check of both classes before anything is patched.
 *
 * To remove: turn per-message deflate off (WS_COMPRESSION_THRESHOLD_BYTES=0), or upstream the
 * threshold rule to engine.io.
 */
export const ENGINE_IO_WRITTEN_FOR = '6.6.x (tested with 6.6.12), ws 8.x';

interface WsTransport {
  perMessageDeflate: { threshold?: number } | null;
  socket?: { _sender?: { sendFrame?: unknown; _state?: number; _queue?: unknown[] }; _socket?: { cork(): void; uncork(): void } };
  _canSendPreEncodedFrame(packet: { options?: { wsPreEncodedFrame?: Buffer[] } }): boolean;
  send(packets: unknown[]): void;
}
type SenderClass = new (socket: unknown, extensions?: unknown) => { _state?: unknown; _queue?: unknown; sendFrame?: unknown };

// eslint-disable-next-line @typescript-eslint/no-require-imports
const engineIo = require('engine.io') as { transports?: { websocket?: { prototype: WsTransport } } };
const WS_SENDER_IDLE = 0; // ws Sender's DEFAULT state: not deflating, not reading a blob

export function checkWebsocketTransport(proto: Partial<WsTransport> | null | undefined = engineIo.transports?.websocket?.prototype): PatchCheck {
  const base = { library: 'engine.io', patch: 'websocket transport send/_canSendPreEncodedFrame', writtenFor: ENGINE_IO_WRITTEN_FOR, installed: installedVersion('engine.io', dirname(require.resolve('engine.io'))) };
  let reason: string | undefined;
  if (!proto) reason = 'engine.io no longer exports transports.websocket';
  else if (typeof proto._canSendPreEncodedFrame !== 'function' || proto._canSendPreEncodedFrame.length !== 1) reason = '_canSendPreEncodedFrame(packet) is gone or changed';
  else if (typeof proto.send !== 'function' || proto.send.length !== 1) reason = 'send(packets) is gone or changed';
  return { ...base, ok: !reason, reason };
}

export function checkWsSender(Sender: SenderClass | null | undefined = engineIoWs.Sender as SenderClass | undefined): PatchCheck {
  const base = { library: 'ws', patch: 'Sender _state/_queue', writtenFor: ENGINE_IO_WRITTEN_FOR, installed: wsVersion() };
  let reason: string | undefined;
  if (typeof Sender !== 'function') reason = 'ws no longer exports Sender';
  else {
    const sender = new Sender({});
    if (sender._state !== WS_SENDER_IDLE) reason = `a new Sender's _state is ${String(sender._state)}, not ${WS_SENDER_IDLE}`;
    else if (!Array.isArray(sender._queue)) reason = 'Sender has no _queue array';
    else if (typeof sender.sendFrame !== 'function') reason = 'Sender has no sendFrame()';
  }
  return { ...base, ok: !reason, reason };
}

const patched = new WeakSet<object>();

/** Patches the websocket transport class once (pre-encoded frames under the threshold, corked batches). */
export function sendPreEncodedFramesUnderThreshold(proto: WsTransport | undefined = engineIo.transports?.websocket?.prototype): boolean {
  if (!proto) return false;
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
