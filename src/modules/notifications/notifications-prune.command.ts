import { Command, CommandRunner, Option } from 'nest-commander';
import { AppConfig } from '../../config/app-config';
import { parseCount } from '../../core/cli/cli-output';
import { NotificationsService } from './notifications.service';

@Command({ name: 'notifications:prune', description: 'Delete notifications older than --days (default NOTIFICATIONS_RETENTION_DAYS, 90); scheduled daily' })
export class NotificationsPruneCommand extends CommandRunner {
  constructor(
    private readonly notifications: NotificationsService,
    private readonly config: AppConfig,
  ) {
    super();
  }

  async run(_args: string[], opts: { days?: string }): Promise<void> {
    const days = opts.days === undefined ? this.config.notifications.retentionDays : parseCount('--days', opts.days, 1);
    const n = await this.notifications.prune(days);
    process.stdout.write(`${n} notification(s) older than ${days} day(s) deleted.\n`);
  }

  @Option({ flags: '--days <n>', description: 'Age in days (default NOTIFICATIONS_RETENTION_DAYS)' })
  parseDays(v: string): string {
    return v;
  }
}
