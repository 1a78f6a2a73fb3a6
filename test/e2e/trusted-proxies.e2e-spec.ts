import { request as httpRequest } from 'node:http';
import { networkInterfaces } from 'node:os';
import { io, Socket } from 'socket.io-client';
import { ApiProcess, startApi } from '../support/api-process';
import { registerTokenUser } from '../support/http-client';
import { outcome } from './realtime-helpers';

/**
 * The client address behind limits and logs (SPEC §3 TRUSTED_PROXIES). The
 * "LAN peer" is this machine's own unique-local IPv6 address used as the
 * source of connections to [::1], which Express used to trust like a proxy
 * (uniquelocal); loopback is the default trusted proxy (nginx on the host).
 */
const lanPeer = Object.values(networkInterfaces())
  .flat()
  .find((i) => i && !i.internal && i.family === 'IPv6' && /^f[cd]/i.test(i.address))?.address;

interface Peer {
  /** Source address of the connection; undefined for 127.0.0.1. */
  from?: string;
}

function target(api: ApiProcess, peer: Peer): string {
  return peer.from ? `http://[::1]:${api.port}` : api.url;
}

/** A login attempt (wrong password) from `peer` claiming `xff`; resolves to the status. */
function login(api: ApiProcess, peer: Peer, xff: string, email: string): Promise<number> {
  const body = JSON.stringify({ email, password: 'wrong-password-1' });
  const url = new URL(`${target(api, peer)}/api/auth/login`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: peer.from,
        family: peer.from ? 6 : 4,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'x-forwarded-for': xff },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode as number));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function socketFrom(api: ApiProcess, peer: Peer, token: string, xff: string): Socket {
  return io(`${target(api, peer)}/realtime`, {
    auth: { token },
    transports: ['websocket'],
    forceNew: true,
    reconnection: false,
    extraHeaders: { 'x-forwarded-for': xff },
    // engine.io-client hands localAddress to the ws connection.
    ...({ localAddress: peer.from, family: peer.from ? 6 : 4 } as object),
  });
}

/** Statuses of `n` login attempts, each claiming a different X-Forwarded-For address (and email). */
async function rotatedLogins(api: ApiProcess, peer: Peer, n: number, xff: (i: number) => string): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < n; i++) statuses.push(await login(api, peer, xff(i), `rotate-${i}-${Date.now()}@example.test`));
  return statuses;
}

const rotating = (i: number) => `203.0.113.${i + 1}`;

describe('trusted proxies: the client address every limit uses', () => {
  const apis: ApiProcess[] = [];
  const sockets: Socket[] = [];
  // HOST '::': the api must face the network for a LAN peer to reach it at all (it listens on 127.0.0.1 by default, issue 11 §11).
  const limits = (prefix: string) => ({ HOST: '::', HTTP_RATE_LIMIT_POINTS: '4', MAX_CONNECTIONS_PER_IP: '2', REDIS_PREFIX: `sbproxy${prefix}${Date.now()}:` });

  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });
  afterAll(async () => {
    await Promise.all(apis.map((a) => a.stop()));
  });

  it('finds a unique-local address on this machine to play the LAN peer', () => {
    expect(lanPeer).toBeDefined();
  });

  it('ignores X-Forwarded-For from a private-network peer by default: logins and sockets count its own address', async () => {
    const api = await startApi(limits('lan'));
    apis.push(api);
    const peer = { from: lanPeer };
    const statuses = await rotatedLogins(api, peer, 6, rotating);
    expect(statuses.slice(0, 4)).toEqual([401, 401, 401, 401]);
    expect(statuses.slice(4)).toEqual([429, 429]);

    const { client } = await registerTokenUser(api.url, 'lanpeer');
    const opened = [0, 1, 2].map((i) => socketFrom(api, peer, client.token as string, rotating(i)));
    sockets.push(...opened);
    const accepted = await Promise.all(opened.map((s) => outcome(s)));
    expect(accepted.filter(Boolean)).toHaveLength(2);
  });

  it('believes nobody with TRUSTED_PROXIES=none, not even loopback', async () => {
    const api = await startApi({ ...limits('none'), TRUSTED_PROXIES: 'none' });
    apis.push(api);
    const statuses = await rotatedLogins(api, {}, 6, rotating);
    expect(statuses.slice(4)).toEqual([429, 429]);
  });

  it('takes the right-most address a listed proxy did not add, for logins and sockets alike', async () => {
    const api = await startApi({ ...limits('listed'), TRUSTED_PROXIES: `loopback,${lanPeer}` });
    apis.push(api);
    const peer = { from: lanPeer };
    // Distinct clients behind the proxy each have their own budget...
    expect(await rotatedLogins(api, peer, 6, rotating)).toEqual([401, 401, 401, 401, 401, 401]);
    // ...and what one client writes left of its real address changes nothing.
    const spoofing = await rotatedLogins(api, peer, 6, (i) => `10.9.9.${i}, 198.51.100.77`);
    expect(spoofing.slice(4)).toEqual([429, 429]);

    const { client } = await registerTokenUser(api.url, 'listed');
    const token = client.token as string;
    const distinct = [0, 1, 2].map((i) => socketFrom(api, peer, token, rotating(i)));
    sockets.push(...distinct);
    expect(await Promise.all(distinct.map((s) => outcome(s)))).toEqual([true, true, true]);
    const sameClient = [0, 1, 2].map((i) => socketFrom(api, peer, token, `10.8.8.${i}, 198.51.100.88`));
    sockets.push(...sameClient);
    expect((await Promise.all(sameClient.map((s) => outcome(s)))).filter(Boolean)).toHaveLength(2);
  });
});
