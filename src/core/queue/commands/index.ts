import { QueueFailedCommand } from './queue-failed.command';
import { QueueFlushCommand, QueuePruneFailedCommand } from './queue-flush.command';
import { QueueForgetCommand } from './queue-forget.command';
import { QueueMonitorCommand } from './queue-monitor.command';
import { QueueProbeCommand } from './queue-probe.command';
import { QueueRestartCommand } from './queue-restart.command';
import { QueueRetryCommand } from './queue-retry.command';
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
];
