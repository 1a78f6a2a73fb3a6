import type { AppConfig } from '../../config/app-config';
import { BadRequestError, UnauthorizedError } from '../errors/domain-error';
import type { Authenticator } from '../session/authenticator';
import type { Principal } from '../session/principal';
import { AuthDeadline } from './auth-deadline';
import type { ClusterState } from './cluster-state';
import type { EventLog } from './event-log';
import { alice, fakeSocket } from './fake-socket.spec-helper';
import { RecentRevocations } from './recent-revocations';
import { BROADCAST_ROOM } from './redis-realtime.service';
import type { RoomAccess } from './room-access';
import { SocketAuthentication } from './socket-authentication';
import type { SocketNamespaces } from './socket-namespaces';
import { SocketLogout } from './socket-logout';
import type { RoomHearing } from './room-hearing';
import { SocketRooms } from './socket-rooms';
import type { SocketSessionStore, StoredSession } from './socket-sessions';

const config = { realtime: { authTimeoutMs: 1000, maxRoomsPerSocket: 10, recoveryWindowMs: 3000 } } as unknown as AppConfig;
const aliceToken: Principal = { ...alice, tokenId: 'token-uuid', tokenExpiresAt: 1 };

function setUp(verify: (token: string) => Promise<Principal | null> = async (t) => (t === 'good' ? aliceToken : null)) {
  const saved: { how: string; session: StoredSession }[] = [];
  const store = {
    save: async (session: StoredSession) => void saved.push({ how: 'save', session }),
    saveSoon: async (session: StoredSession) => void saved.push({ how: 'saveSoon', session }),
  } as unknown as SocketSessionStore;
  const cluster = { userOnline: () => undefined } as unknown as ClusterState;
  const revocations = new RecentRevocations();
  const rooms = new SocketRooms(config, {} as RoomAccess, cluster, store, { all: () => [] } as unknown as SocketNamespaces, revocations, { hear: async () => undefined } as unknown as RoomHearing);
  const log = { offsetForNewSocket: async () => '99' } as unknown as EventLog;
  const authenticator = { fromToken: verify } as unknown as Authenticator;
  const auth = new SocketAuthentication(authenticator, log, new AuthDeadline(config), rooms, new SocketLogout(revocations));
  return { auth, saved, revocations };
}

describe('SocketAuthentication (who a new socket is: the handshake, or `authenticate` before the deadline)', () => {
  afterEach(() => jest.useRealTimers());

  it('welcomes a socket authenticated in the handshake: rooms, `connected` with its offset, `authenticated`, its first session save', async () => {
    const { auth, saved } = setUp();
    const fromSlot = fakeSocket({ principal: alice });
    await auth.welcome(fromSlot.socket, alice, '41', 0);
    expect(fromSlot.sent).toEqual([
      ['connected', { socketId: 's1', recovered: false }, '41'],
      ['authenticated', { userId: 7 }],
    ]);
    expect([fromSlot.socket.rooms.has('user:7'), fromSlot.socket.rooms.has(BROADCAST_ROOM)]).toEqual([true, true]);
    expect(saved.map((x) => x.how)).toEqual(['saveSoon']);
    const noOffset = fakeSocket({ id: 's2', principal: alice });
    await auth.welcome(noOffset.socket, alice, undefined, 0);
    expect(noOffset.sent[0]).toEqual(['connected', { socketId: 's2', recovered: false }, '99']);
  });

  it('ends a handshake-authenticated socket whose session ended while it connected, before it is told anything else', async () => {
    const { auth, saved, revocations } = setUp();
    const s = fakeSocket({ principal: alice });
    const mark = revocations.mark();
    revocations.recordEnded(7, 'all');
    await auth.welcome(s.socket, alice, '41', mark);
    expect(s.sent.map(([name]) => name)).toEqual(['error']);
    expect([s.disconnected(), saved]).toEqual([true, []]);
  });

  it('authenticates with a valid token: principal {id, role, via}, credential, rooms, session, `authenticated`; the deadline no longer applies', async () => {
    jest.useFakeTimers();
    const { auth, saved } = setUp();
    const s = fakeSocket();
    auth.awaitToken(s.socket);
    expect(s.sent).toEqual([['connected', { socketId: 's1', recovered: false }]]);
    await expect(auth.authenticate(s.socket, { token: 'good', userId: '7' })).resolves.toEqual({ userId: 7 });
    expect(s.socket.data.principal).toEqual({ id: 7, role: 'user', via: 'token' });
    expect(typeof s.socket.data.credential).toBe('number');
    expect(s.socket.rooms.has('user:7')).toBe(true);
    expect(saved.map((x) => [x.how, x.session.userId])).toEqual([['save', 7]]);
    jest.advanceTimersByTime(5000);
    expect(s.sent.map(([name]) => name)).toEqual(['connected', 'authenticated']);
    expect(s.disconnected()).toBe(false);
  });

  it('refuses a bad token, a userId naming someone else, and a second user on the same socket, changing nothing', async () => {
    const { auth, saved } = setUp();
    const s = fakeSocket();
    await expect(auth.authenticate(s.socket, { token: 'bad' })).rejects.toThrow(new UnauthorizedError('Invalid or expired token'));
    await expect(auth.authenticate(s.socket, { token: 'good', userId: 8 })).rejects.toThrow(new UnauthorizedError('userId does not match the token'));
    expect([s.socket.data.principal, [...s.socket.rooms], saved, s.sent]).toEqual([undefined, ['s1'], [], []]);
    const bob = fakeSocket({ principal: { id: 8, role: 'user', via: 'token' } });
    await expect(auth.authenticate(bob.socket, { token: 'good' })).rejects.toThrow(BadRequestError);
    expect(bob.socket.data.principal?.id).toBe(8);
  });

  it('refuses a token whose logout was heard while it was being checked, and ends the socket', async () => {
    const { auth, revocations } = setUp();
    const s = fakeSocket();
    const verify = auth.authenticate(s.socket, { token: 'good' });
    revocations.recordEnded(7, 'all'); // heard after the mark, before the check answered
    await expect(verify).rejects.toThrow(new UnauthorizedError('Invalid or expired token'));
    expect(s.disconnected()).toBe(true);
  });

  it('disconnects a socket that never authenticates once the deadline passes', () => {
    jest.useFakeTimers();
    const { auth } = setUp();
    const s = fakeSocket();
    auth.awaitToken(s.socket);
    jest.advanceTimersByTime(1000);
    expect(s.sent.map(([name]) => name)).toEqual(['connected', 'error']);
    expect(s.disconnected()).toBe(true);
  });
});
