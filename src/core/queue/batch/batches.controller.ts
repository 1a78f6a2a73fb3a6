import { Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse } from '@nestjs/swagger';
import { CurrentUser } from '../../session/auth.decorators';
import type { Principal } from '../../session/principal';
import type { BatchView } from './batch';
import { Batches } from './batches.service';

const ISO = { type: 'string', format: 'date-time' };
const orNull = (schema: object) => ({ oneOf: [schema, { type: 'null' }] });
const BATCH_SCHEMA = {
  type: 'object',
  required: ['id', 'name', 'ownerId', 'totalJobs', 'pendingJobs', 'processedJobs', 'failedJobs', 'skippedJobs', 'progress', 'allowFailures', 'failedJobIds', 'createdAt', 'cancelledAt', 'finishedAt'],
  properties: {
    id: { type: 'string', format: 'uuid' },
    name: { type: 'string' },
    ownerId: orNull({ type: 'integer' }),
    totalJobs: { type: 'integer' },
    pendingJobs: { type: 'integer', description: 'not (yet) succeeded: waiting, running or failed' },
    processedJobs: { type: 'integer', description: 'totalJobs - pendingJobs (Laravel)' },
    failedJobs: { type: 'integer', description: 'failed for good and not since retried successfully' },
    skippedJobs: { type: 'integer', description: 'jobs of a cancelled batch that never ran' },
    progress: { type: 'integer', minimum: 0, maximum: 100 },
    allowFailures: { type: 'boolean' },
    failedJobIds: { type: 'array', items: { type: 'string' }, description: '<queue>:<id> as queue:failed prints them (at most 100)' },
    createdAt: ISO,
    cancelledAt: orNull(ISO),
    finishedAt: { ...orNull(ISO), description: 'every job has succeeded, failed or been skipped' },
  },
};

/** Laravel's Bus::findBatch over HTTP: the batch's owner or an admin. */
@Controller('api/batches')
export class BatchesController {
  constructor(private readonly batches: Batches) {}

  @Get(':id')
  @ApiOkResponse({ description: 'The batch: counts, progress, failed job ids (Laravel Batch::toArray)', schema: BATCH_SCHEMA })
  get(@CurrentUser() me: Principal, @Param('id') id: string): Promise<BatchView> {
    return this.batches.viewFor(me, id);
  }

  /** Laravel's $batch->cancel(); 409 once the batch has finished. */
  @Post(':id/cancel')
  @HttpCode(200)
  @ApiOkResponse({ description: 'The cancelled batch: its jobs not yet run are skipped', schema: BATCH_SCHEMA })
  cancel(@CurrentUser() me: Principal, @Param('id') id: string): Promise<BatchView> {
    return this.batches.cancelFor(me, id);
  }
}
