import { EventRouting, EventRoutingError, NamespaceEventsOptions } from './event-routing';

const core: NamespaceEventsOptions[] = [
  { namespace: '/realtime', events: ['*'] },
  { namespace: '/', events: ['*'] },
];
const typist = (eventType: string, payload: Record<string, unknown>) => (eventType === 'typing' ? `user:${String(payload.userId)}` : undefined);
const chat: NamespaceEventsOptions = { namespace: '/chat', events: ['message:*', 'typing', 'room:*'], skipRoom: typist };
const notifications: NamespaceEventsOptions = { namespace: '/notifications', events: ['notification:*'] };

describe('EventRouting (what the gateways declared with @NamespaceEvents)', () => {
  const routing = new EventRouting([...core, chat, notifications]);

  it('routes an event to the namespace that claimed it, system:* everywhere, the rest to the fallback namespaces', () => {
    expect(routing.namespacesFor('message:new')).toEqual(['/chat']);
    expect(routing.namespacesFor('typing')).toEqual(['/chat']);
    expect(routing.namespacesFor('notification:unread-count')).toEqual(['/notifications']);
    expect(routing.namespacesFor('job:progress')).toEqual(['/realtime', '/']);
    expect(routing.namespacesFor('typing:other')).toEqual(['/realtime', '/']);
    expect(routing.namespacesFor('system:warning').sort()).toEqual(['/', '/chat', '/notifications', '/realtime']);
  });

  it('asks the owning namespace which room an event skips', () => {
    expect(routing.roomToSkip('typing', { userId: 7 })).toBe('user:7');
    expect(routing.roomToSkip('message:new', { userId: 7 })).toBeUndefined();
    expect(routing.roomToSkip('job:progress', { userId: 7 })).toBeUndefined();
  });

  it('refuses to start when two namespaces claim the same event or prefix', () => {
    expect(() => new EventRouting([...core, chat, { namespace: '/other', events: ['typing'] }])).toThrow(new EventRoutingError('"typing" is claimed by both /chat and /other'));
    expect(() => new EventRouting([...core, chat, { namespace: '/other', events: ['message:*'] }])).toThrow(EventRoutingError);
    expect(() => new EventRouting([...core, chat, { ...chat }])).toThrow('Two gateways declare the events of /chat');
  });

  it('refuses system:* claims, malformed names and a routing without a fallback namespace', () => {
    expect(() => new EventRouting([...core, { namespace: '/x', events: ['system:info'] }])).toThrow(/core's/);
    expect(() => new EventRouting([...core, { namespace: 'chat', events: ['a'] }])).toThrow(/not a namespace/);
    expect(() => new EventRouting([...core, { namespace: '/x', events: ['a b'] }])).toThrow(/not an event name/);
    expect(() => new EventRouting([chat])).toThrow(/No namespace takes the events nobody claims/);
  });
});
