import { historyRoomOf } from './event-log';

describe('historyRoomOf', () => {
  it("keeps a job room's history in its queue's room, every other room in its own", () => {
    expect(historyRoomOf('job:default:42')).toBe('queue:default');
    expect(historyRoomOf('job:emails:high:7')).toBe('queue:emails:high');
    expect(historyRoomOf('queue:default')).toBe('queue:default');
    expect(historyRoomOf('user:1')).toBe('user:1');
    expect(historyRoomOf('project:9')).toBe('project:9');
    expect(historyRoomOf('job:')).toBe('job:');
    expect(historyRoomOf('job:nocolon')).toBe('job:nocolon');
  });
});
