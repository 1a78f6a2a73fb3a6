import { Injectable } from '@nestjs/common';
import type { Principal } from '../session/principal';
import { ROOM_NAME_PART, RoomKind, RoomKindProvider } from '../realtime/room-kinds';
import { jobOwner } from './job-owner';
import { QueueRegistry } from './queue-registry';

/** `queue:<name>`: every job event of a queue (job-announcer.ts); admins only. */
@Injectable()
@RoomKindProvider()
export class QueueRooms implements RoomKind<string> {
  readonly prefix = 'queue';

  parse(rest: string): string | null {
    return ROOM_NAME_PART.test(rest) ? rest : null;
  }

  async mayListen(user: Principal): Promise<boolean> {
    return user.role === 'admin';
  }
}

export interface JobRef {
  queue: string;
  jobId: string;
}

/**
 * `job:<queue>:<id>`: one job's events; its owner and admins. The owner is
 * `jobOwner` (job-owner.ts): the one recorded at dispatch (QueueRegistry,
 * `ownerId`, kept 7 days) and the `userId` of the job's own payload while
 * BullMQ still has the job (the convention job:* events follow to reach
 * `user:<userId>`); either alone will do, and when they disagree nobody but
 * an admin gets in.
 */
@Injectable()
@RoomKindProvider()
export class JobRooms implements RoomKind<JobRef> {
  readonly prefix = 'job';

  constructor(private readonly queues: QueueRegistry) {}

  parse(rest: string): JobRef | null {
    const colon = rest.indexOf(':');
    if (colon < 0) return null;
    const queue = rest.slice(0, colon);
    const jobId = rest.slice(colon + 1);
    return ROOM_NAME_PART.test(queue) && ROOM_NAME_PART.test(jobId) ? { queue, jobId } : null;
  }

  async mayListen(user: Principal, { queue, jobId }: JobRef): Promise<boolean> {
    if (user.role === 'admin') return true;
    const recorded = await this.queues.ownerOf(queue, jobId);
    // Recorded for someone else: no payload can make it this user's (jobOwner), so no job read.
    if (recorded !== undefined && recorded !== user.id) return false;
    // Only configured queues: a client must not make this process open a BullMQ Queue per name it sends.
    const job = this.queues.has(queue) ? await this.queues.get(queue).getJob(jobId) : undefined;
    return jobOwner(recorded, job?.data) === user.id;
  }
}
