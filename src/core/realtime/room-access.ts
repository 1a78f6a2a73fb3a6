import { Injectable, OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { BadRequestError, ForbiddenError } from '../errors/domain-error';
import type { Principal } from '../session/principal';
import { RoomKind, RoomKindProvider } from './room-kinds';

/** Kinds core publishes to itself (the user's own room, job:* events): a process without them cannot work. */
export const CORE_ROOM_KINDS = ['user', 'job', 'queue'];
const PREFIX = /^[a-z][a-z0-9-]{0,31}$/;

export interface ParsedRoom {
  kind: RoomKind;
  ref: unknown;
}

/** A room kind that is malformed, claimed twice or missing: the process refuses to start. */
export class RoomKindRegistrationError extends Error {
  override readonly name = 'RoomKindRegistrationError';
}

/**
 * Who may listen to which room: the room kinds every module registered
 * (room-kinds.ts), the same rules for sockets and SSE, checked on subscribe,
 * on every recovery and for replayed history. Core knows no feature's tables.
 */
@Injectable()
export class RoomAccess implements OnModuleInit {
  private readonly kinds = new Map<string, RoomKind>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    this.register(this.discovery.getProviders({ metadataKey: RoomKindProvider.KEY }).map((w) => w.instance as RoomKind));
  }

  /** Throws RoomKindRegistrationError for a malformed kind, a prefix claimed twice, or a core kind missing. */
  register(kinds: RoomKind[]): void {
    for (const kind of kinds) {
      if (!kind || typeof kind.parse !== 'function' || typeof kind.mayListen !== 'function' || typeof kind.prefix !== 'string' || !PREFIX.test(kind.prefix)) {
        throw new RoomKindRegistrationError(`${kind?.constructor?.name ?? typeof kind} is marked @RoomKindProvider() but is not a RoomKind (prefix, parse, mayListen)`);
      }
      const other = this.kinds.get(kind.prefix);
      if (other) throw new RoomKindRegistrationError(`The room kind "${kind.prefix}:" is claimed by both ${other.constructor.name} and ${kind.constructor.name}`);
      this.kinds.set(kind.prefix, kind);
    }
    const missing = CORE_ROOM_KINDS.filter((p) => !this.kinds.has(p));
    if (missing.length) {
      throw new RoomKindRegistrationError(`No provider for the room kind(s) ${missing.map((p) => `"${p}:"`).join(', ')}, which core publishes to (RealtimeModule and QueueModule provide them)`);
    }
  }

  /** The registered prefixes (docs, specs). */
  prefixes(): string[] {
    return [...this.kinds.keys()];
  }

  /** The room's kind and parsed reference, or null for a name no kind accepts (bad_request). */
  parse(name: unknown): ParsedRoom | null {
    if (typeof name !== 'string' || name.length > 200) return null;
    const colon = name.indexOf(':');
    if (colon <= 0) return null;
    const kind = this.kinds.get(name.slice(0, colon));
    if (!kind) return null;
    const ref = kind.parse(name.slice(colon + 1));
    return ref === null ? null : { kind, ref };
  }

  /** Throws bad_request for a malformed room name, forbidden for a room the user may not see. */
  async assert(user: Principal, room: unknown): Promise<void> {
    const parsed = this.parse(room);
    if (!parsed) throw new BadRequestError('Unknown room name');
    if (!(await parsed.kind.mayListen(user, parsed.ref))) throw new ForbiddenError('You may not subscribe to this room');
  }

  async may(user: Principal, room: string): Promise<boolean> {
    const parsed = this.parse(room);
    return parsed ? parsed.kind.mayListen(user, parsed.ref) : false;
  }

  /** Which of `among` share a room of any kind with the user (presence). */
  async sharingWith(userId: number, among: number[]): Promise<Set<number>> {
    const shared = new Set<number>();
    for (const kind of this.kinds.values()) {
      if (!kind.sharingWith) continue;
      for (const id of await kind.sharingWith(userId, among)) shared.add(id);
    }
    return shared;
  }
}
