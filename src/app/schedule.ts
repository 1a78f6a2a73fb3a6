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
  // Laravel's documented schedule for batches: finished ones after two days, unfinished and cancelled after three.
  command('queue:prune-batches --hours=48 --unfinished=72 --cancelled=72').daily(),
  // Notifications past NOTIFICATIONS_RETENTION_DAYS; their users' unread counts are recounted and pushed.
  command('notifications:prune').dailyAt('03:00'),
  // Api processes and workers that died without deregistering leave index entries behind.
  command('presence:prune').everyFiveMinutes(),
];
