import type { Job } from 'bullmq';
import type { RealtimeService } from '../realtime/realtime.contract';
import type { HeardRooms } from '../realtime/room-hearing';
import { JobAnnouncer } from './job-announcer';

function recorder() {
  const sent: Array<{ rooms: string[]; event: string; payload: Record<string, unknown> }> = [];
  const realtime = {
    toRooms: async (rooms: string[], event: string, payload: Record<string, unknown>) => {
      sent.push({ rooms, event, payload });
      return '1';
    },
  } as unknown as RealtimeService;
  return { sent, realtime };
}

const job = (data: Record<string, unknown>, over: Partial<Job> = {}) =>
  ({ id: '42', name: 'analysis-run', data, progress: 0, attemptsMade: 0, timestamp: Date.now() - 5, opts: {}, ...over }) as unknown as Job;

describe('JobAnnouncer', () => {
  it("announces a job to its room and its queue's room, and to its owner's room when its payload names one", async () => {
    const { sent, realtime } = recorder();
    const a = new JobAnnouncer(realtime, 'all');
    await a.started('high', job({}));
    await a.completed('high', job({ userId: '7' }), { ok: true });
    expect(sent[0]).toEqual({
      rooms: ['job:high:42', 'queue:high'],
      event: 'job:started',
      payload: { jobId: '42', queueName: 'high', progress: 0, status: 'active', attempt: 1, jobName: 'analysis-run' },
    });
    expect(sent[1].rooms).toEqual(['job:high:42', 'queue:high', 'user:7']);
    expect(sent[1].payload).toEqual({ jobId: '42', queueName: 'high', userId: 7, progress: 100, status: 'completed', jobName: 'analysis-run', result: { ok: true }, duration: expect.any(Number) });
    expect(Object.keys(sent[1].payload).slice(0, 3)).toEqual(['jobId', 'queueName', 'userId']);
  });

  it('announces only owned jobs with QUEUE_JOB_EVENTS=owned, none with none', async () => {
    const owned = recorder();
    await new JobAnnouncer(owned.realtime, 'owned').started('default', job({}));
    await new JobAnnouncer(owned.realtime, 'owned').started('default', job({ userId: 3 }));
    expect(owned.sent.map((s) => s.rooms.at(-1))).toEqual(['user:3']);
    const none = recorder();
    await new JobAnnouncer(none.realtime, 'none').started('default', job({ userId: 3 }));
    expect(none.sent).toEqual([]);
  });

  it('tells the worker which jobs it announces at all, so nothing is built for the others', () => {
    const { realtime } = recorder();
    expect(new JobAnnouncer(realtime, 'all').announces('default', job({}))).toBe(true);
    expect(new JobAnnouncer(realtime, 'owned').announces('default', job({}))).toBe(false);
    expect(new JobAnnouncer(realtime, 'owned').announces('default', job({ userId: '3' }))).toBe(true);
    expect(new JobAnnouncer(realtime, 'none').announces('default', job({ userId: 3 }))).toBe(false);
  });

  it('with QUEUE_JOB_EVENTS=heard (the default) announces every owned job, and one without an owner only while its queue is heard', async () => {
    const { sent, realtime } = recorder();
    const heardNow = new Set(['queue:high']);
    const asked: string[] = [];
    const heard = { isHeard: (room: string) => (asked.push(room), heardNow.has(room)) } as unknown as HeardRooms;
    const a = new JobAnnouncer(realtime, 'heard', heard);
    await a.started('default', job({}));
    await a.started('default', job({ userId: 3 }));
    await a.started('high', job({}));
    heardNow.add('queue:default');
    await a.completed('default', job({}));
    expect(sent.map((s) => `${s.event} ${s.rooms.join(',')}`)).toEqual([
      'job:started job:default:42,queue:default,user:3',
      'job:started job:high:42,queue:high',
      'job:completed job:default:42,queue:default',
    ]);
    expect(asked).toEqual(['queue:default', 'queue:high', 'queue:default']);
    expect(new JobAnnouncer(realtime).announces('default', job({}))).toBe(true); // heard, but nothing to ask: announced
  });

  it('turns a realtime service that throws while sending into a rejected announcement, never a throw into the job', async () => {
    const throwing = {
      toRooms: () => {
        throw new Error('payload cannot be encoded');
      },
    } as unknown as RealtimeService;
    const a = new JobAnnouncer(throwing, 'all');
    let sent: Promise<unknown> | undefined;
    expect(() => (sent = a.started('default', job({})))).not.toThrow();
    await expect(sent).rejects.toThrow('payload cannot be encoded');
  });

  it('sends job:failed with the error and the attempts', async () => {
    const { sent, realtime } = recorder();
    await new JobAnnouncer(realtime).failed('default', job({}, { attemptsMade: 3, opts: { attempts: 3 } } as Partial<Job>), new Error('boom'));
    expect(sent[0].payload).toMatchObject({ status: 'failed', error: 'boom', message: 'boom', attemptsMade: 3, attemptsMax: 3 });
  });
});
