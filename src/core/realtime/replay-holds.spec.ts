import type { Socket } from 'socket.io';
import type { LoggedEvent } from './event-log';
import { fakeSocket } from './fake-socket.spec-helper';
import { ReplayHolds } from './replay-holds';

const ROOM = '/realtime#room:1';
const event = (id: number): LoggedEvent => ({ id, eventType: 'message:new', timestamp: '2026-12-06T00:00:00.000Z', payload: {}, rooms: [ROOM] }) as unknown as LoggedEvent;

/** What ReplayHolds emitted, per socket object. */
function recorder() {
  const sent = new Map<Socket, number[]>();
  const emit = (socket: Socket, e: LoggedEvent) => sent.set(socket, [...(sent.get(socket) ?? []), e.id]);
  return { sent, emit };
}

describe('ReplayHolds', () => {
  it('holds live events for a replaying socket and sends those after the replay once it ends', () => {
    const holds = new ReplayHolds();
    const s = fakeSocket({ id: 'x', rooms: [ROOM] }).socket as unknown as Socket;
    const nsp = new Map([[s.id, s]]);
    const { sent, emit } = recorder();
    holds.begin(s);
    expect(holds.holdFor(nsp, '/realtime', event(5), undefined)).toEqual(['x']);
    expect(holds.holdFor(nsp, '/realtime', event(6), undefined)).toEqual(['x']);
    holds.end(s, [5], [6], emit);
    expect(sent.get(s)).toEqual([6]);
    expect(holds.holdFor(nsp, '/realtime', event(7), undefined)).toEqual([]);
  });

  // A client that timed out a connection this process was still recovering retries and recovers here again under
  // the same socket id; the stale socket is ended, but its own recovery was still awaiting Redis and ends later.
  // Before, the late end found the new socket's hold by id and dropped it with what it held: a connected socket that
  // said recovered:true and silently missed what came during its replay.
  it("does not let a stale socket's late replay end drop the hold of the new socket with the same id", () => {
    const holds = new ReplayHolds();
    const stale = fakeSocket({ id: 'x', rooms: [ROOM] });
    const fresh = fakeSocket({ id: 'x', rooms: [ROOM] });
    const { sent, emit } = recorder();
    holds.begin(stale.socket);
    stale.socket.disconnect();
    holds.begin(fresh.socket);
    const nsp = new Map([['x', fresh.socket]]);
    expect(holds.holdFor(nsp, '/realtime', event(8), undefined)).toEqual(['x']);
    // The stale socket's recovery ends now (its `finally`), and its disconnect clean-up too.
    holds.end(stale.socket, [7], [8], emit);
    holds.end(stale.socket, [Number.MAX_SAFE_INTEGER], [8], emit);
    expect(holds.holdFor(nsp, '/realtime', event(9), undefined)).toEqual(['x']);
    holds.end(fresh.socket, [7], [9], emit);
    expect(sent.get(fresh.socket as unknown as Socket)).toEqual([8, 9]);
    expect(sent.get(stale.socket as unknown as Socket)).toBeUndefined();
  });

  it('does not hold live events for a new socket behind a hold its stale twin left', () => {
    const holds = new ReplayHolds();
    const stale = fakeSocket({ id: 'x', rooms: [ROOM] });
    const fresh = fakeSocket({ id: 'x', rooms: [ROOM] });
    holds.begin(stale.socket);
    stale.socket.disconnect();
    // The new socket is live and not replaying: live delivery must reach it.
    const nsp = new Map([['x', fresh.socket]]);
    expect(holds.holdFor(nsp, '/realtime', event(3), undefined)).toEqual([]);
  });
});
