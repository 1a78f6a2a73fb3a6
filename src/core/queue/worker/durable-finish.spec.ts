import { ReplicaConfirmationError, WriteMark } from '../../redis/replica-confirmation';
import { CompletionDurability, Confirmer } from './durable-finish';

const mark = { node: {}, generation: 0 } as unknown as WriteMark;

/** A confirmer answering from a script of outcomes, and a clock that only moves when slept. */
function setup(outcomes: Array<'ok' | 'short' | 'moved' | 'error'>, requiredNow: number | null = 1, replicasMissing = false) {
  let t = 0;
  const confirms: number[] = [];
  const confirmer: Confirmer = {
    mark: () => Promise.resolve(mark),
    requiredNow: () => requiredNow,
    replicasMissing: () => replicasMissing,
    confirm: () => {
      confirms.push(t);
      const o = outcomes.shift() ?? 'ok';
      if (o === 'ok') return Promise.resolve();
      if (o === 'error') return Promise.reject(new Error('Connection is closed.'));
      return Promise.reject(o === 'moved' ? new ReplicaConfirmationError(1, 0, 'moved', 'moved') : new ReplicaConfirmationError(2, 1));
    },
  };
  const clock = { now: () => t, sleep: (ms: number) => Promise.resolve(void (t += ms)) };
  return { durability: new CompletionDurability(confirmer, { retryMs: 250, giveUpMs: 1000 }, clock), confirms };
}

/** A job whose state and moveToCompleted answer from scripts. */
function fakeJob(states: string[], moves: Array<'ok' | 'throw'> = []) {
  const moved: unknown[] = [];
  return {
    moved,
    job: {
      getState: () => Promise.resolve(states.shift() ?? 'unknown'),
      moveToCompleted: (result: unknown) => {
        moved.push(result);
        return (moves.shift() ?? 'ok') === 'ok' ? Promise.resolve([]) : Promise.reject(new Error('Missing lock for job 1. moveToFinished'));
      },
    } as never,
  };
}

describe('CompletionDurability', () => {
  it('needs no mark (and so no WAIT) when no replica has to confirm', async () => {
    expect(await setup([], 0).durability.mark()).toBeNull();
    expect(await setup([], 1).durability.mark()).toBe(mark);
    expect(await setup([], null).durability.mark()).toBe(mark);
  });

  it('is confirmed once the replicas confirm, retrying while too few do', async () => {
    const { durability, confirms } = setup(['short', 'error', 'ok']);
    expect(await durability.settle(mark)).toBe('confirmed');
    expect(confirms).toEqual([0, 250, 500]);
  });

  it('says moved at once when the connection was replaced under the writes', async () => {
    expect(await setup(['moved']).durability.settle(mark)).toBe('moved');
  });

  it('stops waiting after giveUpMs: replicas that are gone leave the completion on the primary alone', async () => {
    const { durability, confirms } = setup(Array<'short'>(10).fill('short'));
    expect(await durability.settle(mark)).toBe('unconfirmed');
    expect(confirms).toEqual([0, 250, 500, 750, 1000]);
  });

  it('does not hold a completion when the replicas are not there at all (a Cluster master whose replica died)', async () => {
    const { durability, confirms } = setup(Array<'short'>(10).fill('short'), 1, true);
    expect(await durability.settle(mark)).toBe('unconfirmed');
    expect(confirms).toEqual([0]);
  });

  it('after a failover: a completion the new primary has is kept, one it lacks is written again while the job is still ours', async () => {
    expect(await setup([]).durability.recomplete(fakeJob(['completed']).job, 't', 1)).toBe('completed');
    const again = fakeJob(['active']);
    expect(await setup(['ok']).durability.recomplete(again.job, 't', { r: 1 })).toBe('completed');
    expect(again.moved).toEqual([{ r: 1 }]);
  });

  it('after a failover: a job back in its queue, or whose lock is gone, is lost (it will run again)', async () => {
    expect(await setup([]).durability.recomplete(fakeJob(['waiting']).job, 't', 1)).toBe('lost');
    const lockless = fakeJob(['active', 'active', 'active', 'active', 'active'], ['throw', 'throw', 'throw', 'throw', 'throw']);
    expect(await setup([]).durability.recomplete(lockless.job, 't', 1)).toBe('lost');
    expect(lockless.moved.length).toBe(4); // retried until giveUpMs
  });
});
