import { DiscoveryService } from '@nestjs/core';
import type { Principal } from '../session/principal';

/**
 * A kind of room clients may listen to, named `<prefix>:<rest>` (SPEC §5).
 * Core knows only the kinds it publishes to itself (`user:`, `job:`,
 * `queue:`); each feature module provides the kinds it owns as a provider
 * marked `@RoomKindProvider()`, which RoomAccess finds at boot (STYLE.md
 * rule 11). The same rule serves sockets and SSE, on subscribe, on every
 * recovery and for replayed history.
 */
export interface RoomKind<Ref = unknown> {
  /** The part before the first ':' (`project` for `project:12`): lower case letters, digits and '-'. */
  readonly prefix: string;
  /** The part after `<prefix>:`, parsed strictly; null makes the whole name a bad_request. */
  parse(rest: string): Ref | null;
  /**
   * Whether the user may listen to the room. Read the primary: a replica may
   * not have seen a membership that was removed a moment ago.
   */
  mayListen(user: Principal, ref: Ref): Promise<boolean>;
  /** Presence (GET /api/realtime/presence): which of `among` share a room of this kind with the user. */
  sharingWith?(userId: number, among: number[]): Promise<number[]>;
}

/** Marks a provider that is a RoomKind; RoomAccess discovers every one at boot. */
export const RoomKindProvider = DiscoveryService.createDecorator<void>();

const ID = /^[1-9][0-9]{0,9}$/;

/** A database id in a room name (`project:12`): positive, no sign, no leading zero, at most 10 digits. */
export function parseRoomId(rest: string): number | null {
  return ID.test(rest) ? Number(rest) : null;
}

/** What a name part may be (queue names, job ids): what BullMQ and our Redis keys accept. */
export const ROOM_NAME_PART = /^[A-Za-z0-9_-]{1,64}$/;
