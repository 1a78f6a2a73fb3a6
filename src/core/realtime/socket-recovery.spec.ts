import type { Socket } from 'socket.io';
import type { AppConfig } from '../../config/app-config';
import type { Principal } from '../session/principal';
import type { ClusterState } from './cluster-state';
import type { EventLog, HistoryRead, LoggedEvent } from './event-log';
import { EventRouting } from './event-routing';
import { alice, fakeSocket } from './fake-socket.spec-helper';
import type { RealtimeHub } from './realtime-hub';
import { RecentRevocations } from './recent-revocations';
import { BROADCAST_ROOM } from './redis-realtime.service';
import type { RoomAccess } from './room-access';
import type { SocketNamespaces } from './socket-namespaces';
import { SocketLogout } from './socket-logout';
import { SocketRecovery } from './socket-recovery';
import type { RoomHearing } from './room-hearing';
import { SocketRooms } from './socket-rooms';
import type { SocketSessionStore, StoredSession } from './socket-sessions';

const config = { realtime: { maxRoomsPerSocket: 10, recoveryWindowMs: 3000 } } as unknown as AppConfig;
const routing = new EventRouting([
  { namespace: '/realtime', events: ['*'] },
  { namespace: '/chat', events: ['message:*', 'typing'], skipRoom: (type, payload) => (type === 'typing' ? `user:${String(payload.userId)}` : undefined) },
]);
/** alice may still see project:1; she lost project:2 while she was away. */
const access = { may: async (_user: Principal, room: string) => room === 'project:1' } as unknown as RoomAccess;

const event = (id: number, rooms: string[], eventType = 'job:progress', extra: Partial<LoggedEvent> = {}): LoggedEvent => ({
  id,
  eventType,
  timestamp: '2026-12-03T18:00:00.000Z',
  payload: {},
  target: 'all',
  rooms,
  ...extra,
});

function setUp(history: HistoryRead, currentId = 0, whileReading: () => Promise<void> = async () => undefined) {
  const replays: { began: string[]; ended: [string, string | number][] } = { began: [], ended: [] };
  const hub = {
    beginReplay: (socket: Socket) => void replays.began.push(socket.id),
    endReplay: (socket: Socket, lastSent: string | number) => void replays.ended.push([socket.id, lastSent]),
  } as unknown as RealtimeHub;
  const reads: { rooms: string[]; after: string }[] = [];
  const log = {
    readAfter: async (rooms: string[], after: string) => {
      reads.push({ rooms: [...rooms].sort(), after });
      await whileReading();
      return history;
    },
    currentPosition: async () => [currentId],
    format: (p: number[]) => p.join('.'),
  } as unknown as EventLog;
  const saved: StoredSession[] = [];
  const store = { save: async (s: StoredSession) => void saved.push(s) } as unknown as SocketSessionStore;
  const cluster = { userOnline: () => undefined } as unknown as ClusterState;
  const revocations = new RecentRevocations();
  const rooms = new SocketRooms(config, access, cluster, store, { all: () => [] } as unknown as SocketNamespaces, revocations, { hear: async () => undefined } as unknown as RoomHearing);
  const recovery = new SocketRecovery(hub, log, routing, rooms, new SocketLogout(revocations));
  return { recovery, replays, reads, saved, revocations, rooms };
}

describe('SocketRecovery (replay on reconnect: rooms re-checked, exactly what was missed, all or nothing)', () => {
  const pending = { userId: 7, rooms: ['project:1', 'project:2'], offset: '10' };

  it('replays exactly the events after the offset that the socket would have been sent, in id order, then goes live after the last one read', async () => {
    const history = {
      gap: false,
      events: [
        event(11, ['project:1']),
        event(12, ['project:2']), // a room it lost
        event(13, ['user:7'], 'message:new'), // another namespace's event
        event(14, [BROADCAST_ROOM], 'job:done', { target: 'sse' }), // SSE only
        event(15, ['user:7'], 'job:completed'),
      ],
    };
    const { recovery, replays, reads, saved } = setUp(history);
    const s = fakeSocket({ principal: alice });
    await recovery.recover(s.socket, alice, pending, undefined);
    expect(reads).toEqual([{ after: '10', rooms: [BROADCAST_ROOM, 'project:1', 's1', 'user:7'] }]);
    expect(s.sent[0]).toEqual(['connected', { socketId: 's1', recovered: true }, '10']);
    expect(s.sent.slice(1).map(([name, , id]) => [name, id])).toEqual([
      ['job:progress', '11'],
      ['job:completed', '15'],
      ['authenticated', undefined],
    ]);
    expect(s.socket.data.rooms).toEqual(['project:1']);
    expect(saved.map((x) => x.rooms)).toEqual([['project:1']]);
    expect(replays).toEqual({ began: ['s1'], ended: [['s1', '15']] });
  });

  it('saves the session once, when the recovery is done: a save asked for meanwhile would have stored a list still being rebuilt', async () => {
    const s = fakeSocket({ principal: alice });
    const savedDuring: StoredSession[][] = [];
    const { recovery, saved, rooms } = setUp({ gap: false, events: [] }, 0, async () => {
      await rooms.save(s.socket); // e.g. a subscribe that passed its check while the recovery read history
      savedDuring.push([...saved]);
    });
    await recovery.recover(s.socket, alice, pending, undefined);
    expect(savedDuring).toEqual([[]]);
    expect(saved.map((x) => x.rooms)).toEqual([['project:1']]);
    expect(s.socket.data.recovering).toBeUndefined();
  });

  it('leaves out an event its namespace skips for the sender (typing to its own user room)', async () => {
    const { recovery } = setUp({ gap: false, events: [event(11, ['project:1'], 'typing', { payload: { userId: 7 } }), event(12, ['project:1'], 'message:new')] });
    const s = fakeSocket({ nsp: '/chat', principal: alice });
    await recovery.recover(s.socket, alice, pending, undefined);
    expect(s.delivered()).toEqual(['message:new']);
  });

  it('says recovered:false on a gap, replays nothing, and goes live from the newest id', async () => {
    const { recovery, replays } = setUp({ gap: true, events: [event(11, ['project:1'])] }, 42);
    const s = fakeSocket({ principal: alice });
    await recovery.recover(s.socket, alice, pending, undefined);
    expect(s.sent).toEqual([
      ['connected', { socketId: 's1', recovered: false }, '42'],
      ['authenticated', { userId: 7 }],
    ]);
    expect(replays.ended).toEqual([['s1', '42']]);
  });

  it('ends a socket whose session ended while it reconnected, and replays nothing', async () => {
    const { recovery, replays, reads, revocations } = setUp({ gap: false, events: [event(11, ['project:1'])] });
    const s = fakeSocket({ principal: alice });
    const mark = revocations.mark();
    revocations.recordEnded(7, 'all');
    await recovery.recover(s.socket, alice, pending, mark);
    expect(s.sent).toEqual([['error', { code: 'session_ended', message: 'The session or token this connection used has ended' }]]);
    expect(s.disconnected()).toBe(true);
    expect(reads).toEqual([]);
    expect(replays.ended).toEqual([['s1', '10']]);
  });

  it('releases what was held for a socket that disconnected', () => {
    const { recovery, replays } = setUp({ gap: false, events: [] });
    recovery.forget(fakeSocket().socket);
    expect(replays.ended).toEqual([['s1', Number.MAX_SAFE_INTEGER]]);
  });
});
