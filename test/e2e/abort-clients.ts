import { randomBytes } from 'node:crypto';
import { connect, Socket as NetSocket } from 'node:net';
import { io } from 'socket.io-client';

/**
 * Not a test file: clients that leave in the middle of setting up an SSE stream or a Socket.IO
 * connection, over raw TCP so the point where they leave is ours to choose (a client library
 * would finish its handshake first, or retry).
 */

export interface AbortPlan {
  /** Where the client leaves; the delays after a sent request land it before, during or after auth and the slot. */
  stage: string;
  delayMs: number;
  /** RST instead of FIN: the server sees ECONNRESET rather than an end. */
  reset: boolean;
  headers: Record<string, string>;
}

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function leave(sock: NetSocket, reset: boolean): void {
  if (reset && typeof sock.resetAndDestroy === 'function' && !sock.destroyed) sock.resetAndDestroy();
  else sock.destroy();
}

/** Resolves once `marker` has arrived on `sock` (or the socket closed, or `timeoutMs` passed). */
function waitForData(sock: NetSocket, seen: { data: string }, marker: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (seen.data.includes(marker)) return resolve(true);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.off('data', onData);
      sock.off('close', onClose);
      resolve(ok);
    };
    const onData = () => seen.data.includes(marker) && done(true);
    const onClose = () => done(false);
    const timer = setTimeout(() => done(false), timeoutMs);
    sock.on('data', onData);
    sock.on('close', onClose);
  });
}

function openTcp(port: number): { sock: NetSocket; seen: { data: string }; ready: Promise<boolean> } {
  const sock = connect(port, '127.0.0.1');
  const seen = { data: '' };
  sock.setEncoding('latin1');
  sock.on('data', (chunk: string) => (seen.data += chunk));
  sock.on('error', () => undefined); // a reset is what we are after
  const ready = new Promise<boolean>((resolve) => {
    sock.once('connect', () => resolve(true));
    sock.once('close', () => resolve(false));
  });
  return { sock, seen, ready };
}

function headerLines(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
}

export const SSE_STAGES = ['connected', 'partial', 'sent', 'sent', 'sent', 'sent', 'headers'] as const;

/** One SSE request over raw TCP that the client abandons at `plan.stage`. */
export async function abortedSse(port: number, path: string, plan: AbortPlan): Promise<void> {
  const { sock, seen, ready } = openTcp(port);
  try {
    if (!(await ready)) return;
    const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAccept: text/event-stream\r\n${headerLines(plan.headers)}\r\n`;
    switch (plan.stage) {
      case 'connected':
        await sleep(plan.delayMs);
        break;
      case 'partial':
        sock.write(request.slice(0, Math.floor(request.length / 2)));
        await sleep(plan.delayMs);
        break;
      case 'sent':
        sock.write(request);
        await sleep(plan.delayMs);
        break;
      case 'headers':
        sock.write(request);
        await waitForData(sock, seen, '\r\n\r\n', 5000);
        break;
    }
  } finally {
    leave(sock, plan.reset);
  }
}

/** A client→server WebSocket text frame (masked, as RFC 6455 requires of clients). */
function wsTextFrame(text: string): Buffer {
  const payload = Buffer.from(text);
  const mask = randomBytes(4);
  const head = payload.length < 126 ? Buffer.from([0x81, 0x80 | payload.length]) : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload[i] ^ mask[i % 4];
  return Buffer.concat([head, mask, masked]);
}

export const SOCKET_STAGES = ['connected', 'partial', 'upgrade', 'open', 'connect-sent', 'connect-sent', 'connect-sent', 'connect-sent', 'joined'] as const;

/**
 * One Socket.IO handshake over raw TCP (engine.io on the websocket transport, no deflate offered),
 * abandoned at `plan.stage`: before or during the HTTP upgrade, after engine.io's open packet,
 * `delayMs` after the namespace CONNECT packet (auth and the slot script), or once connected.
 */
export async function abortedSocket(port: number, nsp: string, auth: Record<string, string>, plan: AbortPlan): Promise<void> {
  const { sock, seen, ready } = openTcp(port);
  try {
    if (!(await ready)) return;
    const upgrade =
      `GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n${headerLines(plan.headers)}\r\n`;
    if (plan.stage === 'connected') return void (await sleep(plan.delayMs));
    if (plan.stage === 'partial') {
      sock.write(upgrade.slice(0, Math.floor(upgrade.length / 2)));
      return void (await sleep(plan.delayMs));
    }
    sock.write(upgrade);
    if (plan.stage === 'upgrade') return void (await sleep(plan.delayMs));
    if (!(await waitForData(sock, seen, '0{"sid"', 5000))) return;
    if (plan.stage === 'open') return void (await sleep(plan.delayMs));
    const prefix = nsp === '/' ? '40' : `40${nsp},`;
    sock.write(wsTextFrame(`${prefix}${JSON.stringify(auth)}`));
    if (plan.stage === 'connect-sent') return void (await sleep(plan.delayMs));
    await waitForData(sock, seen, `${prefix}{"sid"`, 5000);
  } finally {
    leave(sock, plan.reset);
  }
}

/**
 * socket.io-client itself, closed `delayMs` after it started. WebSocket only: a long-polling
 * transport closed while no GET is pending keeps engine.io's 30 s close timer, which is the
 * library's own and bounded, and would hide ours in the timer count.
 */
export async function abandonedClient(url: string, nsp: string, token: string | undefined, headers: Record<string, string>, delayMs: number): Promise<void> {
  const socket = io(url + nsp, {
    auth: token ? { token } : {},
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    extraHeaders: headers,
    timeout: 5000,
  });
  socket.on('connect_error', () => undefined);
  await sleep(delayMs);
  socket.close();
}

export function randomPlan(stages: readonly string[], headers: Record<string, string>, maxDelayMs: number): AbortPlan {
  return { stage: pick(stages), delayMs: Math.floor(Math.random() * maxDelayMs), reset: Math.random() < 0.5, headers };
}

/** Runs `tasks` with at most `width` in flight. */
export async function inWaves(tasks: (() => Promise<void>)[], width: number): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < tasks.length) await tasks[next++]().catch(() => undefined);
  };
  await Promise.all(Array.from({ length: width }, lane));
}

export { pick };
