import type { Namespace, Socket } from 'socket.io';
import { installedVersion, PatchCheck } from './patch-check';

/**
 * socket.io's Namespace keeps a socket that is still in its middlewares in the private
 * `_preConnectSockets` map, by id, until it connects or is dropped. A recovered socket takes the
 * id of the session it recovers, and when a socket is dropped (its client left while the
 * middlewares ran) socket.io's `_cleanup` takes *that id* out of every room and out of
 * `nsp.sockets`. If a second socket of the same id has connected meanwhile (the client gave up on
 * the first handshake and recovered again), it is left connected, told `recovered: true`, and
 * deaf: in no room and not in the namespace (22 sockets in a 100,000-socket kill storm,
 * bench/RESULTS.md). The recovery adapter reads this map to refuse such a recovery, and SocketRooms
 * to hand a `subscribe` that finished after its socket ended to the recovery still in its handshake
 * (and to leave the session to that recovery when an ended one finishes: `saveRecovered`).
 *
 * Required: without the read the silent loss above comes back. Read only; nothing is written.
 *
 * To remove: socket.io ending (or not cleaning up by id) a pre-connect socket whose id is restored again.
 */
export const SOCKET_IO_WRITTEN_FOR = '4.8.x (tested with 4.8.4)';

type PreConnect = { _preConnectSockets?: unknown };

export function checkPreConnectSockets(nsp: Namespace | PreConnect | undefined): PatchCheck {
  const ok = (nsp as PreConnect | undefined)?._preConnectSockets instanceof Map;
  return {
    library: 'socket.io',
    patch: 'Namespace _preConnectSockets (read)',
    writtenFor: SOCKET_IO_WRITTEN_FOR,
    installed: installedVersion('socket.io'),
    ok,
    reason: ok ? undefined : 'Namespace has no _preConnectSockets map',
  };
}

/** The socket of this id that is still in the namespace's middlewares, if any. */
export function preConnectSocket(nsp: Namespace, id: string): Socket | undefined {
  return ((nsp as unknown as PreConnect)._preConnectSockets as Map<string, Socket> | undefined)?.get(id);
}
