import { Injectable, Logger, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { AppConfig } from '../../config/app-config';
import { HISTORY_INCOMPLETE } from './event-log';
import { LocalFanout } from './local-fanout';
import { hearingRoomOf, RoomHearing } from './room-hearing';
import { sessionRefreshMs } from './socket-rooms';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';

/**
 * Keeps the marks of the queue rooms this process's sockets and SSE streams listen to (RoomHearing),
 * as often as their sessions are kept: while one listens here, its queue's jobs stay announced, and for
 * the recovery window after it left. Reads the rooms, not the sockets (a Map's keys per namespace).
 * A queue's history marked incomplete (a mark made anew, on any api process) means that listeners already
 * in its rooms heard nothing while the mark was gone: they are sent away to recover and be told so.
 */
@Injectable()
export class HearingKeeper implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('RoomHearing');
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly config: AppConfig,
    private readonly hearing: RoomHearing,
    private readonly namespaces: SocketNamespaces,
    private readonly sse: SseRegistry,
    private readonly fanout: LocalFanout,
  ) {}

  onModuleInit(): void {
    this.timer = setInterval(() => void this.keep(), sessionRefreshMs(this.config));
    this.timer.unref();
    this.fanout.onControl(HISTORY_INCOMPLETE, (payload) => {
      const room = typeof payload.room === 'string' ? hearingRoomOf(payload.room) : null;
      if (room) this.fanout.resyncListenersOf(room);
    });
  }

  onModuleDestroy(): void {
    clearInterval(this.timer);
  }

  /** The queue rooms listened to on this process now. */
  heardHere(): Set<string> {
    const heard = new Set<string>();
    const add = (room: string) => {
      const h = hearingRoomOf(room);
      if (h) heard.add(h);
    };
    for (const nsp of this.namespaces.all()) for (const room of nsp.adapter.rooms.keys()) add(room);
    for (const room of this.sse.roomSizes().keys()) add(room);
    return heard;
  }

  async keep(): Promise<void> {
    const heard = this.heardHere();
    if (!heard.size) return;
    await this.hearing.hear(heard, false).catch((err: Error) => this.logger.warn({ err: err.message }, 'queue room marks not kept'));
  }
}
