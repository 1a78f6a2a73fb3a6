import { Command, CommandRunner, Option } from 'nest-commander';
import { AppConfig } from '../../config/app-config';
import { table } from '../cli/cli-output';
import { ScheduledTask } from './schedule';
import { ScheduleRunner } from './schedule-runner';

/** The schedule (src/app/schedule.ts), provided by the composition root. */
export abstract class Schedule {
  abstract readonly tasks: readonly ScheduledTask[];
}

@Command({ name: 'schedule:work', description: 'Run the scheduler: each task once per tick across the cluster, however many schedule:work processes run' })
export class ScheduleWorkCommand extends CommandRunner {
  constructor(
    private readonly config: AppConfig,
    private readonly schedule: Schedule,
  ) {
    super();
  }

  async run(): Promise<void> {
    const runner = new ScheduleRunner(this.config, this.schedule.tasks);
    const onSignal = () => void runner.stop();
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      process.stdout.write(`Running the schedule (${this.schedule.tasks.length} task(s)). SIGTERM stops it after running tasks.\n`);
      await runner.work();
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      await runner.close();
    }
  }
}

@Command({ name: 'schedule:list', description: 'The scheduled tasks: command, cron (UTC), frequency, next run' })
export class ScheduleListCommand extends CommandRunner {
  constructor(
    private readonly config: AppConfig,
    private readonly schedule: Schedule,
  ) {
    super();
  }

  async run(_args: string[], opts: { json?: boolean }): Promise<void> {
    const runner = new ScheduleRunner(this.config, this.schedule.tasks);
    try {
      const views = await runner.list();
      if (opts.json) process.stdout.write(JSON.stringify(views) + '\n');
      else process.stdout.write(table(['Command', 'Cron (UTC)', 'Frequency', 'Next run'], views.map((v) => [v.task, v.cron, v.frequency, v.next ?? '(schedule:work not started yet)'])));
    } finally {
      await runner.close();
    }
  }

  @Option({ flags: '--json', description: 'JSON: [{task, cron, frequency, next}]' })
  parseJson(): boolean {
    return true;
  }
}
