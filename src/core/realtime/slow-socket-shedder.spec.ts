import type { Namespace } from 'socket.io';
import type { AppConfig } from '../../config/app-config';
import { realtimeShedTotal } from '../metrics/metrics';
import { AdminAlerts } from './admin-alerts';
import { EventRouting } from './event-routing';
import type { RedisRealtimeService } from './redis-realtime.service';
import { SHED_MAX_BYTES, SHED_MAX_PACKETS, SlowSocketShedder } from './slow-socket-shedder';
import { SocketNamespaces } from './socket-namespaces';

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
    const shedder = new SlowSocketShedder(namespaces, alerts);

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
