import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, Repository } from 'typeorm';
import { AppConfig } from '../../config/app-config';
import { BadRequestError, NotFoundError } from '../../core/errors/domain-error';
import { RealtimeService } from '../../core/realtime/realtime.contract';
import { REDIS } from '../../core/redis/redis.module';
import type { RedisClient } from '../../core/redis/redis.factory';
import { Notification } from './entities/notification.entity';

export interface NotificationInput {
  type: string;
  title: string;
  body?: string;
  data?: Record<string, unknown>;
}

export interface NotificationView {
  id: number;
  type: string;
  title: string;
  body: string | null;
  data: Record<string, unknown> | null;
  status: 'unread' | 'read';
  readAt: string | null;
  createdAt: string;
}

function view(n: Notification): NotificationView {
  let data: Record<string, unknown> | null = null;
  try {
    data = n.data ? (JSON.parse(n.data) as Record<string, unknown>) : null;
  } catch {
    data = null;
  }
  return { id: Number(n.id), type: n.type, title: n.title, body: n.body, data, status: n.status, readAt: n.readAt?.toISOString() ?? null, createdAt: n.createdAt.toISOString() };
}

const COUNT_TTL_S = 300;
const PRUNE_CHUNK = 1000;

/**
 * Persisted notifications with live push. The unread count is cached in
 * Redis and invalidated on every change (then recomputed from the primary,
 * since the unit of work wrote, and pushed as `notification:unread-count`).
 * Other modules and workers call `notify()`.
 */
@Injectable()
export class NotificationsService {
  private readonly logger = new Logger(NotificationsService.name);

  constructor(
    @InjectRepository(Notification) private readonly repo: Repository<Notification>,
    @Inject(REDIS) private readonly redis: RedisClient,
    private readonly realtime: RealtimeService,
    private readonly config: AppConfig,
  ) {}

  private countKey(userId: number): string {
    return `${this.config.redis.prefix}notifications:unread:${userId}`;
  }

  async notify(userId: number, input: NotificationInput): Promise<NotificationView> {
    if (!input.type || !input.title) throw new BadRequestError('type and title are required');
    const saved = await this.repo.save(
      this.repo.create({ userId, type: input.type.slice(0, 64), title: input.title.slice(0, 200), body: input.body ?? null, data: input.data ? JSON.stringify(input.data) : null }),
    );
    const stored = view(await this.repo.findOneByOrFail({ id: saved.id }));
    await this.realtime.toUser(userId, 'notification:new', stored);
    await this.changed(userId);
    return stored;
  }

  async list(userId: number, status: 'unread' | 'all' = 'all', before?: string, limit = 50): Promise<{ notifications: NotificationView[]; nextBefore: number | null }> {
    const q = this.repo.createQueryBuilder('n').where('n.user_id = :userId', { userId }).orderBy('n.id', 'DESC').take(limit);
    if (status === 'unread') q.andWhere("n.status = 'unread'");
    if (before) q.andWhere('n.id < :before', { before });
    const rows = (await q.getMany()).map(view);
    return { notifications: rows, nextBefore: rows.length === limit ? rows[rows.length - 1].id : null };
  }

  async unreadCount(userId: number): Promise<{ count: number }> {
    const cached = await this.redis.get(this.countKey(userId));
    if (cached !== null) return { count: Number(cached) };
    const count = await this.repo.countBy({ userId, status: 'unread' });
    await this.redis.set(this.countKey(userId), String(count), 'EX', COUNT_TTL_S);
    return { count };
  }

  async markRead(userId: number, id: string): Promise<NotificationView> {
    const found = await this.repo.findOneBy({ id, userId });
    if (!found) throw new NotFoundError('Notification');
    if (found.status === 'unread') {
      await this.repo.update({ id, userId, readAt: IsNull() }, { status: 'read', readAt: new Date() });
      await this.changed(userId);
    }
    return view(await this.repo.findOneByOrFail({ id }));
  }

  async readAll(userId: number): Promise<{ updated: number }> {
    const r = await this.repo.update({ userId, status: 'unread' }, { status: 'read', readAt: new Date() });
    await this.changed(userId);
    return { updated: r.affected ?? 0 };
  }

  /**
   * Deletes notifications created more than `days` ago, read or not, a chunk at a time (no long
   * lock on the table), then recounts and pushes the unread count of every user who lost unread ones.
   */
  async prune(days: number): Promise<number> {
    const cutoff = new Date(Date.now() - days * 86_400_000);
    // On the primary (a transaction): a lagging replica would miss a user whose count then stays stale.
    const affected = await this.repo.manager.transaction((tx) =>
      tx
        .createQueryBuilder(Notification, 'n')
        .select('DISTINCT n.user_id', 'userId')
        .where('n.created_at < :cutoff AND n.status = :unread', { cutoff, unread: 'unread' })
        .getRawMany<{ userId: number }>(),
    );
    let deleted = 0;
    for (;;) {
      const r = await this.repo.query<{ affectedRows?: number }>('DELETE FROM notifications WHERE created_at < ? ORDER BY id LIMIT ?', [cutoff, PRUNE_CHUNK]);
      const n = r.affectedRows ?? 0;
      deleted += n;
      if (n < PRUNE_CHUNK) break;
    }
    for (const { userId } of affected) await this.changed(Number(userId));
    return deleted;
  }

  /** Invalidate, recount (primary: this unit wrote), push the new count. */
  private async changed(userId: number): Promise<void> {
    await this.redis.del(this.countKey(userId));
    const { count } = await this.unreadCount(userId);
    await this.realtime.toUser(userId, 'notification:unread-count', { count }).catch((err: Error) =>
      this.logger.warn({ userId, err: err.message }, 'unread count not pushed'),
    );
  }
}
