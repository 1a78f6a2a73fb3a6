import type { AppConfig } from '../../../config/app-config';
import { JobHandlers } from '../job-handlers';
import { QueueWorkCommand } from './queue-work.command';

const config = { queue: { names: ['high', 'default'], tries: 3, backoff: [2] } } as unknown as AppConfig;
// Never reached: the command refuses before it builds a worker.
const unused: never = undefined as never;

describe('queue:work', () => {
  it('refuses to start while a job the application dispatches has no handler', async () => {
    const handlers = new JobHandlers({ getProviders: () => [] } as never);
    handlers.declare('report');
    const command = new QueueWorkCommand(config, handlers, unused, unused, unused, unused, unused);
    await expect(command.run([], {})).rejects.toThrow('refusing to start: no handler is registered for the job(s) report');
  });
});
