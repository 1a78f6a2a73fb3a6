import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { refuseHandshakesWhile } from './refuse-handshake';

describe('refuseHandshakesWhile', () => {
  it('passes handshakes on while the condition is false', () => {
    const next = jest.fn();
    refuseHandshakesWhile(() => false, 'x')({} as IncomingMessage, {} as ServerResponse, next);
    expect(next).toHaveBeenCalledWith();
  });

  it('answers a polling handshake 503', () => {
    const res = new ServerResponse(new IncomingMessage(new Socket()));
    const next = jest.fn();
    refuseHandshakesWhile(() => true, 'draining')({} as IncomingMessage, res, next);
    expect(next).not.toHaveBeenCalled();
    expect(res.statusCode).toBe(503);
  });

  it('writes a 503 status line on the raw socket of a WebSocket upgrade', () => {
    const written: string[] = [];
    const upgrade = { socket: { end: (s: string) => written.push(s) } } as unknown as ServerResponse;
    refuseHandshakesWhile(() => true, 'draining')({} as IncomingMessage, upgrade, jest.fn());
    expect(written[0]).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(written[0]).toContain('"message":"draining"');
  });
});
