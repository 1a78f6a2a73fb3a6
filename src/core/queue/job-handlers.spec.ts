import { JobHandlers } from './job-handlers';

const handler = { run: () => Promise.resolve('done') };

describe('JobHandlers', () => {
  it('lists a declared job name without a handler, and forgets it once one registers', () => {
    const handlers = new JobHandlers();
    handlers.declare('report');
    handlers.declare('analysis');
    handlers.register('analysis', handler);
    expect(handlers.unhandled()).toEqual(['report']);
    handlers.register('report', handler);
    expect(handlers.unhandled()).toEqual([]);
  });

  it('refuses to dispatch a name nobody declared or handles, so a typo fails where it is made', () => {
    const handlers = new JobHandlers();
    handlers.register('analysis', handler);
    handlers.declare('report');
    expect(() => handlers.assertDispatchable('analysis')).not.toThrow();
    expect(() => handlers.assertDispatchable('report')).not.toThrow();
    expect(() => handlers.assertDispatchable('analyses')).toThrow(/Job "analyses" is neither declared nor handled/);
  });
});
