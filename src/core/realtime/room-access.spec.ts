import type { DiscoveryService } from '@nestjs/core';
import type { Principal } from '../session/principal';
import { RoomAccess, RoomKindRegistrationError } from './room-access';
import { parseRoomId, ROOM_NAME_PART, RoomKind } from './room-kinds';
import { UserRooms } from './user-rooms';

const alice: Principal = { id: 7, role: 'user', via: 'token' };
const admin: Principal = { id: 1, role: 'admin', via: 'token' };

/** A feature's kind over a fake membership table. */
function kind(prefix: string, members: Record<number, number[]> = {}): RoomKind<number> {
  return {
    prefix,
    parse: parseRoomId,
    mayListen: async (user, id) => (members[id] ?? []).includes(user.id),
    sharingWith: async (userId, among) => among.filter((other) => Object.values(members).some((m) => m.includes(userId) && m.includes(other))),
  };
}
const job: RoomKind<string> = { prefix: 'job', parse: (rest) => (/^[^:]+:[^:]+$/.test(rest) ? rest : null), mayListen: async () => false };
const queue: RoomKind<string> = { prefix: 'queue', parse: (rest) => (ROOM_NAME_PART.test(rest) ? rest : null), mayListen: async (u) => u.role === 'admin' };

/** RoomAccess as Nest builds it: the kinds come from DiscoveryService (providers marked @RoomKindProvider()). */
function accessWith(kinds: RoomKind[]): RoomAccess {
  const discovery = { getProviders: () => kinds.map((instance) => ({ instance })) } as unknown as DiscoveryService;
  const access = new RoomAccess(discovery);
  access.onModuleInit();
  return access;
}

describe('RoomAccess (the room kinds the modules registered)', () => {
  const access = accessWith([new UserRooms(), job, queue, kind('project', { 12: [7] }), kind('chat', { 5: [7, 9] })]);

  it('parses the rooms of SPEC §5 through their kinds', () => {
    for (const room of ['user:7', 'project:12', 'job:default:42', 'queue:high', 'chat:5']) expect(access.parse(room)).not.toBeNull();
    expect(access.parse('project:12')?.ref).toBe(12);
  });

  it('refuses anything else, internal rooms and injection attempts included', () => {
    for (const bad of ['all', 'admins', 'user:', 'user:0', 'user:1 OR 1=1', "project:1'", 'job:a', 'x:1', ':1', '', 42, null, {}, 'user:7\n', `user:${'1'.repeat(300)}`]) {
      expect(access.parse(bad)).toBeNull();
    }
  });

  it('answers bad_request for an unknown name and forbidden for a room the kind refuses', async () => {
    await expect(access.assert(alice, 'nope:1')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(access.assert(alice, 'project:13')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(access.assert(alice, 'project:12')).resolves.toBeUndefined();
    expect(await access.may(alice, 'user:7')).toBe(true);
    expect(await access.may(alice, 'user:8')).toBe(false);
    expect(await access.may(alice, 'queue:high')).toBe(false);
    expect(await access.may(admin, 'queue:high')).toBe(true);
  });

  it('collects presence peers from every kind that knows them', async () => {
    expect([...(await access.sharingWith(7, [9, 10]))]).toEqual([9]);
  });

  it('refuses to start when a kind is claimed twice, malformed, or a kind core publishes to is missing', () => {
    expect(() => accessWith([new UserRooms(), job, queue, kind('chat'), kind('chat')])).toThrow(RoomKindRegistrationError);
    expect(() => accessWith([new UserRooms(), job, queue, kind('Bad Prefix')])).toThrow(/not a RoomKind/);
    expect(() => accessWith([new UserRooms(), queue])).toThrow('No provider for the room kind(s) "job:"');
  });
});
