import { Injectable, Logger } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';

const WEBHOOK_TIMEOUT_MS = 5000;

/**
 * Laravel's QueueBusy notification sent to Slack: queue:monitor alerts are POSTed as JSON with a
 * `text` field (what Slack's, Mattermost's and most chat incoming webhooks read), the structured
 * fields beside it. A webhook that fails or hangs is logged, never fatal: the alert has already
 * gone to the log, the admins and the metric.
 */
@Injectable()
export class MonitorWebhook {
  private readonly logger = new Logger('MonitorWebhook');

  constructor(private readonly config: AppConfig) {}

  async notify(text: string, fields: Record<string, unknown>): Promise<void> {
    const url = this.config.queue.monitorWebhookUrl;
    if (!url) return;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text, ...fields }),
        signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
      });
      if (!res.ok) this.logger.warn({ status: res.status }, 'queue monitor webhook refused the alert');
    } catch (err) {
      this.logger.warn({ err: (err as Error).message }, 'queue monitor webhook unreachable');
    }
  }
}
