import { batchView, dueCallbacks, progressPayload, runsByQueue } from './batch';

describe('batch views', () => {
  const hash = { name: 'reports', owner: '7', total: '4', pending: '1', skipped: '0', allowFailures: '1', createdAt: '1796300000000', finishedAt: '1796300001000' };

  it("counts as Laravel's Batch does: processed = total - pending, progress a whole percentage", () => {
    const v = batchView('b', hash, 1, ['high:10', 'default:9', 'default:10']);
    expect(v).toMatchObject({ ownerId: 7, totalJobs: 4, pendingJobs: 1, processedJobs: 3, failedJobs: 1, progress: 75, allowFailures: true, cancelledAt: null });
    expect(v.failedJobIds).toEqual(['default:9', 'default:10', 'high:10']);
    expect(v.finishedAt).toBe(new Date(1796300001000).toISOString());
    expect(batchView('b', { ...hash, owner: '', total: '3', pending: '2' }, 0, [])).toMatchObject({ ownerId: null, progress: 33 });
  });

  it('progress events carry the counts, not the owner or the failed ids', () => {
    const p = progressPayload(batchView('b', hash, 1, ['default:9']));
    expect(p).toEqual({ batchId: 'b', name: 'reports', totalJobs: 4, pendingJobs: 1, processedJobs: 3, failedJobs: 1, skippedJobs: 0, progress: 75, cancelledAt: null, finishedAt: new Date(1796300001000).toISOString() });
  });

  it('a callback is due until it has been queued', () => {
    expect(dueCallbacks({ thenDue: '1', finallyDue: '1', finallyQueued: '2' })).toEqual(['then']);
    expect(dueCallbacks({ catchDue: '1' })).toEqual(['catch']);
    expect(dueCallbacks({})).toEqual([]);
  });

  it('groups consecutive jobs of one queue, keeping their order', () => {
    const runs = runsByQueue([{ queue: 'a', n: 1 }, { queue: 'a', n: 2 }, { queue: 'b', n: 3 }, { queue: 'a', n: 4 }]);
    expect(runs.map((r) => [r.queue, r.jobs.map((j) => j.n)])).toEqual([
      ['a', [1, 2]],
      ['b', [3]],
      ['a', [4]],
    ]);
  });
});
