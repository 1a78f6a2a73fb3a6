import { ReplyError } from 'ioredis';
import { EventEmitter } from 'node:events';
import type { Socket } from 'socket.io';
import type { AppConfig } from '../../config/app-config';
import type { Authenticator } from '../session/authenticator';
import { ClusterState, ConnectionRefusedError, LIMIT_RETRY_AFTER_MS } from './cluster-state';
import type { EventLog } from './event-log';
import { RecentRevocations } from './recent-revocations';
import { SocketAdmission } from './socket-admission';
import type { AppSocket } from './socket-state';

/** ioredis re-exports redis-errors' ReplyError untyped: a reply error as Redis sends it. */
const RedisReply = ReplyError as unknown as new (message: string) => Error;

const config = { http: { trustedProxies: { trusts: () => false }, corsOrigins: [] } } as unknown as AppConfig;
const authenticator = {
  checkToken: (token: string) => (token === 'valid' ? { principal: { id: 7, role: 'user', via: 'token', tokenId: 'uuid', tokenExpiresAt: 1 }, revocationKey: 'revoked:uuid' } : null),
  fromRequest: async () => null,
} as unknown as Authenticator;

/** The cluster slot ledger, in memory: `answer` is what the slot script returns for the keys read with it. */
function fakeCluster(answer: () => Promise<(string | null)[]>) {
  const held = new Set<object>();
  const released: object[] = [];
  const cluster = {
    acquire: async (_ip: string, _kind: unknown, holder: object) => {
      const values = await answer();
      held.add(holder);
      return values;
    },
    release: (holder: object) => {
      if (held.delete(holder)) released.push(holder);
    },
  } as unknown as ClusterState;
  return { cluster, held, released };
}

function fakeSocket(token?: string) {
  const conn = Object.assign(new EventEmitter(), {
    readyState: 'open',
    close(this: { readyState: string }) {
      this.readyState = 'closing';
    },
  });
  return { handshake: { address: '10.0.0.1', headers: {}, auth: token ? { token } : {} }, data: {}, request: {}, conn, connected: false } as unknown as AppSocket & { conn: EventEmitter & { readyState: string } };
}

function admit(admission: SocketAdmission, socket: Socket): Promise<Error | undefined> {
  return new Promise((resolve) => admission.middleware()(socket, resolve));
}

describe('SocketAdmission (the namespace middleware: cluster slot, then handshake auth)', () => {
  const log = { seqKey: 'seq', shards: [{}] } as unknown as EventLog;

  it('holds the websocket transport while socket.io connects the socket, then lets engine.io flush once', async () => {
    const { cluster } = fakeCluster(() => Promise.resolve([null, '0']));
    const socket = fakeSocket('valid');
    const transport = Object.assign(new EventEmitter(), { name: 'websocket', writable: true });
    let readies = 0;
    transport.on('ready', () => readies++);
    Object.assign(socket.conn, { transport });
    const seen: boolean[] = [];
    await new Promise<void>((resolve) =>
      new SocketAdmission(config, authenticator, cluster, log, new RecentRevocations()).middleware()(socket, (err) => {
        expect(err).toBeUndefined();
        // socket.io connects the socket in a nextTick queued here: CONNECT, `connected`, `authenticated` wait.
        process.nextTick(() => seen.push(transport.writable));
        resolve();
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen).toEqual([false]);
    expect(transport.writable).toBe(true);
    expect(readies).toBe(1);
  });

  it('refuses a socket past the cluster limits with the code in err.data, and it holds no slot', async () => {
    const { cluster, held } = fakeCluster(() => Promise.reject(new ConnectionRefusedError('ip_limit')));
    const err = await admit(new SocketAdmission(config, authenticator, cluster, log, new RecentRevocations()), fakeSocket('valid'));
    expect((err as Error & { data: unknown }).data).toEqual({ code: 'ip_limit', message: 'Too many connections from this address', retryAfterMs: LIMIT_RETRY_AFTER_MS });
    expect(held.size).toBe(0);
  });

  it('closes the transport when Redis fails during admission (the client reconnects by itself), but refuses a limit with connect_error', async () => {
    const failing = fakeCluster(() => Promise.reject(new RedisReply('LOADING Redis is loading the dataset in memory')));
    const socket = fakeSocket('valid');
    const err = await admit(new SocketAdmission(config, authenticator, failing.cluster, log, new RecentRevocations()), socket);
    expect({ code: (err as Error & { data: { code: string } }).data.code, conn: socket.conn.readyState, held: failing.held.size }).toEqual({ code: 'unavailable', conn: 'closing', held: 0 });

    const limited = fakeSocket('valid');
    await admit(new SocketAdmission(config, authenticator, fakeCluster(() => Promise.reject(new ConnectionRefusedError('connection_limit'))).cluster, log, new RecentRevocations()), limited);
    expect(limited.conn.readyState).toBe('open'); // the refusal is told to the client, which does not hammer

    const buggy = fakeSocket('valid');
    const bug = await admit(new SocketAdmission(config, authenticator, fakeCluster(() => Promise.reject(new TypeError('x is undefined'))).cluster, log, new RecentRevocations()), buggy);
    expect({ code: (bug as Error & { data: { code: string } }).data.code, conn: buggy.conn.readyState }).toEqual({ code: 'unavailable', conn: 'open' }); // a bug: refused, not retried forever
  });

  it('authenticates a valid handshake token in the slot call, keeps only {id, role, via}, and hands over the recovery offset', async () => {
    const { cluster } = fakeCluster(async () => [null, '41']);
    const admission = new SocketAdmission(config, authenticator, cluster, log, new RecentRevocations());
    const socket = fakeSocket('valid');
    expect(await admit(admission, socket)).toBeUndefined();
    expect(socket.data.principal).toEqual({ id: 7, role: 'user', via: 'token' });
    expect(socket.handshake.auth).toEqual({}); // the token is not kept for the socket's life
    expect(admission.admitted(socket)?.offset).toBe('41');
    expect(socket.conn.listenerCount('close')).toBe(0);
  });

  it('admits a revoked token as an unauthenticated socket (it then has AUTH_TIMEOUT_MS to authenticate)', async () => {
    const { cluster } = fakeCluster(async () => ['1', '41']);
    const socket = fakeSocket('valid');
    expect(await admit(new SocketAdmission(config, authenticator, cluster, log, new RecentRevocations()), socket)).toBeUndefined();
    expect(socket.data.principal).toBeUndefined();
  });

  it('gives the slot back when the client leaves before connecting, or left while the slot was being taken', async () => {
    const { cluster, held, released } = fakeCluster(async () => [null, '1']);
    const admission = new SocketAdmission(config, authenticator, cluster, log, new RecentRevocations());
    const leaves = fakeSocket('valid');
    await admit(admission, leaves);
    leaves.conn.emit('close');
    expect([held.size, released]).toEqual([0, [leaves]]);

    let closeMeanwhile = () => undefined as void;
    const slow = fakeCluster(() => new Promise((resolve) => (closeMeanwhile = () => resolve([null, '1']))));
    const gone = fakeSocket('valid');
    const admitted = admit(new SocketAdmission(config, authenticator, slow.cluster, log, new RecentRevocations()), gone);
    gone.conn.readyState = 'closed'; // its 'close' was emitted while the script ran
    closeMeanwhile();
    await admitted;
    expect([slow.held.size, slow.released]).toEqual([0, [gone]]);
  });
});
