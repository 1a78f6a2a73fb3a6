import { checkWebsocketTransport, checkWsSender, sendPreEncodedFramesUnderThreshold } from './engine-io';

/** A transport of the patched shape: the original says no (deflate is on), the sender is fake. */
function transportClass() {
  class Transport {
    perMessageDeflate = { threshold: 100 };
    socket = { _sender: { sendFrame: () => undefined, _state: 0, _queue: [] as unknown[] }, _socket: { corked: 0, cork() { this.corked++; }, uncork() {} } };
    sent: unknown[][] = [];
    _canSendPreEncodedFrame(_packet: unknown): boolean {
      return false;
    }
    send(packets: unknown[]): void {
      this.sent.push(packets);
    }
  }
  return Transport;
}
const frame = (bytes: number) => ({ options: { wsPreEncodedFrame: [Buffer.alloc(bytes)] } });

describe('core/patches/engine-io', () => {
  it('finds the websocket transport and ws Sender shapes the patch needs in the installed engine.io and ws', () => {
    expect(checkWebsocketTransport()).toMatchObject({ library: 'engine.io', ok: true });
    expect(checkWebsocketTransport().installed).toMatch(/^6\./);
    expect(checkWsSender()).toMatchObject({ library: 'ws', ok: true });
  });

  it('sends a pre-encoded frame under the threshold only while the sender is idle, and corks a batch', () => {
    const Transport = transportClass();
    expect(sendPreEncodedFramesUnderThreshold(Transport.prototype as never)).toBe(true);
    const t = new Transport();
    expect(t._canSendPreEncodedFrame(frame(99))).toBe(true);
    expect(t._canSendPreEncodedFrame(frame(100))).toBe(false); // compressed as before
    t.socket._sender._queue.push('a frame being compressed');
    expect(t._canSendPreEncodedFrame(frame(10))).toBe(false); // order kept
    t.send([1, 2]);
    t.send([3]);
    expect([t.sent, t.socket._socket.corked]).toEqual([[[1, 2], [3]], 1]);
  });

  it('says what changed when the transport or the Sender has another shape', () => {
    expect(checkWebsocketTransport({ send: (_p: unknown[]) => undefined })).toMatchObject({ ok: false, reason: '_canSendPreEncodedFrame(packet) is gone or changed' });
    expect(checkWebsocketTransport(null)).toMatchObject({ ok: false, reason: 'engine.io no longer exports transports.websocket' });
    expect(checkWsSender(null)).toMatchObject({ ok: false, reason: 'ws no longer exports Sender' });
    class Renamed {
      _state = 0;
      _frames: unknown[] = [];
      sendFrame() {}
      constructor(_socket: unknown) {}
    }
    expect(checkWsSender(Renamed as never)).toMatchObject({ ok: false, reason: 'Sender has no _queue array' });
  });
});
