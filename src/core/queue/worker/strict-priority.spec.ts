import type { Job } from 'bullmq';
import { Lane, StrictPriority } from './strict-priority';

/** A queue with jobs in it; records what the priority logic asked of it. */
class FakeLane implements Lane {
  readonly calls: string[] = [];
  constructor(
    private readonly jobs: string[],
    private worth = true,
  ) {}
  worthProbing(): boolean {
    return this.worth;
  }
  setWorth(worth: boolean): void {
    this.worth = worth;
  }
  async take(_token: string, probe: boolean): Promise<Job | undefined> {
    this.calls.push(probe ? 'probe' : 'take');
    return this.next();
  }
  async finishAndTakeNext(move: (fetchNext: boolean) => Promise<unknown>): Promise<Job | undefined> {
    this.calls.push('finish+next');
    await move(true);
    return this.next();
  }
  add(name: string): void {
    this.jobs.push(name);
  }
  private next(): Job | undefined {
    const name = this.jobs.shift();
    return name === undefined ? undefined : ({ name } as Job);
  }
}

describe('StrictPriority (queue:work --queue=high,default)', () => {
  const moves: boolean[] = [];
  const move = async (fetchNext: boolean) => void moves.push(fetchNext);
  beforeEach(() => (moves.length = 0));

  it('takes the first job of the first queue that has one, in the order given', async () => {
    const high = new FakeLane([]);
    const low = new FakeLane(['d1']);
    const p = new StrictPriority([high, low], () => false);
    expect(await p.first('t')).toEqual({ job: { name: 'd1' }, index: 1 });
    high.add('h1');
    expect(await p.first('t')).toEqual({ job: { name: 'h1' }, index: 0 });
    expect(low.calls).toEqual(['take']); // the second call never reached the lower queue
  });

  it('after a lower queue job asks the higher queues first and, when one has a job, completes without taking the next low job', async () => {
    const high = new FakeLane(['h1']);
    const low = new FakeLane(['d2']);
    const p = new StrictPriority([high, low], () => false);
    expect(await p.finish(1, 't', move)).toEqual({ job: { name: 'h1' }, index: 0 });
    expect(moves).toEqual([false]); // moveToCompleted without fetchNext: d2 stays for the next free slot
    expect(high.calls).toEqual(['probe']);
    expect(low.calls).toEqual([]);
  });

  it('after a lower queue job skips higher queues not worth probing (no Redis call per job for an empty high queue)', async () => {
    const high = new FakeLane([], false);
    const low = new FakeLane(['d2']);
    const p = new StrictPriority([high, low], () => false);
    expect(await p.finish(1, 't', move)).toEqual({ job: { name: 'd2' }, index: 1 });
    expect(high.calls).toEqual([]);
    expect(moves).toEqual([true]);
  });

  it('after a top queue job lets BullMQ hand over the next one in the same call, then falls through to lower queues', async () => {
    const high = new FakeLane([]);
    const low = new FakeLane(['d1']);
    const p = new StrictPriority([high, low], () => false);
    expect(await p.finish(0, 't', move)).toEqual({ job: { name: 'd1' }, index: 1 });
    expect(high.calls).toEqual(['finish+next']);
    expect(moves).toEqual([true]);
  });

  it('when stopping finishes the job without fetching anything', async () => {
    const high = new FakeLane(['h1']);
    const p = new StrictPriority([high], () => true);
    expect(await p.finish(0, 't', move)).toBeUndefined();
    expect(moves).toEqual([false]);
    expect(await p.first('t')).toBeUndefined();
    expect(high.calls).toEqual([]);
  });
});
