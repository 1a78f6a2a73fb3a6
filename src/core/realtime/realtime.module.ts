import { DynamicModule, Global, Module } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { AppConfig } from '../../config/app-config';
import { REDIS } from '../redis/redis.module';
import type { RedisClient } from '../redis/redis.factory';
import { AccessRevocations } from './access-revocations';
import { AdminAlerts } from './admin-alerts';
import { ChannelSubscriber } from './channel-subscriber';
import { ClientEventRunner, eventLimitersProvider } from './client-event-runner';
import { LocalConnectionStats } from './local-connection-stats';
import { SlowSocketShedder } from './slow-socket-shedder';
import { SocketWrites } from './socket-writes';
import { SocketAdmission } from './socket-admission';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';
import { ClusterState } from './cluster-state';
import { EventLog } from './event-log';
import { assertShardedPubSub } from './sharded-pubsub-check';
import { EventRouting } from './event-routing';
import { PresenceScope } from './presence-scope';
import { InstanceAnnouncer } from './instance-announcer';
import { LocalFanout } from './local-fanout';
import { RealtimeHub } from './realtime-hub';
import { RealtimeController } from './realtime.controller';
import { RealtimeService } from './realtime.contract';
import { RecentRevocations } from './recent-revocations';
import { DefaultNamespaceGateway, RealtimeGateway } from './realtime.gateway';
import { RedisRealtimeService } from './redis-realtime.service';
import { RoomAccess } from './room-access';
import { AuthDeadline } from './auth-deadline';
import { SocketAuthentication } from './socket-authentication';
import { SocketConnections } from './socket-connections';
import { SocketLogout } from './socket-logout';
import { SocketRecovery } from './socket-recovery';
import { SocketRooms, socketSessionStoreProvider } from './socket-rooms';
import { SseStreams } from './sse-streams';
import { UserRooms } from './user-rooms';
import { RedisReachability } from './redis-reachability';
import { HearingKeeper } from './hearing-keeper';
import { RoomHearing } from './room-hearing';
import { sessionRefreshMs } from './socket-rooms';

/** Idle rooms keep their history this long (the recovery window and SSE resumption fit well inside). */
const HISTORY_TTL_MS = 24 * 3600 * 1000;

/**
 * Workers and the CLI collect their events for this long into one script call: a worker's job:started and
 * job:completed of several short jobs share one round trip (bench/queues); a few ms of delay on a job's
 * progress is not seen, where the api's chat messages keep one event-loop turn.
 */
const WORKER_EVENT_COALESCE_MS = 5;

const publishingWith = (coalesceMs: number) => [
  {
    provide: EventLog,
    inject: [REDIS, AppConfig],
    useFactory: async (redis: RedisClient, config: AppConfig) => {
      await assertShardedPubSub(redis, config.realtime.shards);
      return new EventLog(redis, { prefix: config.redis.prefix, historyPerRoom: config.realtime.sseHistory, historyTtlMs: HISTORY_TTL_MS, shards: config.realtime.shards, coalesceMs });
    },
  },
  RedisRealtimeService,
  { provide: RealtimeService, useExisting: RedisRealtimeService },
];
const publishing = publishingWith(0);

/**
 * `forWorker()`: only publishing (Redis), for queue:work and the CLI.
 * `forApi()`: publishing plus the gateways, SSE, limits, presence and stats.
 * Both are global: any module injects the abstract RealtimeService.
 */
@Global()
@Module({})
export class RealtimeModule {
  static forWorker(): DynamicModule {
    return { module: RealtimeModule, global: true, providers: publishingWith(WORKER_EVENT_COALESCE_MS), exports: [RealtimeService, RedisRealtimeService, EventLog] };
  }

  static forApi(): DynamicModule {
    return {
      module: RealtimeModule,
      global: true,
      imports: [DiscoveryModule],
      controllers: [RealtimeController],
      providers: [
        ...publishing,
        // What the feature modules registered (STYLE.md rule 11): room kinds (RoomAccess), the events of their namespaces.
        { provide: EventRouting, inject: [DiscoveryService], useFactory: (discovery: DiscoveryService) => EventRouting.discover(discovery) },
        UserRooms,
        SocketNamespaces,
        SseRegistry,
        ChannelSubscriber,
        AdminAlerts,
        LocalConnectionStats,
        SocketWrites,
        SlowSocketShedder,
        eventLimitersProvider,
        ClientEventRunner,
        SocketAdmission,
        ClusterState,
        LocalFanout,
        RealtimeHub,
        RecentRevocations,
        RoomAccess,
        PresenceScope,
        socketSessionStoreProvider,
        {
          // A mark outlives its last refresh by the recovery window and two refresh periods (HearingKeeper).
          provide: RoomHearing,
          inject: [REDIS, AppConfig, EventLog],
          useFactory: (redis: RedisClient, config: AppConfig, log: EventLog) =>
            new RoomHearing(redis, config.redis.prefix, log, config.realtime.recoveryWindowMs + 2 * sessionRefreshMs(config)),
        },
        HearingKeeper,
        SocketRooms,
        SocketLogout,
        AuthDeadline,
        SocketAuthentication,
        SocketRecovery,
        SocketConnections,
        AccessRevocations,
        SseStreams,
        RedisReachability,
        RealtimeGateway,
        DefaultNamespaceGateway,
        InstanceAnnouncer,
      ],
      exports: [RealtimeService, RedisRealtimeService, EventLog, SocketConnections, RoomAccess, ClusterState, SseStreams],
    };
  }
}
