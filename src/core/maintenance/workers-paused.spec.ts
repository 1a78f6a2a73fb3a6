import type { WorkerStatus } from '../queue/worker/worker-heartbeat';
import { pauseOutcome, waitForWorkersToPause } from './workers-paused';

const worker = (id: string, state: string, force = false): WorkerStatus => ({
  id,
  name: 'default',
  host: 'h',
  pid: 1,
  queues: ['default'],
  startedAt: '',
  processed: 0,
  failed: 0,
  current: [],
  memoryMb: 1,
  state,
  force,
  seenAt: '',
});

describe('waiting for the workers to pause after down', () => {
  it('sorts workers into paused (or stopping), forced and still running', () => {
    const o = pauseOutcome([worker('a', 'paused'), worker('b', 'stopping'), worker('c', 'running', true), worker('d', 'running')]);
    expect({ paused: o.paused.map((w) => w.id), forced: o.forced.map((w) => w.id), pending: o.pending.map((w) => w.id) }).toEqual({
      paused: ['a', 'b'],
      forced: ['c'],
      pending: ['d'],
    });
  });

  it('looks again until the last running worker says paused', async () => {
    const answers = [[worker('a', 'running'), worker('b', 'paused')], [worker('a', 'running'), worker('b', 'paused')], [worker('a', 'paused'), worker('b', 'paused')]];
    let calls = 0;
    let t = 0;
    const o = await waitForWorkersToPause(async () => answers[Math.min(calls++, answers.length - 1)], 5000, async (ms) => void (t += ms), () => t);
    expect({ calls, paused: o.paused.length, pending: o.pending.length }).toEqual({ calls: 3, paused: 2, pending: 0 });
  });

  it('gives up at the deadline and names the worker that never paused', async () => {
    let t = 0;
    let calls = 0;
    const o = await waitForWorkersToPause(
      async () => (calls++, [worker('stuck', 'running')]),
      1000,
      async (ms) => void (t += ms),
      () => t,
    );
    expect({ pending: o.pending.map((w) => w.id), calls }).toEqual({ pending: ['stuck'], calls: 11 });
  });
});
