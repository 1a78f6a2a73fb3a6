import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module';
import { ChatServiceModule } from '../chat/chat.module';
import { ProjectsModule } from '../projects/projects.module';
import { DbSeedCommand } from './db-seed.command';

/** `db:seed --demo` for the CLI. */
@Module({
  imports: [AuthModule, ProjectsModule, ChatServiceModule],
  providers: [DbSeedCommand],
})
export class DemoModule {}
