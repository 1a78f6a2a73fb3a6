import { DynamicModule, Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { MigrateCommand } from '../core/database/commands/migrate.command';
import { QUEUE_COMMANDS } from '../core/queue/commands';
import { QueueModule } from '../core/queue/queue.module';
import { RealtimeModule } from '../core/realtime/realtime.module';
import { AnalysesModule } from '../modules/analyses/analyses.module';
import { AssistantModule } from '../modules/assistant/assistant.module';
import { AuthModule } from '../modules/auth/auth.module';
import { UserCreateCommand } from '../modules/auth/user-create.command';
import { DemoModule } from '../modules/demo/demo.module';
import { coreImports } from './api.module';

/** bin/switchboard: artisan-style commands over the same modules as the api. */
@Module({})
export class CliModule {
  static register(config: AppConfig): DynamicModule {
    return {
      module: CliModule,
      imports: [...coreImports(config, { logToStderr: true }), RealtimeModule.forWorker(), QueueModule, AuthModule, AnalysesModule, AssistantModule, DemoModule],
      providers: [MigrateCommand, UserCreateCommand, ...QUEUE_COMMANDS],
    };
  }
}
