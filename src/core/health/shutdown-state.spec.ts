import { createServer, Server } from 'node:http';
import { AddressInfo, connect, Socket } from 'node:net';
import { stopAccepting } from './shutdown-state';

/** A connection accepted before the close, whose request arrives just after it (what nginx did at the drain's end). */
async function lateRequestOn(server: Server, close: (s: Server) => void): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  // One request answered on it and the connection kept alive: idle, as in nginx's upstream keepalive pool.
  const firstAnswer = new Promise<void>((r) => socket.once('data', () => r()));
  socket.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
  await firstAnswer;
  await new Promise((r) => setTimeout(r, 50));
  close(server);
  const refused = await new Promise<boolean>((r) => connect(port, '127.0.0.1').once('error', () => r(true)).once('connect', () => r(false)));
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.removeAllListeners('data');
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text.split('\r\n')[0] || 'closed without an answer'));
    socket.on('error', () => undefined);
  });
  socket.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  const first = await answer;
  await new Promise<void>((r) => server.close(() => r()));
  return `${refused ? 'new connections refused' : 'new connections accepted'}; ${first}`;
}

describe('stopAccepting (the end of the drain)', () => {
  const handler = () =>
    createServer((_req, res) => {
      res.end('ok');
    });

  it('refuses new connections but serves a request that arrives on one accepted before', async () => {
    expect(await lateRequestOn(handler(), (s) => expect(stopAccepting(s)).toBe(true))).toBe('new connections refused; HTTP/1.1 200 OK');
  });

  it('is needed: http.Server.close() ends that connection before its request is read (the reset nginx saw)', async () => {
    expect(await lateRequestOn(handler(), (s) => s.close())).toBe('new connections refused; closed without an answer');
  });

  it('does nothing without a listening server (worker and CLI processes)', () => {
    expect(stopAccepting(undefined)).toBe(false);
    expect(stopAccepting(createServer())).toBe(false);
  });
});
