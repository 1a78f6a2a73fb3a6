import { QueueBatchCommand, QueueCancelBatchCommand, QueuePruneBatchesCommand, QueueRetryBatchCommand } from './queue-batch.commands';
import { QueueClearCommand } from './queue-clear.command';
import { QueueFailedCommand } from './queue-failed.command';
import { QueueFlushCommand, QueuePruneFailedCommand } from './queue-flush.command';
import { QueueForgetCommand } from './queue-forget.command';
import { QueueMonitorCommand } from './queue-monitor.command';
import { QueueContinueCommand, QueuePauseCommand } from './queue-pause.command';
import { QueueProbeCommand } from './queue-probe.command';
import { QueueRestartCommand } from './queue-restart.command';
import { QueueRetryCommand } from './queue-retry.command';
import { QueueStatusCommand } from './queue-status.command';
import { QueueWorkCommand } from './queue-work.command';

/** Every queue:* command, for CliModule's providers. */
export const QUEUE_COMMANDS = [
  QueueWorkCommand,
  QueueFailedCommand,
  QueueRetryCommand,
  QueueForgetCommand,
  QueueFlushCommand,
  QueuePruneFailedCommand,
  QueueMonitorCommand,
  QueueProbeCommand,
  QueueRestartCommand,
  QueuePauseCommand,
  QueueContinueCommand,
  QueueClearCommand,
  QueueStatusCommand,
  QueueBatchCommand,
  QueueRetryBatchCommand,
  QueueCancelBatchCommand,
  QueuePruneBatchesCommand,
];
