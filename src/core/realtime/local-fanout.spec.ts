import type { Namespace } from 'socket.io';
import type { EventLog, LoggedEvent } from './event-log';
import { EventRouting } from './event-routing';
import { fakeSocket } from './fake-socket.spec-helper';
import { LocalFanout } from './local-fanout';
import { SocketWrites } from './socket-writes';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';

const routing = new EventRouting([{ namespace: '/realtime', events: ['*'] }]);
const event = (id: number, shard: number, rooms = ['user:1']): LoggedEvent => ({ id, shard, eventType: 'x', timestamp: 'now', payload: { own: id }, target: 'all', rooms });

function fanoutOf(shards: number, sockets = new Map<string, unknown>(), rooms = new Map<string, Set<string>>()) {
  const broadcast: { payload: Record<string, unknown>; id: string }[] = [];
  const op = { except: () => op, emit: (_e: string, payload: Record<string, unknown>, id: string) => broadcast.push({ payload, id }) };
  const nsp = { name: '/realtime', sockets, adapter: { rooms }, to: () => op } as unknown as Namespace;
  const namespaces = new SocketNamespaces(routing);
  namespaces.attach(nsp);
  const sse = new SseRegistry();
  const fanout = new LocalFanout(routing, namespaces, sse, { shards: new Array(shards).fill({}) } as unknown as EventLog, new SocketWrites());
  return { fanout, broadcast, sse };
}

describe('LocalFanout', () => {
  it('with one shard puts the plain id on the wire, as before sharding', () => {
    const { fanout, broadcast } = fanoutOf(1);
    fanout.deliver(event(41, 0));
    fanout.deliver(event(42, 0));
    expect(broadcast.map((b) => [b.id, b.payload.eventId])).toEqual([
      ['41', '41'],
      ['42', '42'],
    ]);
  });

  it("with several shards puts the process's watermark on the wire (eventId = offset), the same for sockets and SSE", () => {
    const { fanout, broadcast, sse } = fanoutOf(3);
    const streamed: string[] = [];
    sse.add({ rooms: new Set(['user:1']), deliver: (e) => streamed.push(e.position ?? '') });
    fanout.startAt(1, 90);
    fanout.deliver(event(5, 0));
    fanout.deliver(event(7, 2));
    fanout.deliver(event(91, 1));
    fanout.deliver(event(6, 0));
    expect(broadcast.map((b) => b.id)).toEqual(['5.90.0', '5.90.7', '5.91.7', '6.91.7']);
    expect(broadcast.every((b) => b.payload.eventId === b.id)).toBe(true);
    expect(streamed).toEqual(broadcast.map((b) => b.id));
    expect(fanout.delivered).toEqual([6, 91, 7]);
  });

  it("sends away this process's listeners of a queue whose mark was gone (not a recovering socket, not another queue's), and ends its SSE streams", async () => {
    const sockets = new Map<string, unknown>();
    const rooms = new Map<string, Set<string>>();
    const put = (id: string, room: string, recovering = false) => {
      const f = fakeSocket({ id, namespaceSockets: sockets });
      if (recovering) f.socket.data.recovering = true;
      sockets.set(id, f.socket);
      rooms.set(room, new Set([...(rooms.get(room) ?? []), id]));
      return f;
    };
    const [inQueue, inJob, otherQueue, recovering, project] = [put('a', 'queue:high'), put('b', 'job:high:5'), put('c', 'queue:default'), put('d', 'queue:high', true), put('e', 'project:1')];
    const { fanout, sse } = fanoutOf(1, sockets, rooms);
    const ended: string[] = [];
    sse.add({ rooms: new Set(['job:high:9', 'user:1']), deliver: () => undefined, close: () => ended.push('job:high:9') });
    sse.add({ rooms: new Set(['queue:default']), deliver: () => undefined, close: () => ended.push('queue:default') });
    fanout.resyncListenersOf('queue:high');
    await new Promise((r) => setTimeout(r, 300)); // closes are spread (close-spread.ts)
    expect([inQueue, inJob, otherQueue, recovering, project].map((f) => f.transportClosed())).toEqual([true, true, false, false, false]);
    expect(ended).toEqual(['job:high:9']);
  });

  it('hands a control event to its handler once per copy, never to a client', () => {
    const { fanout, broadcast } = fanoutOf(2);
    const seen: unknown[] = [];
    fanout.onControl('control:test', (p) => seen.push(p));
    fanout.deliver({ ...event(1, 0, []), eventType: 'control:test' });
    fanout.deliver({ ...event(1, 1, []), eventType: 'control:test' });
    expect(seen).toHaveLength(2);
    expect(broadcast).toEqual([]);
  });
});
