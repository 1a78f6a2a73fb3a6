import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppConfig } from '../../config/app-config';
import { BadRequestError, NotFoundError } from '../errors/domain-error';
import { Public, Roles, CurrentUser } from '../session/auth.decorators';
import type { Principal } from '../session/principal';
import { ClusterState } from './cluster-state';
import { RealtimeTestDto } from './dto';
import { EventLog } from './event-log';
import { PresenceScope } from './presence-scope';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';
import { jobRoom } from './realtime.contract';
import { RoomAccess } from './room-access';
import { BROADCAST_ROOM, RedisRealtimeService } from './redis-realtime.service';
import { SseStreams } from './sse-streams';

function roomList(raw: unknown): string[] {
  if (raw === undefined || raw === '') return [];
  if (typeof raw !== 'string') throw new BadRequestError('rooms must be a comma-separated list');
  const rooms = [...new Set(raw.split(',').map((r) => r.trim()).filter(Boolean))];
  if (rooms.length > 50) throw new BadRequestError('Too many rooms');
  return rooms;
}

@Controller('api/realtime')
export class RealtimeController {
  constructor(
    private readonly sse: SseStreams,
    private readonly cluster: ClusterState,
    private readonly namespaces: SocketNamespaces,
    private readonly sseRegistry: SseRegistry,
    private readonly log: EventLog,
    private readonly realtime: RedisRealtimeService,
    private readonly config: AppConfig,
    private readonly presenceScope: PresenceScope,
    private readonly access: RoomAccess,
  ) {}

  /** SSE over `?rooms=a,b` (the user's own room is always included). */
  @Get('events')
  events(@CurrentUser() me: Principal, @Query('rooms') rooms: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    return this.sse.open(req, res, me, roomList(rooms));
  }

  /**
   * One job: `:jobId` is the `jobId` the job:* payloads carry (seed 003), or
   * `<queue>:<id>` (e.g. `default:42`), the same pair as the `job:<queue>:<id>`
   * room. BullMQ numbers each queue's jobs on its own, so a bare id is looked
   * up in the configured queues in order and the first one the caller may see wins.
   */
  @Get('jobs/:jobId/stream')
  async job(@CurrentUser() me: Principal, @Param('jobId') jobId: string, @Req() req: Request, @Res() res: Response): Promise<void> {
    const room = jobId.includes(':') ? `job:${jobId}` : await this.jobRoomOf(me, jobId);
    if (!this.access.parse(room)) throw new BadRequestError('jobId must be a job id or <queue>:<id>');
    return this.sse.open(req, res, me, [room]);
  }

  private async jobRoomOf(me: Principal, jobId: string): Promise<string> {
    if (!this.access.parse(jobRoom('default', jobId))) throw new BadRequestError('jobId must be a job id or <queue>:<id>');
    for (const queue of this.config.queue.names) {
      if (await this.access.may(me, jobRoom(queue, jobId))) return jobRoom(queue, jobId);
    }
    throw new NotFoundError('No job with this id that you may follow');
  }

  /**
   * Cluster-wide: websocket and SSE totals, authenticated counts, rooms with
   * sizes, per process. Seed 003's `{success, stats:{...}}` is kept as written
   * beside our own fields; admin only (SPEC §4: room names reveal who is where).
   */
  @Roles('admin')
  @Get('stats')
  async stats() {
    const cluster = await this.cluster.clusterStats();
    const namespaces: Record<string, { connections: number; authenticated: number }> = {};
    const rooms: Record<string, number> = {};
    let sockets = 0;
    let socketsAuthenticated = 0;
    let sse = 0;
    for (const p of cluster.processes) {
      for (const [name, n] of Object.entries(p.namespaces)) {
        const agg = (namespaces[name] ??= { connections: 0, authenticated: 0 });
        agg.connections += n.connections;
        agg.authenticated += n.authenticated;
        sockets += n.connections;
        socketsAuthenticated += n.authenticated;
      }
      sse += p.sse.clients;
      for (const [room, size] of Object.entries(p.rooms)) rooms[room] = (rooms[room] ?? 0) + size;
    }
    const timestamp = new Date().toISOString();
    const socketRooms = new Set<string>();
    const sseRooms: { name: string; clients: number }[] = [];
    for (const [key, size] of Object.entries(rooms)) {
      const at = key.indexOf('#');
      if (key.slice(0, at) === 'sse') sseRooms.push({ name: key.slice(at + 1), clients: size });
      else socketRooms.add(key.slice(at + 1));
    }
    return {
      success: true,
      stats: {
        websocket: { totalConnections: sockets, authenticatedConnections: socketsAuthenticated, rooms: [...socketRooms].sort() },
        // Every SSE stream is in its user's own room, so that room's count is the user's stream count.
        sse: { totalClients: sse, authenticatedClients: sse, rooms: sseRooms, users: sseUsers(sseRooms) },
        timestamp,
      },
      websocket: { total: sockets, authenticated: socketsAuthenticated, namespaces },
      sse: { total: sse, authenticated: sse },
      connections: { total: cluster.total, limit: cluster.limit, perIp: cluster.perIp },
      onlineUsers: cluster.onlineUsers,
      rooms,
      processes: cluster.processes,
    };
  }

  /** Seed 003's `{success, health:{websocket, sse, overall, timestamp}}`, plus this process's own figures. */
  @Public()
  @Get('health')
  async health() {
    const lastEventId = this.log.format(await this.log.currentPosition());
    const namespaces = this.namespaces.all();
    const initialized = namespaces.length > 0;
    return {
      success: true,
      health: {
        websocket: { status: initialized ? 'operational' : 'unavailable', initialized },
        sse: { status: 'operational', clients: this.sseRegistry.clients },
        overall: initialized ? 'healthy' : 'degraded',
        timestamp: new Date().toISOString(),
      },
      status: 'ok',
      instance: this.config.instanceId,
      namespaces: this.namespaces.all().map((n) => n.name),
      localSockets: this.namespaces.all().reduce((sum, n) => sum + n.sockets.size, 0),
      localSseClients: this.sseRegistry.clients,
      clusterConnections: this.cluster.clusterConnections,
      lastEventId,
    };
  }

  /** Who is online, across processes: `?userIds=1,2,3`, among the users the caller shares a project or room with. */
  @Get('presence')
  async presence(@CurrentUser() me: Principal, @Query('userIds') raw: unknown) {
    if (typeof raw !== 'string' || !/^[0-9]{1,15}(,[0-9]{1,15}){0,99}$/.test(raw)) throw new BadRequestError('userIds must be a comma-separated list of ids');
    const visible = await this.presenceScope.visibleTo(me, [...new Set(raw.split(',').map(Number))]);
    return { online: visible.length ? await this.cluster.online(visible) : [] };
  }

  @Roles('admin')
  @Post('test')
  @HttpCode(202)
  async test(@Body() dto: RealtimeTestDto) {
    if (dto.room !== undefined && !this.access.parse(dto.room) && dto.room !== BROADCAST_ROOM) throw new BadRequestError('Unknown room name');
    const e = await this.realtime.publish([dto.room ?? BROADCAST_ROOM], dto.eventType, dto.payload ?? {}, { target: dto.target ?? 'all' });
    return { eventId: this.log.publishedId(e), room: dto.room ?? BROADCAST_ROOM, target: e.target };
  }
}

/** Seed 003's `users: [{userId, clients}]` from the SSE room counts (ids are numbers on our wire). */
function sseUsers(rooms: { name: string; clients: number }[]): { userId: number; clients: number }[] {
  const users: { userId: number; clients: number }[] = [];
  for (const { name, clients } of rooms) {
    const m = /^user:(\d+)$/.exec(name);
    if (m) users.push({ userId: Number(m[1]), clients });
  }
  return users.sort((a, b) => a.userId - b.userId);
}
