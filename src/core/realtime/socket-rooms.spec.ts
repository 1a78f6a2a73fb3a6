import type { Namespace } from 'socket.io';
import type { AppConfig } from '../../config/app-config';
import { BadRequestError, DomainError, ForbiddenError } from '../errors/domain-error';
import type { Principal } from '../session/principal';
import type { ClusterState } from './cluster-state';
import { RecentRevocations } from './recent-revocations';
import { admin, alice, fakeSocket } from './fake-socket.spec-helper';
import { ADMINS_ROOM, BROADCAST_ROOM } from './redis-realtime.service';
import type { RoomAccess } from './room-access';
import type { SocketNamespaces } from './socket-namespaces';
import type { RoomHearing } from './room-hearing';
import { SocketRooms } from './socket-rooms';
import type { SocketSessionStore, StoredSession } from './socket-sessions';

const config = { realtime: { maxRoomsPerSocket: 2, recoveryWindowMs: 3000 } } as unknown as AppConfig;

/** RoomAccess: alice may subscribe to project:1 to 3 and her own room; a recovery re-check (`may`) finds project:2 lost. */
const mayListen = (user: Principal, room: string) => room === 'project:1' || room === 'project:2' || room === 'project:3' || room === `user:${user.id}`;
const access = {
  assert: async (user: Principal, room: string) => {
    if (!mayListen(user, room)) throw new ForbiddenError('You may not subscribe to this room');
  },
  may: async (user: Principal, room: string) => room !== 'project:2' && mayListen(user, room),
} as unknown as RoomAccess;

function setUp(namespaces: Namespace[] = [], checks?: RoomAccess) {
  const saved: { how: 'save' | 'saveSoon'; session: StoredSession }[] = [];
  const touched: string[][] = [];
  const handed: string[] = [];
  const store = {
    save: async (session: StoredSession) => void saved.push({ how: 'save', session }),
    saveSoon: async (session: StoredSession) => void saved.push({ how: 'saveSoon', session }),
    touch: async (pids: string[]) => void touched.push(pids),
    handToClaim: (sid: string, room: string) => void handed.push(`${sid} ${room}`),
  } as unknown as SocketSessionStore;
  const presence: string[] = [];
  const cluster = { userOnline: (id: number) => presence.push(`online ${id}`), userOffline: (id: number) => presence.push(`offline ${id}`) } as unknown as ClusterState;
  const revocations = new RecentRevocations();
  const heard: string[][] = [];
  const trail: string[] = [];
  const hearing = {
    hear: async (rooms: Iterable<string>) => {
      heard.push([...rooms]);
      trail.push(`heard ${[...rooms].join(',')}`);
    },
  } as unknown as RoomHearing;
  const rooms = new SocketRooms(config, checks ?? access, cluster, store, { all: () => namespaces } as unknown as SocketNamespaces, revocations, hearing);
  return { rooms, saved, touched, presence, revocations, handed, store, heard, trail };
}

describe('SocketRooms (room membership with its rules, and the stored session that lists it)', () => {
  it('refuses a room the user may not listen to and changes nothing: not joined, not listed, not stored', async () => {
    const { rooms, saved } = setUp();
    const s = fakeSocket({ principal: alice, rooms: ['project:1'] });
    await expect(rooms.join(s.socket, alice, 'project:9')).rejects.toThrow(ForbiddenError);
    expect(s.socket.data.rooms).toEqual(['project:1']);
    expect(s.socket.rooms.has('project:9')).toBe(false);
    expect(saved).toEqual([]);
  });

  it('refuses a room whose access was lost while its check ran (AccessRevocations found nothing to remove yet)', async () => {
    let heardMeanwhile = () => undefined as void;
    const racing = {
      assert: async () => heardMeanwhile(),
      may: async () => {
        heardMeanwhile();
        return true;
      },
    } as unknown as RoomAccess;
    const { rooms, saved, revocations } = setUp([], racing);
    heardMeanwhile = () => revocations.record(7, 'project:1');
    const s = fakeSocket({ principal: alice });
    await expect(rooms.join(s.socket, alice, 'project:1')).rejects.toThrow(ForbiddenError);
    await rooms.rejoin(s.socket, alice, ['project:1']);
    expect([s.socket.data.rooms, s.socket.rooms.has('project:1'), saved]).toEqual([[], false, []]);
    heardMeanwhile = () => revocations.record(7, 'project:2'); // another room: no effect on this one
    await rooms.join(s.socket, alice, 'project:1');
    expect(s.socket.data.rooms).toEqual(['project:1']);
  });

  it('joins an allowed room once, stores the session with it, and refuses rooms past MAX_ROOMS_PER_SOCKET', async () => {
    const { rooms, saved } = setUp();
    const s = fakeSocket({ principal: alice });
    await rooms.join(s.socket, alice, 'project:1');
    await rooms.join(s.socket, alice, 'project:1');
    expect(s.socket.rooms.has('project:1')).toBe(true);
    expect(saved).toEqual([{ how: 'save', session: { sid: 's1', pid: 'pid-s1', nsp: '/realtime', userId: 7, rooms: ['project:1'] } }]);
    await rooms.join(s.socket, alice, 'project:2');
    const refused = rooms.join(s.socket, alice, 'project:3');
    await expect(refused).rejects.toThrow(DomainError);
    await expect(refused).rejects.toMatchObject({ code: 'room_limit' });
    expect(s.socket.data.rooms).toEqual(['project:1', 'project:2']);
    expect(s.socket.rooms.has('project:3')).toBe(false);
  });

  it('a subscribe whose session cannot be stored is refused and changes nothing: not joined, not listed', async () => {
    const { rooms, saved, store } = setUp();
    const s = fakeSocket({ principal: alice, rooms: ['project:1'] });
    store.save = async () => {
      throw new Error('Command timed out');
    };
    await expect(rooms.join(s.socket, alice, 'project:3')).rejects.toThrow('Command timed out');
    expect(s.socket.data.rooms).toEqual(['project:1']);
    expect([s.socket.rooms.has('project:1'), s.socket.rooms.has('project:3')]).toEqual([true, false]);
    expect(saved).toEqual([]);
  });

  it('a second subscribe of a room whose first is still being stored gets the same answer: refused with it, ok with it', async () => {
    const { rooms, saved, store } = setUp();
    const s = fakeSocket({ principal: alice });
    const save = store.save.bind(store);
    let fail = true;
    store.save = async (session: StoredSession) => {
      await new Promise((r) => setTimeout(r, 5));
      if (fail) throw new Error('Command timed out');
      return save(session);
    };
    const first = rooms.join(s.socket, alice, 'project:3');
    const second = rooms.join(s.socket, alice, 'project:3');
    await expect(first).rejects.toThrow('Command timed out');
    await expect(second).rejects.toThrow('Command timed out');
    expect([s.socket.data.rooms, s.socket.rooms.has('project:3'), saved]).toEqual([[], false, []]);
    fail = false;
    await Promise.all([rooms.join(s.socket, alice, 'project:3'), rooms.join(s.socket, alice, 'project:3')]);
    expect([s.socket.data.rooms, s.socket.rooms.has('project:3'), saved.length]).toEqual([['project:3'], true, 1]);
    expect(s.socket.data.entering).toBeUndefined();
  });

  it('leaves a room it asked for and stores that; a room it did not ask for is a bad_request', async () => {
    const { rooms, saved } = setUp();
    const s = fakeSocket({ principal: alice, rooms: ['project:1'] });
    await expect(rooms.leave(s.socket, 'project:2')).rejects.toThrow(BadRequestError);
    expect(saved).toEqual([]);
    await rooms.leave(s.socket, 'project:1');
    expect([s.socket.data.rooms, s.socket.rooms.has('project:1')]).toEqual([[], false]);
    expect(saved.map((x) => x.session.rooms)).toEqual([[]]);
  });

  it('a subscribe is answered only once its room is heard (RoomHearing: a queue room), and a recovery hears its rooms before it reads history', async () => {
    const queueRooms = { assert: async () => undefined, may: async () => true } as unknown as RoomAccess;
    const { rooms, heard, store, trail } = setUp([], queueRooms);
    store.save = async (session: StoredSession) => void trail.push(`saved ${session.rooms.join(',')}`);
    const s = fakeSocket({ principal: admin });
    await rooms.join(s.socket, admin, 'queue:high');
    expect(trail).toEqual(['heard queue:high', 'saved queue:high']);
    const r = fakeSocket({ principal: admin });
    await rooms.rejoin(r.socket, admin, ['queue:default', 'project:1']);
    expect(heard.at(-1)).toEqual(['queue:default', 'project:1']);
  });

  it('drops rooms whose access was lost, from the socket and from its stored session; nothing lost, nothing stored', async () => {
    const { rooms, saved } = setUp();
    const s = fakeSocket({ principal: alice, rooms: ['project:1', 'project:2'] });
    rooms.leaveLost(s.socket, ['project:5']);
    expect(saved).toEqual([]);
    rooms.leaveLost(s.socket, ['project:2', 'project:5']);
    await new Promise((r) => setImmediate(r));
    expect(s.socket.data.rooms).toEqual(['project:1']);
    expect([s.socket.rooms.has('project:1'), s.socket.rooms.has('project:2')]).toEqual([true, false]);
    expect(saved.map((x) => x.session.rooms)).toEqual([['project:1']]);
  });

  it('on recovery, joins again only the stored rooms the user may still see, up to the room limit', async () => {
    const { rooms, saved } = setUp();
    const s = fakeSocket({ principal: alice });
    await rooms.rejoin(s.socket, alice, ['project:2', 'project:9', 'project:1', 'project:3']);
    // project:2 is no longer allowed (may), project:9 never was; the limit counts the stored list (2 entries).
    expect(s.socket.data.rooms).toEqual([]);
    await rooms.rejoin(s.socket, alice, ['project:1', 'project:9', 'project:3']);
    expect(s.socket.data.rooms).toEqual(['project:1']);
    expect([...s.socket.rooms].sort()).toEqual(['project:1', 's1']);
    expect(saved).toEqual([]); // the recovery stores the session once it is done
  });

  it('puts an authenticated socket in its base rooms and counts its user online once, offline when it leaves', () => {
    const { rooms, presence } = setUp();
    const s = fakeSocket({ principal: admin });
    rooms.joinBase(s.socket, admin);
    rooms.joinBase(s.socket, admin);
    expect([...s.socket.rooms].sort()).toEqual(['s1', ADMINS_ROOM, BROADCAST_ROOM, 'user:1'].sort());
    const user = fakeSocket({ id: 's2', principal: alice });
    rooms.joinBase(user.socket, alice);
    expect(user.socket.rooms.has(ADMINS_ROOM)).toBe(false);
    rooms.left(s.socket);
    rooms.left(fakeSocket({ id: 'anonymous' }).socket);
    expect(presence).toEqual(['online 1', 'online 7', 'offline 1']);
  });

  it('stores the first session of a new socket in a batch, and nothing for a socket without a principal', async () => {
    const { rooms, saved } = setUp();
    await rooms.save(fakeSocket({ principal: alice }).socket, true);
    await rooms.save(fakeSocket({ id: 'anonymous' }).socket);
    expect(saved.map((x) => x.how)).toEqual(['saveSoon']);
  });

  it('a subscribe whose socket ended during its check lands where the recovery of that session is', async () => {
    const slowCheck = () => {
      let pass = () => undefined as void;
      const passed = new Promise<void>((resolve) => (pass = resolve));
      return { checks: { assert: () => passed, may: async () => true } as unknown as RoomAccess, pass: () => pass() };
    };
    // Nobody has recovered it yet: the stored session lists the room, for the recovery to come.
    {
      const { checks, pass } = slowCheck();
      const { rooms, saved, handed } = setUp([], checks);
      const s = fakeSocket({ principal: alice, rooms: ['project:1'] });
      const joining = rooms.join(s.socket, alice, 'project:3');
      s.socket.disconnect();
      pass();
      await joining;
      expect(saved.map((x) => x.session.rooms)).toEqual([['project:1', 'project:3']]);
      // and to a recovery of this session that may be reading it on this process right now (its claim takes it)
      expect(handed).toEqual(['s1 project:3']);
      // The ended socket itself joins nothing: socket.io would keep its id in the room for good.
      expect(s.socket.rooms.has('project:3')).toBe(false);
    }
    // The client already recovered here (the same id): the recovered socket joins it, and its session says so.
    {
      const { checks, pass } = slowCheck();
      const { rooms, saved } = setUp([], checks);
      const namespaceSockets = new Map<string, unknown>();
      const old = fakeSocket({ principal: alice, rooms: ['project:1'], namespaceSockets });
      const recovered = fakeSocket({ principal: alice, rooms: ['project:1'], namespaceSockets });
      const joining = rooms.join(old.socket, alice, 'project:3');
      old.socket.disconnect();
      namespaceSockets.set(recovered.socket.id, recovered.socket);
      pass();
      await joining;
      expect(recovered.socket.rooms.has('project:3')).toBe(true);
      expect(recovered.socket.data.rooms).toEqual(['project:1', 'project:3']);
      expect(saved.map((x) => x.session.rooms)).toEqual([['project:1', 'project:3']]);
    }
  });

  it('a socket that ended while it was being welcomed joins no room and counts nobody online, and its disconnect counted nobody offline', () => {
    const { rooms, presence } = setUp();
    const other = fakeSocket({ id: 's2', principal: alice });
    rooms.joinBase(other.socket, alice);
    // The client gave up during the handshake's last read: socket.io ended the socket (its disconnect ran) before joinBase.
    const ended = fakeSocket({ principal: alice });
    ended.socket.disconnect();
    rooms.left(ended.socket);
    rooms.joinBase(ended.socket, alice);
    expect([...ended.socket.rooms]).toEqual(['s1']);
    // alice is still online through her other socket, and offline once it leaves: the count matches the sockets.
    expect(presence).toEqual(['online 7']);
    rooms.left(other.socket);
    rooms.left(other.socket);
    expect(presence).toEqual(['online 7', 'offline 7']);
  });

  it('a recovery whose socket ends during the re-check joins nothing more, but still lists every room that passed', async () => {
    let pass = () => undefined as void;
    const passed = new Promise<void>((resolve) => (pass = resolve));
    const checks = { may: async () => passed.then(() => true) } as unknown as RoomAccess;
    const { rooms } = setUp([], checks);
    const s = fakeSocket({ principal: alice });
    const rejoining = rooms.rejoin(s.socket, alice, ['project:1', 'project:3']);
    s.socket.disconnect();
    pass();
    await rejoining;
    expect([...s.socket.rooms]).toEqual(['s1']);
    expect(s.socket.data.rooms).toEqual(['project:1', 'project:3']);
  });

  it("holds a recovering socket's saves until its recovery is done, then saves the whole list once (not over a socket that took its id)", async () => {
    const { rooms, saved } = setUp();
    const s = fakeSocket({ principal: alice, rooms: ['project:1'] });
    s.socket.data.recovering = true;
    await rooms.join(s.socket, alice, 'project:3');
    rooms.leaveLost(s.socket, ['project:1']);
    await new Promise((r) => setImmediate(r));
    expect(saved).toEqual([]);
    await rooms.saveRecovered(s.socket);
    expect(s.socket.data.recovering).toBeUndefined();
    expect(saved.map((x) => x.session.rooms)).toEqual([['project:3']]);

    // Ended during its recovery: saved (its client recovers from it next), unless another socket of its id is here now.
    const namespaceSockets = new Map<string, unknown>();
    const ended = fakeSocket({ id: 'x', principal: alice, rooms: ['project:1'], namespaceSockets });
    ended.socket.disconnect();
    await rooms.saveRecovered(ended.socket);
    expect(saved.map((x) => x.session.sid)).toEqual(['s1', 'x']);
    namespaceSockets.set('x', fakeSocket({ id: 'x', principal: alice }).socket);
    await rooms.saveRecovered(ended.socket);
    expect(saved.map((x) => x.session.sid)).toEqual(['s1', 'x']);
  });

  it("refreshes the stored sessions of this process's authenticated sockets, every third of the recovery window", async () => {
    jest.useFakeTimers();
    try {
      const sockets = [fakeSocket({ id: 'a', principal: alice }), fakeSocket({ id: 'b' }), fakeSocket({ id: 'c', principal: admin })];
      const nsp = { sockets: new Map(sockets.map((s) => [s.socket.id, s.socket])) } as unknown as Namespace;
      const { rooms, touched } = setUp([nsp]);
      rooms.onModuleInit();
      jest.advanceTimersByTime(999);
      expect(touched).toEqual([]);
      jest.advanceTimersByTime(1);
      expect(touched).toEqual([['pid-a', 'pid-c']]);
      rooms.onModuleDestroy();
      jest.advanceTimersByTime(5000);
      expect(touched).toHaveLength(1);
    } finally {
      jest.useRealTimers();
    }
  });
});
