import type { AppConfig } from '../../config/app-config';
import { HISTORY_INCOMPLETE } from './event-log';
import { HearingKeeper } from './hearing-keeper';
import type { LocalFanout } from './local-fanout';
import type { RoomHearing } from './room-hearing';
import type { SocketNamespaces } from './socket-namespaces';
import { SseRegistry } from './sse-registry';

const config = { realtime: { recoveryWindowMs: 3000 } } as unknown as AppConfig;

function setUp(rooms: string[] = []) {
  const handlers = new Map<string, (payload: Record<string, unknown>) => void>();
  const resynced: string[] = [];
  const fanout = {
    onControl: (type: string, handler: (payload: Record<string, unknown>) => void) => handlers.set(type, handler),
    resyncListenersOf: (room: string) => resynced.push(room),
  } as unknown as LocalFanout;
  const heard: string[][] = [];
  const hearing = { hear: async (r: Iterable<string>, wait: boolean) => void heard.push([...r, String(wait)]) } as unknown as RoomHearing;
  const nsp = { adapter: { rooms: new Map(rooms.map((r) => [r, new Set(['s1'])])) } };
  const sse = new SseRegistry();
  const keeper = new HearingKeeper(config, hearing, { all: () => [nsp] } as unknown as SocketNamespaces, sse, fanout);
  return { keeper, handlers, resynced, heard, sse };
}

describe('HearingKeeper', () => {
  it("keeps the marks of the queues this process's sockets and SSE streams are in, without waiting", async () => {
    const { keeper, heard, sse } = setUp(['s1', 'queue:high', 'job:default:4', 'project:1', 'user:7']);
    sse.add({ rooms: new Set(['job:emails:9', 'user:7']), deliver: () => undefined });
    await keeper.keep();
    expect(heard).toEqual([['queue:high', 'queue:default', 'queue:emails', 'false']]);
    const idle = setUp(['s1', 'project:1']);
    await idle.keeper.keep();
    expect(idle.heard).toEqual([]);
  });

  it('sends away the listeners of a queue whose history was marked incomplete (on any process), and nothing for a payload of no queue room', () => {
    const { keeper, handlers, resynced } = setUp();
    keeper.onModuleInit();
    keeper.onModuleDestroy();
    const handler = handlers.get(HISTORY_INCOMPLETE);
    handler?.({ room: 'queue:high' });
    handler?.({ room: 'job:default:7' });
    handler?.({ room: 'project:1' });
    handler?.({ room: 42 });
    handler?.({});
    expect(resynced).toEqual(['queue:high', 'queue:default']);
  });
});
