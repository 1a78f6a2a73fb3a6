import { TurnBatch } from './turn-batch';

const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

function doubling(fail = false) {
  const calls: number[][] = [];
  const batch = new TurnBatch<number, number>((keys) => {
    calls.push(keys);
    return fail ? Promise.reject(new Error('database gone')) : Promise.resolve(keys.map((k) => k * 2));
  }, 3);
  return { batch, calls };
}

describe('TurnBatch', () => {
  it('answers the calls of one event-loop turn with one load, each caller its own value', async () => {
    const { batch, calls } = doubling();
    const values = await Promise.all([batch.get(1), batch.get(2), Promise.resolve().then(() => batch.get(3))]);
    expect(values).toEqual([2, 4, 6]);
    expect(calls).toEqual([[1, 2, 3]]);
  });

  it('loads again for a later turn (nothing is cached)', async () => {
    const { batch, calls } = doubling();
    await batch.get(1);
    await nextTurn();
    await batch.get(1);
    expect(calls).toEqual([[1], [1]]);
  });

  it('starts another load when a turn asks for more than the batch holds', async () => {
    const { batch, calls } = doubling();
    await Promise.all([1, 2, 3, 4].map((k) => batch.get(k)));
    expect(calls).toEqual([[1, 2, 3], [4]]);
  });

  it('rejects every caller of a batch whose load fails, and the next turn loads afresh', async () => {
    const failing = doubling(true);
    const results = await Promise.allSettled([failing.batch.get(1), failing.batch.get(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    const thrower = new TurnBatch<number, number>(() => {
      throw new Error('bad statement');
    });
    await expect(thrower.get(1)).rejects.toThrow('bad statement');
  });
});
