import { EventEmitter } from 'node:events';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { HandshakeAdmission } from './handshake-admission';

function request(admission: HandshakeAdmission, sid?: string): { status: number; passed: boolean; retryAfter: unknown } {
  const req = Object.assign(new IncomingMessage(new Socket()), { _query: sid === undefined ? {} : { sid } });
  const res = new ServerResponse(req);
  const writeHead = jest.spyOn(res, 'writeHead');
  let passed = false;
  admission.middleware()(req, res, () => (passed = true));
  const headers = (writeHead.mock.calls[0]?.[1] ?? {}) as Record<string, unknown>;
  return { status: res.statusCode, passed, retryAfter: headers['retry-after'] };
}

describe('HandshakeAdmission', () => {
  it('admits new handshakes while fewer than the bound are in progress, then answers 429 with Retry-After', () => {
    const admission = new HandshakeAdmission(2);
    expect(request(admission).passed).toBe(true);
    admission.track(new EventEmitter());
    expect(request(admission).passed).toBe(true);
    admission.track(new EventEmitter());
    const refused = request(admission);
    expect(refused).toEqual({ status: 429, passed: false, retryAfter: '1' });
  });

  it('never refuses a request of an established connection', () => {
    const admission = new HandshakeAdmission(1);
    admission.track(new EventEmitter());
    expect(request(admission).passed).toBe(false);
    expect(request(admission, 'abc').passed).toBe(true);
  });

  it('a connection stops counting at its first Socket.IO packet, not at engine.io packets', () => {
    const admission = new HandshakeAdmission(1);
    const conn = new EventEmitter();
    admission.track(conn);
    conn.emit('packetCreate', { type: 'open' });
    conn.emit('packetCreate', { type: 'ping' });
    expect(admission.inProgress).toBe(1);
    conn.emit('packetCreate', { type: 'message', data: '0/realtime,{}' });
    expect(admission.inProgress).toBe(0);
    expect(request(admission).passed).toBe(true);
    // Later packets and the close do not count it off again.
    conn.emit('packetCreate', { type: 'message' });
    conn.emit('close');
    expect(admission.inProgress).toBe(0);
    expect(conn.listenerCount('packetCreate') + conn.listenerCount('close')).toBe(0);
  });

  it('a connection that closes before any answer stops counting, once', () => {
    const admission = new HandshakeAdmission(5);
    const a = new EventEmitter();
    const b = new EventEmitter();
    admission.track(a);
    admission.track(b);
    a.emit('close');
    a.emit('close');
    expect(admission.inProgress).toBe(1);
  });
});
