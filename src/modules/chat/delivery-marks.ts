import { Inject, Injectable } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { REDIS } from '../../core/redis/redis.module';
import type { RedisClient } from '../../core/redis/redis.factory';

/** How long a mark lives; a resend of a message older than this finds its fate settled long ago. */
export const MARK_TTL_MS = 15 * 60_000;
/** How long a stored message may take to reach `message:new` before a resend takes the delivery over. */
export const DELIVERY_GRACE_MS = 5000;
const POLL_MS = 50;

/**
 * Which messages sent with a clientMessageId reached `message:new`. A resend of a stored message
 * must not deliver it twice, and must not leave it undelivered either: the process that stored it
 * may have died (or lost Redis) between the commit and the publish. The first send marks the
 * message once published; a resend that finds no mark waits until the message is
 * DELIVERY_GRACE_MS old (the first send may still be publishing it), then claims the delivery
 * (SET NX: one resend wins) and publishes it itself. Only keyed sends pay the one SET.
 */
@Injectable()
export class DeliveryMarks {
  constructor(
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly config: AppConfig,
  ) {}

  private key(messageId: number): string {
    return `${this.config.redis.prefix}{chat}:delivered:${messageId}`;
  }

  async mark(messageId: number): Promise<void> {
    await this.redis.set(this.key(messageId), '1', 'PX', MARK_TTL_MS);
  }

  /** True when the caller must publish the message: nobody did within the grace, and this caller won the claim. */
  async claimUndelivered(messageId: number, createdAt: Date, now: () => number = Date.now): Promise<boolean> {
    for (;;) {
      const age = now() - createdAt.getTime();
      if (age >= MARK_TTL_MS - DELIVERY_GRACE_MS) return false;
      if (age >= DELIVERY_GRACE_MS) return (await this.redis.set(this.key(messageId), '1', 'PX', MARK_TTL_MS, 'NX')) === 'OK';
      if (await this.redis.exists(this.key(messageId))) return false;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
