import { connectionsStatsView } from './connections.view';
import { poolStats } from './db-pool-stats';
import { liveReports } from './instance-registry';
import { cpuPercent, loopDelayMs } from './runtime-sampler';

describe('operations figures', () => {
  it('turns an event-loop delay histogram in nanoseconds into milliseconds', () => {
    const h = { count: 3, min: 10_000_000, mean: 12_500_000, max: 21_000_000, percentile: (p: number) => p * 200_000 };
    expect(loopDelayMs(h)).toEqual({ min: 10, mean: 12.5, p50: 10, p90: 18, p99: 19.8, max: 21 });
  });

  it('reports zeros for an empty histogram instead of its sentinel min', () => {
    const h = { count: 0, min: 9223372036854776000, mean: NaN, max: 0, percentile: () => 0 };
    expect(loopDelayMs(h)).toEqual({ min: 0, mean: 0, p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it('expresses CPU time as a percentage of one core over the window', () => {
    expect(cpuPercent({ user: 1_500_000, system: 250_000 }, 1000)).toEqual({ userPercent: 150, systemPercent: 25 });
    expect(cpuPercent({ user: 5, system: 5 }, 0)).toEqual({ userPercent: 0, systemPercent: 0 });
  });

  it('keeps fresh instance reports and names stale or unreadable ones for removal', () => {
    const now = Date.parse('2026-01-01T00:01:00Z');
    const report = (instance: string, at: string) => JSON.stringify({ instance, sample: { at } });
    const { live, stale } = liveReports(
      { b: report('b', '2026-01-01T00:00:55Z'), a: report('a', '2026-01-01T00:00:50Z'), old: report('old', '2026-01-01T00:00:00Z'), junk: '{' },
      now,
      15000,
    );
    expect(live.map((r) => r.instance)).toEqual(['a', 'b']);
    expect(stale.sort()).toEqual(['junk', 'old']);
  });

  it("reads mysql2 pool counters defensively and names the node's role", () => {
    const pool = { _allConnections: { length: 4 }, _freeConnections: { length: 1 }, _connectionQueue: { length: 2 }, config: { connectionLimit: 10 } };
    expect(poolStats('SLAVE0', pool)).toEqual({ node: 'SLAVE0', role: 'replica', open: 4, idle: 1, waiting: 2, limit: 10 });
    expect(poolStats('MASTER', {})).toEqual({ node: 'MASTER', role: 'primary', open: 0, idle: 0, waiting: 0, limit: 0 });
    expect(poolStats('MASTER', undefined)).toBeNull();
  });
});

describe('connections stats view', () => {
  it('gives the percentage of the cap and the busiest addresses first', () => {
    const view = connectionsStatsView(
      { total: 2250, limit: 3000, perIp: { '10.0.0.1': 3, '10.0.0.2': 49, '10.0.0.3': 12, '10.0.0.4': 49 }, perNamespace: { '/chat': 2000, sse: 250 }, processes: [{ instance: 'a' }] },
      50,
      3,
    );
    expect(view).toEqual({
      current: 2250,
      limit: 3000,
      percent: 75,
      perIpTop: [
        { ip: '10.0.0.2', connections: 49 },
        { ip: '10.0.0.4', connections: 49 },
        { ip: '10.0.0.3', connections: 12 },
      ],
      perIpLimit: 50,
      perNamespace: { '/chat': 2000, sse: 250 },
      perInstance: [{ instance: 'a' }],
    });
  });
});
