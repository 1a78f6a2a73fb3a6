/* eslint-disable @typescript-eslint/no-require-imports */
import { join } from 'node:path';
import { ROOT } from '../support/api-process';

/**
 * The short versions of the fault drills (drills/, `npm run drill` runs the full ones): one
 * production topology (nginx, 3 api processes, 2 workers under supervisord), 200 clients, and
 * each fault in turn. The drill's own guarantees are the assertions: nothing lost silently,
 * nothing twice, every client back (and for a deploy: recovered, no HTTP error), every job once.
 */
interface Outcome {
  figures: Record<string, unknown>;
  guarantees: Record<string, boolean>;
}
interface Fault {
  run(ctx: { cluster: unknown; env: Record<string, string>; opts: Record<string, number>; log: (m: string) => void }): Promise<Outcome>;
}
const { startTopology } = require(join(ROOT, 'drills', 'lib', 'topology.js')) as {
  startTopology(o: { name: string; log?: (m: string) => void }): Promise<{ cluster: { stop(): Promise<void> }; env: Record<string, string> }>;
};
const fault = (name: string) => require(join(ROOT, 'drills', 'faults', `${name}.js`)) as Fault;

function failed(o: Outcome): string[] {
  return Object.entries(o.guarantees)
    .filter(([, ok]) => !ok)
    .map(([k]) => k);
}

describe('fault drills, short (200 clients, one roll)', () => {
  jest.setTimeout(600000);
  let topology: Awaited<ReturnType<typeof startTopology>>;
  const log = () => undefined;

  beforeAll(async () => {
    topology = await startTopology({ name: `e2e-drills-${process.env.SWITCHBOARD_STACK || 'given'}` });
  });

  afterAll(async () => {
    await topology?.cluster.stop();
  });

  it('rolling-deploy: every api process replaced under load, no HTTP error, every socket recovered with exactly what it missed', async () => {
    const o = await fault('rolling-deploy').run({ cluster: topology.cluster, env: topology.env, opts: { clients: 200, rounds: 1, rate: 30, warmup: 2 }, log });
    // On a failure the HTTP figures (by status, first failures) are in the diff, so CI says what the error was.
    const f = failed(o);
    expect({ failed: f, http: f.length ? o.figures.http : 'ok' }).toEqual({ failed: [], http: 'ok' });
  });

  it('api-kill: kill -9 of an api process, every client served again with nothing silently lost', async () => {
    const o = await fault('api-kill').run({ cluster: topology.cluster, env: topology.env, opts: { clients: 200, rate: 30 }, log });
    expect({ failed: failed(o), sockets: o.figures.sockets }).toEqual({ failed: [], sockets: expect.anything() });
  });

  it('worker-deploy: every worker replaced while jobs run, every job completed exactly once', async () => {
    const o = await fault('worker-deploy').run({ cluster: topology.cluster, env: topology.env, opts: { clients: 60, jobs: 300, rate: 10 }, log });
    expect({ failed: failed(o), states: o.figures.states }).toEqual({ failed: [], states: expect.anything() });
  });
});
