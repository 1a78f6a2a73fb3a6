import { createServer, Server } from 'node:http';
import { AddressInfo, connect, Socket } from 'node:net';
import { Server as IoServer } from 'socket.io';
import { io as ioClient } from 'socket.io-client';
import { stopAccepting } from '../health/shutdown-state';
import { OpenHttpConnections } from './drain-connections';

async function listen(server: Server): Promise<number> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
}

async function connected(port: number): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return socket;
}

function until(check: () => boolean, ms = 2000): Promise<void> {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const t = setInterval(() => {
      if (check()) return clearInterval(t), resolve();
      if (Date.now() > end) return clearInterval(t), reject(new Error('condition not met'));
    }, 5);
  });
}

/** A connection accepted before the stop, kept alive after one answer, whose next request comes after the stop (nginx's pool). */
async function lateRequestOn(server: Server, stop: (s: Server) => void): Promise<string> {
  const port = await listen(server);
  const socket = await connected(port);
  const firstAnswer = new Promise<void>((r) => socket.once('data', () => r()));
  socket.write('GET /a HTTP/1.1\r\nHost: a\r\n\r\n');
  await firstAnswer;
  await new Promise((r) => setTimeout(r, 50));
  stop(server);
  const refused = await new Promise<boolean>((r) => connect(port, '127.0.0.1').once('error', () => r(true)).once('connect', () => r(false)));
  const answer = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text.split('\r\n')[0] || 'closed without an answer'));
    socket.on('error', () => undefined);
  });
  socket.write('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  const first = await answer;
  await new Promise<void>((r) => server.close(() => r()));
  return `${refused ? 'new connections refused' : 'new connections accepted'}; ${first}`;
}

describe('OpenHttpConnections', () => {
  let server: Server;
  let release: () => void;
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('counts a connection idle until its request is read, serving while answered, idle again when kept alive', async () => {
    let held = new Promise<void>((r) => (release = r));
    server = createServer((_req, res) => void held.then(() => res.end('ok')));
    const connections = new OpenHttpConnections();
    connections.attach(server);
    const port = await listen(server);
    const socket = await connected(port);
    await until(() => connections.open === 1);
    expect(connections.idle).toBe(1); // accepted, nothing read: what Node's close() would end
    socket.write('GET / HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => connections.idle === 0);
    expect(connections.open).toBe(1);
    const answered = new Promise<void>((r) => socket.once('data', () => r()));
    release();
    await answered;
    await until(() => connections.idle === 1);
    held = Promise.resolve();
    socket.destroy();
    await until(() => connections.open === 0);
  });

  it('waits until no idle connection is left, or says how many remain when the time runs out', async () => {
    server = createServer((_req, res) => res.end('ok'));
    const connections = new OpenHttpConnections();
    connections.attach(server);
    const port = await listen(server);
    const a = await connected(port);
    const b = await connected(port);
    await until(() => connections.idle === 2);
    expect(await connections.whenNoneIdle(100)).toBe(2);
    setTimeout(() => (a.destroy(), b.destroy()), 100);
    const startedAt = Date.now();
    expect(await connections.whenNoneIdle(3000)).toBe(0);
    expect(Date.now() - startedAt).toBeLessThan(2000);
  });

  it('leaves upgraded connections out (a WebSocket is not waited for)', async () => {
    server = createServer((_req, res) => res.end('ok'));
    let upgraded: Socket | undefined;
    server.on('upgrade', (_req, socket: Socket) => {
      upgraded = socket;
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
    });
    const connections = new OpenHttpConnections();
    connections.attach(server);
    const port = await listen(server);
    const socket = await connected(port);
    const switched = new Promise<void>((r) => socket.once('data', () => r()));
    socket.write('GET / HTTP/1.1\r\nHost: a\r\nUpgrade: x\r\nConnection: Upgrade\r\n\r\n');
    await switched;
    await until(() => connections.open === 0);
    expect(connections.idle).toBe(0);
    socket.destroy();
    upgraded?.destroy();
  });
});

describe('OpenHttpConnections beside Socket.IO', () => {
  it('sees a polling request waiting on engine.io as serving when attached after Socket.IO, as the api does', async () => {
    const count = async (attachFirst: boolean): Promise<{ open: number; idle: number }> => {
      const server = createServer((_req, res) => res.end('ok'));
      const connections = new OpenHttpConnections();
      if (attachFirst) connections.attach(server);
      const io = new IoServer(server, { pingInterval: 20000, pingTimeout: 5000 });
      if (!attachFirst) connections.attach(server);
      const port = await listen(server);
      const client = ioClient(`http://127.0.0.1:${port}`, { transports: ['polling'], forceNew: true, reconnection: false });
      try {
        await new Promise<void>((r) => client.once('connect', () => r()));
        // Connected: the client's long-poll GET now waits on the server for the next packet.
        await new Promise((r) => setTimeout(r, 200));
        return { open: connections.open, idle: connections.idle };
      } finally {
        client.close();
        await io.close();
        server.closeAllConnections();
      }
    };
    expect(await count(false)).toEqual({ open: 1, idle: 0 });
    // Attached before, engine.io calls our listener only for other paths: the waiting poll looks idle.
    expect(await count(true)).toEqual({ open: 1, idle: 1 });
  });
});

describe('stopAccepting (the second phase of the shutdown)', () => {
  const handler = () => createServer((_req, res) => res.end('ok'));

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
