import { EventEmitter } from 'node:events';
import type { ClientEventRunner } from './client-event-runner';
import { alice, fakeSocket } from './fake-socket.spec-helper';
import type { SocketAdmission } from './socket-admission';
import type { SocketAuthentication } from './socket-authentication';
import { SocketConnections } from './socket-connections';
import type { SocketNamespaces } from './socket-namespaces';
import type { SocketRecovery } from './socket-recovery';
import type { SocketRooms } from './socket-rooms';
import type { AppSocket } from './socket-state';

/** Every part records what it was asked; `fail` makes the welcome throw (Redis away during set-up). */
function setUp(fail = false) {
  const calls: string[] = [];
  const admission = { admitted: () => ({ offset: 41, revocationMark: 3, gone: () => undefined }), release: () => void calls.push('release') } as unknown as SocketAdmission;
  const authentication = {
    awaitToken: () => void calls.push('awaitToken'),
    welcome: async (_s: AppSocket, _p: unknown, offset: number, mark: number) => {
      calls.push(`welcome ${offset} ${mark}`);
      if (fail) throw new Error('Connection is closed.');
    },
    disconnected: () => void calls.push('deadline cleared'),
  } as unknown as SocketAuthentication;
  const recovery = { recover: async (_s: AppSocket, _p: unknown, r: { offset: number }, mark: number) => void calls.push(`recover ${r.offset} ${mark}`), forget: () => void calls.push('holds released') } as unknown as SocketRecovery;
  const rooms = { left: () => void calls.push('offline') } as unknown as SocketRooms;
  const connections = new SocketConnections(admission, {} as SocketNamespaces, {} as ClientEventRunner, authentication, recovery, rooms);
  return { connections, calls };
}

/** A fake socket whose client can leave: Socket.IO calls the 'disconnect' listeners with the socket as `this`. */
function eventedSocket(opts: Parameters<typeof fakeSocket>[0]) {
  const s = fakeSocket(opts);
  const listeners = new EventEmitter();
  Object.assign(s.socket, { on: (event: string, listener: () => void) => listeners.on(event, listener) });
  const clientLeaves = () => {
    for (const listener of listeners.listeners('disconnect')) (listener as (this: AppSocket) => void).call(s.socket);
  };
  return { ...s, clientLeaves };
}

describe('SocketConnections (a socket from connect to disconnect, through its parts)', () => {
  it('gives an unauthenticated socket its deadline, a handshake-authenticated one its welcome, a reconnect its recovery (once)', async () => {
    const { connections, calls } = setUp();
    await connections.onConnection(eventedSocket({ id: 'anon' }).socket);
    await connections.onConnection(eventedSocket({ id: 'new', principal: alice }).socket);
    const back = eventedSocket({ id: 'back', principal: alice });
    back.socket.data.recovery = { userId: 7, rooms: [], offset: '10' };
    await connections.onConnection(back.socket);
    expect(calls).toEqual(['awaitToken', 'welcome 41 3', 'recover 10 3']);
    expect(back.socket.data.recovery).toBeUndefined();
  });

  it('tells a socket whose set-up failed and closes its transport (the client comes back by itself), and releases everything when a socket leaves', async () => {
    const { connections, calls } = setUp(true);
    const s = eventedSocket({ principal: alice });
    await connections.onConnection(s.socket);
    expect(s.sent).toEqual([['error', { code: 'unavailable', message: 'Could not set up the connection' }]]);
    expect(s.transportClosed()).toBe(true);
    expect(s.disconnected()).toBe(false); // "io server disconnect" would keep the client away for good
    s.clientLeaves();
    expect(calls.slice(1)).toEqual(['deadline cleared', 'release', 'offline', 'holds released']);
  });
});
