/**
 * One scheduled task, as Laravel's `Schedule::command('queue:prune-failed --hours=168')->daily()`:
 * a bin/switchboard command line and when it runs (a cron expression, UTC).
 */
export interface ScheduledTask {
  /** Arguments to bin/switchboard. */
  command: string[];
  cron: string;
  /** Laravel's frequency name, for schedule:list. */
  frequency: string;
}

/** `Schedule::command(...)` with Laravel's frequency methods. */
export function command(line: string): { everyMinute(): ScheduledTask; everyFiveMinutes(): ScheduledTask; hourly(): ScheduledTask; daily(): ScheduledTask; dailyAt(time: string): ScheduledTask } {
  const args = line.split(/\s+/).filter(Boolean);
  const task = (cron: string, frequency: string): ScheduledTask => ({ command: args, cron, frequency });
  return {
    everyMinute: () => task('* * * * *', 'everyMinute'),
    everyFiveMinutes: () => task('*/5 * * * *', 'everyFiveMinutes'),
    hourly: () => task('0 * * * *', 'hourly'),
    daily: () => task('0 0 * * *', 'daily'),
    dailyAt: (time: string) => {
      const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(time);
      if (!m) throw new Error(`dailyAt takes HH:MM (got "${time}")`);
      return task(`${Number(m[2])} ${Number(m[1])} * * *`, `dailyAt('${time}')`);
    },
  };
}

/** The scheduler id of a task: its command line (one scheduler per distinct task). */
export const taskId = (task: ScheduledTask) => task.command.join(' ');
