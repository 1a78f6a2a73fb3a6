import { execFileSync } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { connect as netConnect } from 'node:net';
import { io, type Socket as ClientSocket } from 'socket.io-client';
import { startApi } from '../support/api-process';
import { registerTokenUser, waitFor } from '../support/http-client';

/**
 * What a deploy does to one api process: SIGTERM, drain, exit. Found by the rolling-deploy drill
 * (drills/RESULTS.md): an open SSE stream kept the process from ever exiting, so Supervisor
 * SIGKILLed it after stopwaitsecs; and nginx kept sending it requests until the listener closed.
 */
function openStream(url: string, token: string): Promise<{ status: number; ended: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(`${url}/api/realtime/events`, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      const ended = new Promise<string>((r) => {
        res.on('end', () => r('end'));
        res.on('error', () => r('error'));
        res.on('close', () => r('close'));
      });
      resolve({ status: res.statusCode ?? 0, ended });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('graceful shutdown of an api process (SIGTERM, as a deploy sends it)', () => {
  jest.setTimeout(60000);

  it('ends open SSE streams and exits 0 soon after the drain, instead of waiting to be SIGKILLed', async () => {
    const api = await startApi({ SHUTDOWN_DRAIN_MS: '1000' });
    try {
      const user = await registerTokenUser(api.url, 'sse-deploy');
      const stream = await openStream(api.url, user.client.token as string);
      expect(stream.status).toBe(200);
      const sentAt = Date.now();
      api.child.kill('SIGTERM');
      const exited = await Promise.race([api.exited, new Promise<null>((r) => setTimeout(() => r(null), 15000))]);
      expect(exited).toEqual({ code: 0, signal: null });
      expect(Date.now() - sentAt).toBeLessThan(15000);
      expect(await stream.ended).toBeDefined();
    } finally {
      await api.kill();
    }
  });

  it('drains in two phases: serves on kept-alive connections, then refuses new ones and serves what still comes on the old ones', async () => {
    const api = await startApi({ SHUTDOWN_DRAIN_MS: '2000' });
    // One kept-alive connection, as nginx's upstream pool holds them.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const call = (method: string, path: string, token: string, body?: unknown) =>
      new Promise<{ status: number; connection?: string; port?: number; body: string }>((resolve, reject) => {
        const payload = body === undefined ? undefined : JSON.stringify(body);
        const req = httpRequest(
          `${api.url}${path}`,
          { method, agent, headers: { authorization: `Bearer ${token}`, ...(payload ? { 'content-type': 'application/json' } : {}) } },
          (res) => {
            let text = '';
            const port = res.socket.localPort;
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection, port, body: text }));
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    const refusesConnections = () =>
      new Promise<boolean>((r) => {
        const s = netConnect(api.port, '127.0.0.1');
        s.once('error', () => r(true));
        s.once('connect', () => (s.destroy(), r(false)));
      });
    try {
      const user = await registerTokenUser(api.url, 'drain');
      const token = user.client.token as string;
      const room = await call('POST', '/api/chat/rooms', token, { name: 'drain', memberIds: [] });
      expect(room.status).toBe(201);
      const roomId = (JSON.parse(room.body) as { id: number }).id;
      const before = await call('GET', '/api/chat/rooms', token);
      expect(before.port).toEqual(expect.any(Number));
      api.child.kill('SIGTERM');
      // Phase 1: /up says shutting_down (a new connection, still accepted); the kept-alive one is served as usual.
      await waitFor(async () => (await fetch(`${api.url}/up`)).status === 503, 3000, 50);
      const read = await call('GET', '/api/chat/rooms', token);
      expect(read).toMatchObject({ status: 200, connection: 'keep-alive', port: before.port });
      // Phase 2: connects are refused (nginx resends any request it could not send, POSTs included)...
      await waitFor(refusesConnections, 4000, 20);
      // ...while a request that comes later on a connection accepted before is served, then the connection ends.
      // http.Server.close() at this point ended that idle connection, and nginx's POST on it with it.
      await new Promise((r) => setTimeout(r, 300));
      const write = await call('POST', `/api/chat/rooms/${roomId}/messages`, token, { body: 'after the listener stopped' });
      expect(write).toMatchObject({ status: 201, connection: 'close', port: before.port });
      expect((await api.exited).code).toBe(0);
    } finally {
      agent.destroy();
      await api.kill();
    }
  });

  it('listens with a backlog of HTTP_LISTEN_BACKLOG, not Node\'s 511: a reconnect storm waits in the kernel instead of timing out at nginx', async () => {
    const api = await startApi({ HTTP_LISTEN_BACKLOG: '1000' });
    try {
      // A listening socket's Send-Q in ss is its backlog.
      const line = execFileSync('ss', ['-Hltn', `sport = :${api.port}`], { encoding: 'utf8' }).trim();
      expect(line.split(/\s+/).slice(0, 3)).toEqual(['LISTEN', '0', '1000']);
    } finally {
      await api.kill();
    }
  });

  it('sends its sockets away spread over time on SIGTERM, not all at once (the other processes take them as a stream)', async () => {
    const api = await startApi({ SHUTDOWN_DRAIN_MS: '0', MAX_CONNECTIONS_PER_IP: '1000' });
    const sockets: ClientSocket[] = [];
    try {
      const user = await registerTokenUser(api.url, 'spread-stop');
      for (let i = 0; i < 150; i++) {
        sockets.push(io(`${api.url}/chat`, { auth: { token: user.client.token }, transports: ['websocket'], forceNew: true, reconnection: false }));
      }
      await Promise.all(sockets.map((s) => new Promise<void>((resolve, reject) => (s.once('connect', () => resolve()), s.once('connect_error', reject)))));
      const closedAt: number[] = [];
      for (const s of sockets) s.once('disconnect', () => closedAt.push(Date.now()));
      api.child.kill('SIGTERM');
      expect((await api.exited).code).toBe(0);
      await waitFor(async () => closedAt.length === sockets.length, 10000);
      // 150 sockets at 100 closes a second, 10 every 100 ms: 1.4 s from the first batch to the last (all in a
      // few ms before). One spread per gateway (three) closed them in ~0.8-1.2 s: the bound tells them apart.
      expect(Math.max(...closedAt) - Math.min(...closedAt)).toBeGreaterThan(1300);
    } finally {
      for (const s of sockets) s.close();
      await api.kill();
    }
  });
});
