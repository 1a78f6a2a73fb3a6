import type { LoggedEvent } from './event-log';
import { SseRegistry } from './sse-registry';

const event = (id: number, rooms: string[]) => ({ id, rooms, eventType: 'x', timestamp: 'now', payload: {}, target: 'all' }) as LoggedEvent;

describe('SseRegistry', () => {
  it('delivers an event once to each stream in any of its rooms, and stops carrying a room a user lost', () => {
    const sse = new SseRegistry();
    const got: Record<string, number[]> = { a: [], b: [] };
    const a = { rooms: new Set(['user:1', 'project:2']), deliver: (e: LoggedEvent) => got.a.push(e.id) };
    const remove = sse.add(a);
    sse.add({ rooms: new Set(['user:2']), deliver: (e) => got.b.push(e.id) });
    sse.deliver(event(1, ['user:1', 'project:2']));
    sse.deliver(event(2, ['user:2']));
    sse.dropRooms(a, ['project:2']);
    sse.deliver(event(3, ['project:2']));
    expect(got).toEqual({ a: [1], b: [2] });
    expect([sse.clients, Object.fromEntries(sse.roomSizes())]).toEqual([2, { 'user:1': 1, 'user:2': 1 }]);
    remove();
    expect([sse.clients, sse.listenersOf('user:1')]).toEqual([1, []]);
  });

  it('ends every stream once, however many rooms it is in', () => {
    const sse = new SseRegistry();
    let closed = 0;
    sse.add({ rooms: new Set(['user:1', 'all']), deliver: () => undefined, close: () => closed++ });
    expect(sse.endAll()).toBe(1);
    expect(closed).toBe(1);
  });
});
