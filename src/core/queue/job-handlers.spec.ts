import { Injectable, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { Test } from '@nestjs/testing';
import type { Job } from 'bullmq';
import { JobHandler, JobHandlerRegistrationError, JobHandlers, QueueJob } from './job-handlers';

@Injectable()
@QueueJob('report')
class ReportJob implements JobHandler<{ n: number }, number> {
  async run(job: Job<{ n: number }>): Promise<number> {
    return job.data.n * 2;
  }
}

@Injectable()
@QueueJob('report')
class SecondReportJob extends ReportJob {}

@Injectable()
@QueueJob('broken')
class NotAHandler {}

@Module({ providers: [ReportJob] })
class FeatureModule {}

const boot = (providers: unknown[]) =>
  Test.createTestingModule({ imports: [DiscoveryModule, FeatureModule], providers: [JobHandlers, ...(providers as never[])] })
    .compile()
    .then((m) => m.init());

describe('JobHandlers (handlers registered by the modules that own them)', () => {
  it('finds every provider marked @QueueJob(name) at boot, in any module', async () => {
    const app = await boot([]);
    const handlers = app.get(JobHandlers);
    expect(handlers.names()).toEqual(['report']);
    expect(await handlers.get('report')?.run({ data: { n: 21 } } as Job, {} as never)).toBe(42);
    await app.close();
  });

  it('refuses to start when a job name has two handlers or a handler cannot run', async () => {
    await expect(boot([SecondReportJob])).rejects.toThrow(new JobHandlerRegistrationError('A handler for job "report" is already registered'));
    await expect(boot([NotAHandler])).rejects.toThrow(/NotAHandler, the handler of job "broken", has no run/);
  });
});

describe('JobHandlers (declared job names)', () => {
  const handler = { run: () => Promise.resolve('done') };
  const fresh = () => new JobHandlers({ getProviders: () => [] } as never);

  it('lists a declared job name without a handler, and forgets it once one registers', () => {
    const handlers = fresh();
    handlers.declare('report');
    handlers.declare('analysis');
    handlers.register('analysis', handler);
    expect(handlers.unhandled()).toEqual(['report']);
    handlers.register('report', handler);
    expect(handlers.unhandled()).toEqual([]);
  });

  it('refuses to dispatch a name nobody declared or handles, so a typo fails where it is made', () => {
    const handlers = fresh();
    handlers.register('analysis', handler);
    handlers.declare('report');
    expect(() => handlers.assertDispatchable('analysis')).not.toThrow();
    expect(() => handlers.assertDispatchable('report')).not.toThrow();
    expect(() => handlers.assertDispatchable('analyses')).toThrow(/Job "analyses" is neither declared nor handled/);
  });
});
