import type { DefaultEventsMap, Socket } from 'socket.io';
import type { Principal } from '../session/principal';
import type { PendingRecovery } from './socket-sessions';

/** What a socket keeps in `socket.data` for its life (small on purpose: it is per socket). */
export interface SocketState {
  principal?: Principal;
  /** The token or session it authenticated with (credentialTag): logout ends exactly these sockets. */
  credential?: number;
  ip: string;
  rooms: string[];
  authTimer?: NodeJS.Timeout;
  recovery?: PendingRecovery;
  /** Its recovery (SocketRecovery.recover) is running: that saves the session once, at its end. */
  recovering?: true;
  /** Rooms whose subscribe is being stored (SocketRooms.enter): a second subscribe of one waits for it. */
  entering?: Map<string, Promise<void>>;
  /** Counted in its user's presence (SocketRooms.joinBase), so its disconnect is counted once too. */
  online?: true;
}

/** socket.io types `data` per socket as its fourth type parameter (any by default). */
export type AppSocket = Socket<DefaultEventsMap, DefaultEventsMap, DefaultEventsMap, SocketState>;
