import type { Namespace } from 'socket.io';
import type { AppConfig } from '../../config/app-config';
import { realtimeShedTotal } from '../metrics/metrics';
import { AdminAlerts } from './admin-alerts';
import { EventRouting } from './event-routing';
import type { RedisRealtimeService } from './redis-realtime.service';
import { SHED_MAX_BYTES, SHED_MAX_PACKETS, SHED_SWEEP_CHECKS, SHED_SWEEP_MIN, SlowSocketShedder } from './slow-socket-shedder';
import { SocketNamespaces } from './socket-namespaces';
import { SocketWrites } from './socket-writes';

const routing = new EventRouting([{ namespace: '/realtime', events: ['*'] }]);
const shedCount = async () => (await realtimeShedTotal.get()).values.find((v) => v.labels.transport === 'websocket')?.value ?? 0;

describe('SlowSocketShedder', () => {
  it('disconnects the sockets whose unsent output passes the bound, counts them and tells admins once a minute', async () => {
    const closed: string[] = [];
    const socket = (id: string, writeBuffer: number, bufferedAmount: number) => ({
      conn: { writeBuffer: new Array<unknown>(writeBuffer), transport: { socket: { bufferedAmount } } },
      disconnect: (close: boolean) => close && closed.push(id),
    });
    const sockets = new Map([
      ['ok', socket('ok', SHED_MAX_PACKETS, SHED_MAX_BYTES)],
      ['packets', socket('packets', SHED_MAX_PACKETS + 1, 0)],
      ['bytes', socket('bytes', 0, SHED_MAX_BYTES + 1)],
    ]);
    const namespaces = new SocketNamespaces(routing);
    namespaces.attach({ name: '/realtime', sockets } as unknown as Namespace);
    const warnings: unknown[] = [];
    const realtime = { toAdmins: async (event: string, payload: unknown) => (warnings.push([event, payload]), '1') } as unknown as RedisRealtimeService;
    const alerts = new AdminAlerts(realtime, { realtime: { maxConnections: 10 }, instanceId: 'p1' } as AppConfig);
    const shedder = new SlowSocketShedder(namespaces, alerts, new SocketWrites());

    const before = await shedCount();
    expect(shedder.shed()).toBe(2);
    expect(closed).toEqual(['packets', 'bytes']);
    expect((await shedCount()) - before).toBe(2);
    expect(warnings).toEqual([['system:warning', { code: 'shedding', shed: 2, instance: 'p1' }]]);

    shedder.shed(); // still slow a second later: counted and logged again, admins not told twice within the minute
    expect((await shedCount()) - before).toBe(4);
    expect(warnings).toHaveLength(1);
  });
});

describe('SlowSocketShedder at scale', () => {
  /** `count` fake sockets in /realtime, ids s0..s<count-1>, all keeping up; `rooms`: room name -> member ids. */
  function setUp(count: number, rooms: Record<string, string[]> = {}) {
    const closed: string[] = [];
    const conns = new Map<string, { writeBuffer: unknown[]; transport: { socket: { bufferedAmount: number } } }>();
    const sockets = new Map<string, unknown>();
    for (let i = 0; i < count; i++) {
      const id = `s${i}`;
      const conn = { writeBuffer: [] as unknown[], transport: { socket: { bufferedAmount: 0 } } };
      conns.set(id, conn);
      sockets.set(id, { id, conn, disconnect: (close: boolean) => close && closed.push(id) });
    }
    const nsp = { name: '/realtime', sockets, adapter: { rooms: new Map(Object.entries(rooms).map(([r, ids]) => [r, new Set(ids)])) } } as unknown as Namespace;
    const namespaces = new SocketNamespaces(routing);
    namespaces.attach(nsp);
    const realtime = { toAdmins: async () => '1' } as unknown as RedisRealtimeService;
    const writes = new SocketWrites();
    const shedder = new SlowSocketShedder(namespaces, new AdminAlerts(realtime, { realtime: { maxConnections: 10 }, instanceId: 'p1' } as AppConfig), writes);
    const fallBehind = (id: string) => (conns.get(id)!.writeBuffer = new Array<unknown>(SHED_MAX_PACKETS + 1));
    return { nsp, writes, shedder, closed, fallBehind, sockets };
  }
  const count = SHED_SWEEP_MIN * SHED_SWEEP_CHECKS * 2; // a sweep step looks at 1/SHED_SWEEP_CHECKS of them

  it('sheds a socket that fell behind on a room it was sent to at the next check, wherever the sweep is', () => {
    const { nsp, writes, shedder, closed, fallBehind } = setUp(count, { 'project:1': ['s0', `s${count - 1}`] });
    shedder.shed(); // the sweep is now past s0 and far from the last socket
    fallBehind(`s${count - 1}`);
    writes.toRooms(nsp, ['project:1']);
    expect(shedder.shed()).toBe(1);
    expect(closed).toEqual([`s${count - 1}`]);
  });

  it('sheds a socket written to on its own (a replay) at the next check', () => {
    const { writes, shedder, closed, fallBehind, sockets } = setUp(count);
    shedder.shed();
    fallBehind(`s${count - 2}`);
    writes.toSocket(sockets.get(`s${count - 2}`) as never);
    expect(shedder.shed()).toBe(1);
    expect(closed).toEqual([`s${count - 2}`]);
  });

  it('finds a socket that fell behind with nothing recorded within SHED_SWEEP_CHECKS checks, and looks at each socket once per step', () => {
    const { shedder, closed, fallBehind } = setUp(count);
    shedder.shed();
    fallBehind('s1'); // just behind the sweep: found only once it comes round again
    let checks = 0;
    while (!closed.length && checks < SHED_SWEEP_CHECKS + 1) {
      shedder.shed();
      checks++;
    }
    expect(closed).toEqual(['s1']);
    expect(checks).toBeGreaterThan(1);
    expect(checks).toBeLessThanOrEqual(SHED_SWEEP_CHECKS);
  });

  it('does not shed a socket that keeps up, however often it is written to', () => {
    const { nsp, writes, shedder, closed } = setUp(10, { r: ['s3'] });
    writes.toRooms(nsp, ['r', 'gone']);
    expect(shedder.shed()).toBe(0);
    expect(closed).toEqual([]);
  });
});

describe('AdminAlerts', () => {
  it('warns admins about capacity every time, about shedding at most once a minute', () => {
    const sent: unknown[] = [];
    const realtime = { toAdmins: async (_e: string, payload: unknown) => (sent.push(payload), '1') } as unknown as RedisRealtimeService;
    const alerts = new AdminAlerts(realtime, { realtime: { maxConnections: 100 }, instanceId: 'p1' } as AppConfig);
    alerts.capacity('warning', 0.75, 75);
    alerts.shedding(3, 1_000);
    alerts.shedding(4, 60_999);
    alerts.shedding(5, 61_000);
    expect(sent).toEqual([
      { code: 'capacity', level: 'warning', ratio: 0.75, connections: 75, limit: 100, instance: 'p1' },
      { code: 'shedding', shed: 3, instance: 'p1' },
      { code: 'shedding', shed: 5, instance: 'p1' },
    ]);
  });
});
