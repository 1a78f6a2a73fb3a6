import { Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { AppConfig } from '../../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { ReplicaHealth } from './replica-health';
import { ReplicationRouter } from './replication-router';
import { StickyWindow } from './sticky-window';

@Global()
@Module({
  imports: [
    TypeOrmModule.forRootAsync({
      inject: [AppConfig],
      useFactory: (config: AppConfig) => ({ ...dataSourceOptions(config), retryAttempts: 10, retryDelay: 1000 }),
    }),
  ],
  providers: [ReplicaHealth, StickyWindow, ReplicationRouter],
  exports: [ReplicaHealth, StickyWindow],
})
export class DatabaseModule {}
