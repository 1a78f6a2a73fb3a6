import { namespacesFor, parseRoom, senderRoomToSkip } from './room-name';

describe('parseRoom', () => {
  it('accepts the rooms of SPEC §5', () => {
    expect(parseRoom('user:7')).toEqual({ kind: 'user', userId: 7 });
    expect(parseRoom('project:12')).toEqual({ kind: 'project', projectId: 12 });
    expect(parseRoom('analysis:3')).toEqual({ kind: 'analysis', analysisId: 3 });
    expect(parseRoom('job:default:42')).toEqual({ kind: 'job', queue: 'default', jobId: '42' });
    expect(parseRoom('queue:high')).toEqual({ kind: 'queue', queue: 'high' });
    expect(parseRoom('chat:5')).toEqual({ kind: 'chat', roomId: 5 });
  });

  it('refuses anything else, internal rooms and injection attempts included', () => {
    for (const bad of ['all', 'admins', 'user:', 'user:0', 'user:1 OR 1=1', "project:1'", 'job:a', 'x:1', '', 42, null, {}, 'user:7\n']) {
      expect(parseRoom(bad)).toBeNull();
    }
  });
});

describe('namespacesFor', () => {
  it('routes events to the namespace that owns them', () => {
    expect(namespacesFor('message:new')).toEqual(['/chat']);
    expect(namespacesFor('typing')).toEqual(['/chat']);
    expect(namespacesFor('notification:new')).toEqual(['/notifications']);
    expect(namespacesFor('job:progress')).toEqual(['/realtime', '/']);
    expect(namespacesFor('system:warning')).toHaveLength(4);
  });
});

describe('senderRoomToSkip', () => {
  it('skips the typist’s own sockets for typing and nothing for other events', () => {
    expect(senderRoomToSkip('typing', { roomId: 3, userId: 7 })).toBe('user:7');
    expect(senderRoomToSkip('message:new', { roomId: 3, userId: 7 })).toBeUndefined();
    expect(senderRoomToSkip('typing', { roomId: 3, userId: '7; DROP' })).toBeUndefined();
  });
});
