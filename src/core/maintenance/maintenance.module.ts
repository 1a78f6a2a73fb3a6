import { Module } from '@nestjs/common';
import { MaintenanceMode } from './maintenance-mode';

/** The api side of maintenance mode (bin/switchboard down/up write the state; workers read it in QueueWorker). */
@Module({ providers: [MaintenanceMode], exports: [MaintenanceMode] })
export class MaintenanceModule {}
