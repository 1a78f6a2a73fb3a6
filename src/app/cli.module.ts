import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ListCommand } from '../core/cli/list.command';
import { DownCommand, UpCommand } from '../core/maintenance/commands/down.command';
import { Schedule, ScheduleListCommand, ScheduleWorkCommand } from '../core/schedule/schedule.commands';
import { SCHEDULE } from './schedule';
import { MigrateCommand } from '../core/database/commands/migrate.command';
import { QUEUE_COMMANDS } from '../core/queue/commands';
import { QueueModule } from '../core/queue/queue.module';
import { RealtimeModule } from '../core/realtime/realtime.module';
import { AnalysesServiceModule } from '../modules/analyses/analyses.module';
import { AssistantModule } from '../modules/assistant/assistant.module';
import { AuthModule } from '../modules/auth/auth.module';
import { UserCreateCommand } from '../modules/auth/user-create.command';
import { DbSeedCommand } from '../modules/demo/db-seed.command';
import { DemoModule } from '../modules/demo/demo.module';
import { NotificationsPruneCommand } from '../modules/notifications/notifications-prune.command';
import { NotificationsServiceModule } from '../modules/notifications/notifications.module';
import { PresencePruneCommand } from '../core/ops/presence-prune.command';
import { coreImports } from './api.module';

/** The commands this module provides itself. */
const OWN_COMMANDS = [
  ListCommand,
  MigrateCommand,
  UserCreateCommand,
  DownCommand,
  UpCommand,
  ScheduleWorkCommand,
  ScheduleListCommand,
  NotificationsPruneCommand,
  PresencePruneCommand,
  ...QUEUE_COMMANDS,
];
/** Every command of bin/switchboard (also read, without booting, by --help and list); db:seed comes with DemoModule. */
export const CLI_COMMANDS = [...OWN_COMMANDS, DbSeedCommand];

/** bin/switchboard: artisan-style commands over the same modules as the api. */
@Module({})
export class CliModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [...coreImports(config, { logToStderr: true }), RealtimeModule.forWorker(), QueueModule, AuthModule, AnalysesServiceModule, AssistantModule, DemoModule, NotificationsServiceModule],
      providers: [...OWN_COMMANDS, { provide: Schedule, useValue: { tasks: SCHEDULE } }],
    };
  }
}
