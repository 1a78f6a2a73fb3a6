import type { Principal } from '../session/principal';
import { jobOwner } from './job-owner';
import type { QueueRegistry } from './queue-registry';
import { JobRooms } from './queue-rooms';

const alice: Principal = { id: 7, role: 'user', via: 'token' };
const bob: Principal = { id: 8, role: 'user', via: 'token' };
const admin: Principal = { id: 1, role: 'admin', via: 'session' };

/** QueueRegistry's owner records and jobs, in memory; `opened` lists the queues a check read jobs from. */
function registry(records: Record<string, number>, jobs: Record<string, object>) {
  const opened: string[] = [];
  const queues = {
    ownerOf: async (queue: string, id: string) => records[`${queue}:${id}`],
    has: (queue: string) => queue === 'default',
    get: (queue: string) => {
      opened.push(queue);
      return { getJob: async (id: string) => (jobs[`${queue}:${id}`] ? { data: jobs[`${queue}:${id}`] } : undefined) };
    },
  } as unknown as QueueRegistry;
  return { rooms: new JobRooms(queues), opened };
}

describe('JobRooms (job:<queue>:<id>: its owner and admins)', () => {
  it('lets the owner in when the dispatch record and the payload agree, or when only one of them is left', async () => {
    const { rooms } = registry({ 'default:1': 7, 'default:2': 7 }, { 'default:1': { userId: 7 }, 'default:3': { userId: '7' } });
    expect(await rooms.mayListen(alice, { queue: 'default', jobId: '1' })).toBe(true); // both
    expect(await rooms.mayListen(alice, { queue: 'default', jobId: '2' })).toBe(true); // record only (the job was removed)
    expect(await rooms.mayListen(alice, { queue: 'default', jobId: '3' })).toBe(true); // payload only (record expired, or none made)
    for (const id of ['1', '2', '3']) expect(await rooms.mayListen(bob, { queue: 'default', jobId: id })).toBe(false);
  });

  it("never lets a user into another user's job when the record and the payload disagree (an id handed out again, a deduplicated dispatch)", async () => {
    // Job 5 is bob's (its payload), but a stale record names alice; job 6 is alice's, and bob's dispatch recorded bob over it.
    const { rooms } = registry({ 'default:5': 7, 'default:6': 8 }, { 'default:5': { userId: 8 }, 'default:6': { userId: 7 } });
    for (const jobId of ['5', '6']) {
      expect(await rooms.mayListen(alice, { queue: 'default', jobId })).toBe(false);
      expect(await rooms.mayListen(bob, { queue: 'default', jobId })).toBe(false);
      expect(await rooms.mayListen(admin, { queue: 'default', jobId })).toBe(true);
    }
  });

  it('refuses a job with no owner, a payload userId that is not an id, and opens no queue that is not configured', async () => {
    const { rooms, opened } = registry({}, { 'default:1': { userId: 'seven' }, 'default:2': { userId: true }, 'default:3': {} });
    for (const jobId of ['1', '2', '3', '404']) expect(await rooms.mayListen({ ...alice, id: 1 }, { queue: 'default', jobId })).toBe(false);
    expect(await rooms.mayListen(alice, { queue: 'unknown', jobId: '1' })).toBe(false);
    expect(opened).not.toContain('unknown');
  });
});

describe('jobOwner (one rule for the job room and GET /api/jobs)', () => {
  it('is the recorded owner or the payload owner, and nobody when they disagree', () => {
    expect([jobOwner(7, { userId: 7 }), jobOwner(7, undefined), jobOwner(undefined, { userId: '7' }), jobOwner(7, { userId: 8 }), jobOwner(undefined, {})]).toEqual([7, 7, 7, undefined, undefined]);
  });
});
