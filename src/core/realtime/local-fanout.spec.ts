import type { Namespace } from 'socket.io';
import type { EventLog, LoggedEvent } from './event-log';
import { EventRouting } from './event-routing';
import { LocalFanout } from './local-fanout';
import { SocketWrites } from './socket-writes';
import { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';

const routing = new EventRouting([{ namespace: '/realtime', events: ['*'] }]);
const event = (id: number, shard: number, rooms = ['user:1']): LoggedEvent => ({ id, shard, eventType: 'x', timestamp: 'now', payload: { own: id }, target: 'all', rooms });

function fanoutOf(shards: number) {
  const broadcast: { payload: Record<string, unknown>; id: string }[] = [];
  const op = { except: () => op, emit: (_e: string, payload: Record<string, unknown>, id: string) => broadcast.push({ payload, id }) };
  const nsp = { name: '/realtime', sockets: new Map(), to: () => op } as unknown as Namespace;
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
