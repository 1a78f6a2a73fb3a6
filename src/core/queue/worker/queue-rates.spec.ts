import { QueueRates, ratesByQueue } from './queue-rates';

describe('QueueRates', () => {
  it('keeps the last minute per queue and forgets what is older', () => {
    let now = 1_000_000;
    const rates = new QueueRates(() => now);
    rates.waited('high', 0.5);
    rates.finished('high', true);
    now += 30_000;
    rates.waited('high', 2);
    rates.finished('high', false);
    rates.finished('default', true);
    expect(rates.lastMinute()).toEqual({
      high: { done: 2, failed: 1, waits: 2, waitSumS: 2.5, waitMaxS: 2 },
      default: { done: 1, failed: 0, waits: 0, waitSumS: 0, waitMaxS: 0 },
    });
    now += 45_000; // the first bucket is now more than a minute old
    expect(rates.lastMinute().high).toEqual({ done: 1, failed: 1, waits: 1, waitSumS: 2, waitMaxS: 2 });
    now += 120_000;
    expect(rates.lastMinute().high).toEqual({ done: 0, failed: 0, waits: 0, waitSumS: 0, waitMaxS: 0 });
  });

  it('sums workers per queue: jobs per minute, average and longest wait', () => {
    const rows = ratesByQueue([
      { rates: { default: { done: 10, failed: 1, waits: 4, waitSumS: 4, waitMaxS: 3 } } },
      { rates: { default: { done: 5, failed: 0, waits: 1, waitSumS: 6, waitMaxS: 6 }, high: { done: 2, failed: 0, waits: 0, waitSumS: 0, waitMaxS: 0 } } },
      {},
    ]);
    expect(rows).toEqual({ default: { jobsPerMin: 15, failedPerMin: 1, waitAvgS: 2, waitMaxS: 6 }, high: { jobsPerMin: 2, failedPerMin: 0, waitAvgS: null, waitMaxS: null } });
  });
});
