import { randomBytes } from 'node:crypto';
import { connect, Socket as NetSocket } from 'node:net';
import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser, waitFor } from '../support/http-client';
import { openSocket } from './realtime-helpers';

jest.setTimeout(120000);

const MIN_PENDING = 2;

/**
 * An engine.io WebSocket connection that never asks for a namespace: it stays "in progress" for the
 * admission (between its handshake and its first Socket.IO answer) until it is closed. Resolves with
 * the upgrade's answer: 101 and the open socket, or the refusal's status and Retry-After.
 */
function engineOnly(port: number): Promise<{ sock?: NetSocket; status: number; retryAfter?: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let head = '';
    sock.setEncoding('latin1');
    sock.on('error', reject);
    sock.once('connect', () =>
      sock.write(
        `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
          `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n\r\n`,
      ),
    );
    const onData = (chunk: string): void => {
      head += chunk;
      if (!head.includes('\r\n\r\n')) return;
      sock.off('data', onData);
      const status = Number(/^HTTP\/1\.1 (\d+)/.exec(head)?.[1] ?? 0);
      if (status === 101) return resolve({ sock, status });
      sock.destroy();
      resolve({ status, retryAfter: /\r\nretry-after: *([^\r]*)/i.exec(head)?.[1] });
    };
    sock.on('data', onData);
  });
}

async function metric(api: ApiProcess, line: RegExp): Promise<number> {
  const text = await (await fetch(`${api.url}/metrics`)).text();
  const m = text.split('\n').find((l) => line.test(l));
  return m ? Number(m.split(' ').pop()) : NaN;
}

describe('handshake admission in reconnect storms (WS_MAX_PENDING_HANDSHAKES)', () => {
  let api: ApiProcess;
  const open: NetSocket[] = [];

  beforeAll(async () => {
    api = await startApi({
      REDIS_PREFIX: `sbadmit${Date.now()}:`,
      WS_MAX_PENDING_HANDSHAKES: String(MIN_PENDING),
      MAX_CONNECTIONS_PER_IP: '100000',
      MAX_CONCURRENT_CONNECTIONS: '100000',
      RATE_LIMIT_POINTS: '100000',
    });
  });

  afterEach(async () => {
    for (const sock of open.splice(0)) sock.destroy();
    await waitFor(async () => (await metric(api, /^socket_handshakes_pending /)) === 0);
  });

  afterAll(async () => {
    if (api && !api.running) console.log(`api exited:\n${api.logs().slice(-4000)}`);
    await api?.stop();
  });

  it('answers 429 with Retry-After to a new handshake while WS_MAX_PENDING_HANDSHAKES connections wait for their first answer, and counts it', async () => {
    const refusedBefore = await metric(api, /^socket_handshakes_total\{result="refused"\}/);
    for (let i = 0; i < MIN_PENDING; i++) {
      const r = await engineOnly(api.port);
      expect(r.status).toBe(101);
      open.push(r.sock as NetSocket);
    }
    expect(await metric(api, /^socket_handshakes_pending /)).toBe(MIN_PENDING);
    const refused = await engineOnly(api.port);
    expect(refused).toEqual({ status: 429, retryAfter: '1' });
    expect(await metric(api, /^socket_handshakes_total\{result="refused"\}/)).toBe((Number.isNaN(refusedBefore) ? 0 : refusedBefore) + 1);
    // A connection that closes stops counting.
    for (const sock of open.splice(0)) sock.destroy();
    await waitFor(async () => (await metric(api, /^socket_handshakes_pending /)) === 0);
    const again = await engineOnly(api.port);
    expect(again.status).toBe(101);
    open.push(again.sock as NetSocket);
  });

  it('stops counting a connection once it is answered: a client that connects frees its place for the next handshake', async () => {
    const { client } = await registerTokenUser(api.url, 'admit');
    const waiting = await engineOnly(api.port);
    expect(waiting.status).toBe(101);
    open.push(waiting.sock as NetSocket);
    const { socket, next } = openSocket(api.url, '/realtime', { token: client.token });
    try {
      await next('connected');
      expect(await metric(api, /^socket_handshakes_pending /)).toBe(1);
      const second = await engineOnly(api.port);
      expect(second.status).toBe(101);
      open.push(second.sock as NetSocket);
      expect(await engineOnly(api.port)).toEqual({ status: 429, retryAfter: '1' });
    } finally {
      socket.close();
    }
  });
});
