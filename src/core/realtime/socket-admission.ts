import { Injectable, Logger } from '@nestjs/common';
import type { Request } from 'express';
import type { Socket } from 'socket.io';
import { AppConfig } from '../../config/app-config';
import { DomainError } from '../errors/domain-error';
import { mapError } from '../errors/error-mapping';
import { assertSameSiteHandshake } from '../http/cross-site';
import { Authenticator } from '../session/authenticator';
import { principalCredential } from '../session/credential-tag';
import type { Principal } from '../session/principal';
import { SESSION_COOKIE } from '../session/session.middleware';
import { ClusterState } from './cluster-state';
import { connectionAddress } from './connection-address';
import { EventLog } from './event-log';
import { RecentRevocations, RevocationMarked } from './recent-revocations';
import type { SlotHolderKind } from './slot-ledger';
import type { AppSocket } from './socket-state';

/** A socket between its cluster slot and its connection handler. */
export interface Admission {
  /** Releases the slot when the client leaves before the socket connects. */
  gone: () => void;
  /** The recovery offset (a wire position), read during the handshake (before any room is joined). */
  offset?: string;
  /** RecentRevocations.mark() from before the credential was checked: a logout heard since then ends the socket. */
  revocationMark: number;
}

/**
 * What a socket keeps of its principal for its life: who and which role. The
 * token's id and expiry serve HTTP logout only, and the uuid string cost
 * about 0.1 KB per socket.
 */
function socketPrincipal(p: Principal): Principal {
  return { id: p.id, role: p.role, via: p.via };
}

/**
 * The namespace middleware (it also runs on every recovery): a cluster-wide
 * connection slot (MAX_CONCURRENT_CONNECTIONS, MAX_CONNECTIONS_PER_IP, SSE
 * included) and handshake authentication. A socket holds its slot from here
 * until it disconnects, or until its client leaves before it connects.
 */
@Injectable()
export class SocketAdmission {
  private readonly logger = new Logger('SocketAdmission');
  /** Sockets past the cluster limits that have not connected yet (kept out of socket.data, which stays small). */
  private readonly admitting = new Map<AppSocket, Admission>();
  /**
   * A socket holds its slot while its engine connection is open and it is either connected to
   * its namespace or still being admitted; anything else is a close that was missed.
   */
  private readonly slotKind: SlotHolderKind<AppSocket> = {
    transport: 'websocket',
    isOpen: (socket) => socket.conn.readyState !== 'closed' && (socket.connected || this.admitting.has(socket)),
    forget: (socket) => void this.admitted(socket),
  };

  constructor(
    private readonly config: AppConfig,
    private readonly authenticator: Authenticator,
    private readonly cluster: ClusterState,
    private readonly log: EventLog,
    private readonly revocations: RecentRevocations,
  ) {}

  /** Installed on each namespace: limits, then handshake auth. Refusals carry `{code, message}` as `err.data`. */
  middleware(): (socket: Socket, next: (err?: Error) => void) => void {
    return (raw, next) => {
      this.admit(raw as AppSocket).then(
        () => {
          const release = holdWritesForTick(raw.conn);
          next();
          if (release) process.nextTick(release);
        },
        (err: unknown) => {
          if (err instanceof DomainError) {
            // A refusal that may pass later says when (the limits: ConnectionRefusedError); the client retries then.
            const retryAfterMs = err.details?.retryAfterMs;
            const data = typeof retryAfterMs === 'number' ? { code: err.code, message: err.message, retryAfterMs } : { code: err.code, message: err.message };
            next(Object.assign(new Error(err.code), { data }));
            return;
          }
          const unavailable = Object.assign(new Error('unavailable'), { data: { code: 'unavailable', message: 'Service temporarily unavailable' } });
          if (mapError(err).body.statusCode === 503) {
            // Redis or the database gone for a moment (a failover): close the transport instead of refusing.
            // socket.io-client never retries a namespace refused with connect_error by itself, so every
            // client refused `unavailable` stayed away for good (SENTINEL FAILOVER drill: 36 of 1,000
            // sockets, drills/RESULTS.md); a closed transport makes it reconnect with its backoff, and
            // socket.io drops the half-admitted socket without an answer (its connection is no longer open).
            raw.conn.close();
            next(unavailable);
            return;
          }
          // Anything else is a bug: said once here, and the client is refused (it would only meet it again).
          this.logger.error({ err }, 'socket admission failed');
          next(unavailable);
        },
      );
    };
  }

  /**
   * Per-socket listeners are made in small methods of their own: a closure
   * made inside the middleware kept its whole scope chain (Socket.IO's
   * middleware runner included) alive for the socket's life.
   */
  private async admit(socket: AppSocket): Promise<void> {
    const ip = connectionAddress(socket.handshake.address, socket.handshake.headers['x-forwarded-for'], this.config.http.trustedProxies);
    socket.data.ip = ip;
    socket.data.rooms = [];
    // A handshake token is checked here (signature, expiry) and its revocation key is read in the
    // same Redis call that takes the connection slot, with the recovery offset: one round trip per
    // connection instead of three, and each command left about 2 KB of garbage (bench/RESULTS.md).
    // The engine handshake's mark when it loaded a session (realtime-io.adapter), else now, before the token is read.
    const revocationMark = (socket.request as RevocationMarked).revocationMark ?? this.revocations.mark();
    const token = this.takeHandshakeToken(socket);
    if (token === undefined && socket.handshake.headers.cookie?.includes(`${SESSION_COOKIE}=`)) {
      assertSameSiteHandshake(socket.handshake.headers, this.config.http.corsOrigins);
    }
    const checked = token === undefined ? undefined : this.authenticator.checkToken(token);
    // With several shards the offset has a component per shard, each in its own slot: read after admission.
    const offsetToo = !!checked && !socket.data.recovery && this.log.shards.length === 1;
    const read = checked ? (offsetToo ? [checked.revocationKey, this.log.seqKey] : [checked.revocationKey]) : [];
    const [revoked, seq] = await this.cluster.acquire(ip, this.slotKind, socket, read);
    if (!this.holdSlot(socket, offsetToo ? String(Number(seq ?? 0)) : undefined, revocationMark)) return;
    const principal =
      checked === undefined ? await this.authenticator.fromRequest(socket.request as Request).catch(() => null) : checked && revoked === null ? checked.principal : null;
    if (principal) {
      socket.data.principal = socketPrincipal(principal);
      socket.data.credential = principalCredential(principal, (socket.request as Request).sessionID);
    }
    const recovery = socket.data.recovery;
    if (recovery && recovery.userId !== principal?.id) socket.data.recovery = undefined;
  }

  /**
   * The socket holds a cluster slot until released, once. Until it connects,
   * the connection closing releases it (socket.io drops a socket whose client
   * left during the middleware without any event); afterwards, disconnect does.
   * A connection that closed while the slot was being taken has already emitted
   * its 'close': the slot goes back at once.
   */
  private holdSlot(socket: AppSocket, offset: string | undefined, revocationMark: number): boolean {
    if (socket.conn.readyState === 'closed') {
      this.cluster.release(socket);
      return false;
    }
    const gone = () => this.release(socket);
    this.admitting.set(socket, { gone, offset, revocationMark });
    socket.conn.once('close', gone);
    return true;
  }

  /** The socket connected (or its client left): the admission's listener goes, what it read is handed back. */
  admitted(socket: AppSocket): Admission | undefined {
    const admission = this.admitting.get(socket);
    if (!admission) return undefined;
    this.admitting.delete(socket);
    socket.conn.off('close', admission.gone);
    return admission;
  }

  /** The socket's slot goes back (disconnect, or its client left before connecting). */
  release(socket: AppSocket): void {
    this.admitted(socket);
    this.cluster.release(socket);
  }

  /**
   * The handshake token, removed from the handshake: checked once, not kept in memory for the socket's
   * life. The rest of `auth` is copied rather than the token deleted from it: `delete` turned every
   * socket's `auth` into a dictionary (a 160-byte hash table per socket, bench/RESULTS.md).
   */
  private takeHandshakeToken(socket: AppSocket): string | undefined {
    const auth = socket.handshake.auth as { token?: unknown } | undefined;
    if (typeof auth?.token !== 'string' || !auth.token) return undefined;
    const { token, ...rest } = auth;
    socket.handshake.auth = rest;
    return token;
  }
}

/** engine.io's transport event that makes its socket flush what it holds (an engine.io event, not one of ours to clients). */
const TRANSPORT_READY = 'ready';

/**
 * What the admitted socket sends while it connects (socket.io's CONNECT packet, then `connected`
 * and `authenticated` from the connection handler, all in the tick socket.io runs after `next()`)
 * leaves in one WebSocket write instead of two: engine.io sends the first packet at once and holds
 * the rest until that write completes. The transport is marked busy until the end of that tick
 * (a `process.nextTick` queued after socket.io's), then engine.io's own `ready` event flushes
 * everything in one corked batch (core/patches/engine-io.ts). Only an idle websocket transport is
 * held; a polling one is writable only while a request waits, and is left alone.
 */
function holdWritesForTick(conn: Socket['conn']): (() => void) | undefined {
  const transport = conn.transport as Socket['conn']['transport'] | undefined;
  if (transport?.name !== 'websocket' || !transport.writable) return undefined;
  transport.writable = false;
  return () => {
    if (conn.transport !== transport || transport.writable || conn.readyState !== 'open') return;
    transport.writable = true;
    transport.emit(TRANSPORT_READY);
  };
}

export { socketPrincipal };
