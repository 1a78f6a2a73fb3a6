import { command, ScheduledTask } from '../core/schedule/schedule';

/**
 * The schedule, as Laravel's routes/console.php: what `bin/switchboard schedule:work` runs. Each
 * task runs once per tick across the cluster (BullMQ job schedulers), however many schedulers run.
 */
export const SCHEDULE: readonly ScheduledTask[] = [
  // Failed jobs stay until dealt with; a week is long enough to look at them (queue:failed).
  command('queue:prune-failed --hours=168').daily(),
  // Laravel's `queue:monitor` every minute: alerts to admins, the metric and the webhook.
  command('queue:monitor high,default').everyMinute(),
];
