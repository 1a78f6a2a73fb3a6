import type { Job } from 'bullmq';
import { ReplicaConfirmationError, WriteMark } from '../../redis/replica-confirmation';
import { CompletionDurability, Confirmer } from './durable-finish';
import { StartConfirmation, StartHolder } from './start-confirmation';

const mark = { node: {}, generation: 0 } as unknown as WriteMark;
const job = { id: '7', queueName: 'default' } as unknown as Job;

/** A lane whose WAITs answer from a script (ok, or the connection moved), on a clock that moves only when slept. */
function lane(outcomes: Array<'ok' | 'moved'>, requiredNow: number | null = 1) {
  const waits: number[] = [];
  let marks = 0;
  const confirmer: Confirmer = {
    mark: () => (marks++, Promise.resolve(mark)),
    requiredNow: () => requiredNow,
    replicasMissing: () => false,
    confirm: () => {
      waits.push(1);
      return (outcomes.shift() ?? 'ok') === 'ok' ? Promise.resolve() : Promise.reject(new ReplicaConfirmationError(1, 0, 'moved', 'moved'));
    },
  };
  let t = 0;
  const clock = { now: () => t, sleep: (ms: number) => Promise.resolve(void (t += ms)) };
  return { durability: new CompletionDurability(confirmer, { retryMs: 250, giveUpMs: 1000 }, clock), waits, marksTaken: () => marks };
}

function holder(lockSurvived: boolean) {
  const held: string[] = [];
  const log: string[] = [];
  const h: StartHolder = {
    hold: (token) => held.push(`hold ${token}`),
    release: (token) => held.push(`release ${token}`),
    stillOurs: () => Promise.resolve(lockSurvived),
    warn: (_f, m) => log.push(m),
  };
  return { h, held, log };
}

describe('StartConfirmation (a fetched job runs once the replicas hold its start)', () => {
  it('takes no mark and sends no WAIT when no lane needs confirming (one Redis)', async () => {
    const a = lane([], 0);
    const starts = new StartConfirmation([a.durability, undefined], holder(true).h);
    expect(starts.marks()).toBeNull();
    expect(await starts.confirm({ job, index: 0 }, null, 's0')).toEqual({ job, index: 0 });
    expect({ marks: a.marksTaken(), waits: a.waits.length }).toEqual({ marks: 0, waits: 0 });
  });

  it('runs the job once the replicas confirmed its start, holding its lock meanwhile', async () => {
    const a = lane(['ok']);
    const { h, held } = holder(true);
    const starts = new StartConfirmation([a.durability], h);
    expect(await starts.confirm({ job, index: 0 }, await starts.marks(), 's0')).toEqual({ job, index: 0 });
    expect({ waits: a.waits.length, held }).toEqual({ waits: 1, held: ['hold s0', 'release s0'] });
  });

  it('after a failover runs it only if the new primary still has it locked by this slot', async () => {
    const kept = holder(true);
    const keptStarts = new StartConfirmation([lane(['moved']).durability], kept.h);
    expect(await keptStarts.confirm({ job, index: 0 }, await keptStarts.marks(), 's0')).toEqual({ job, index: 0 });

    const lost = holder(false);
    const lostStarts = new StartConfirmation([lane(['moved']).durability], lost.h);
    expect(await lostStarts.confirm({ job, index: 0 }, await lostStarts.marks(), 's0')).toBeUndefined();
    expect(lost.log).toEqual(['a job start was lost in a Redis failover: it runs once, from its queue']);
  });

  it("confirms over the fetched job's own lane (queue connection)", async () => {
    const high = lane([]);
    const low = lane(['moved']);
    const { h } = holder(false);
    const starts = new StartConfirmation([high.durability, low.durability], h);
    expect(await starts.confirm({ job, index: 1 }, await starts.marks(), 's0')).toBeUndefined();
    expect({ high: high.waits.length, low: low.waits.length }).toEqual({ high: 0, low: 1 });
  });
});
