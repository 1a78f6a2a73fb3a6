import { parseGtidPosition } from './gtid';
import { judgeReplica, PrimaryPositions, ReplicaObservation } from './replication-lag';

const pos = parseGtidPosition;
const seen = (position: string, at: number, extra: Partial<ReplicaObservation> = {}): ReplicaObservation => ({
  reachable: true,
  ioThread: 'Yes',
  sqlThread: 'Yes',
  secondsBehindMaster: 0,
  position: pos(position),
  at,
  ...extra,
});

describe('PrimaryPositions', () => {
  it('dates a replica by the last time the primary was at a position it has applied', () => {
    const p = new PrimaryPositions(60_000);
    p.record(pos('0-1-10'), 1000);
    p.record(pos('0-1-10'), 2000);
    p.record(pos('0-1-12'), 3000);
    expect(p.coveredAt(pos('0-1-12'))).toBe(3000);
    expect(p.coveredAt(pos('0-1-11'))).toBe(2000);
    expect(p.coveredAt(pos('0-1-9'))).toBeUndefined();
  });

  it('forgets positions older than its horizon but keeps the newest', () => {
    const p = new PrimaryPositions(5000);
    p.record(pos('0-1-1'), 0);
    p.record(pos('0-1-2'), 10_000);
    expect(p.oldestAt).toBe(10_000);
    expect(p.coveredAt(pos('0-1-1'))).toBeUndefined();
    p.record(pos('0-1-2'), 60_000);
    expect(p.coveredAt(pos('0-1-2'))).toBe(60_000);
  });

  it('stops the clock while the primary cannot be sampled', () => {
    const p = new PrimaryPositions(60_000);
    p.record(pos('0-1-1'), 1000);
    expect(p.reference(5000)).toBe(5000);
    p.unreachable();
    expect(p.reference(5000)).toBe(1000);
    p.record(pos('0-1-1'), 6000);
    expect(p.reference(7000)).toBe(7000);
  });
});

describe('judgeReplica', () => {
  const primary = new PrimaryPositions(60_000);
  primary.record(pos('0-1-10'), 10_000);
  primary.record(pos('0-1-20'), 11_000);

  it('keeps a replica that has applied the newest position in the pool', () => {
    expect(judgeReplica(seen('0-1-20', 11_050), 11_000, primary, 11_100, 5000)).toEqual({ state: 'ok', inPool: true, lagSeconds: 0.1 });
  });

  it('takes a replica out once what it holds is older than the limit, even with both threads running', () => {
    expect(judgeReplica(seen('0-1-10', 11_050), 10_000, primary, 14_900, 5000)).toMatchObject({ state: 'ok', inPool: true, lagSeconds: 4.9 });
    expect(judgeReplica(seen('0-1-10', 11_050), 10_000, primary, 15_100, 5000)).toEqual({ state: 'lagging', inPool: false, lagSeconds: 5.1 });
  });

  it('judges by the data, not by the threads: a stopped SQL thread is fine until the primary has moved on for longer than the limit', () => {
    const stopped = seen('0-1-20', 11_050, { sqlThread: 'No', secondsBehindMaster: null });
    expect(judgeReplica(stopped, 11_000, primary, 12_000, 5000)).toMatchObject({ inPool: true });
    expect(judgeReplica(stopped, 11_000, primary, 17_000, 5000)).toMatchObject({ state: 'lagging', inPool: false });
  });

  it('keeps out a replica older than every position kept, and one that does not answer', () => {
    expect(judgeReplica(seen('0-1-5', 11_050), undefined, primary, 11_100, 5000)).toEqual({ state: 'lagging', inPool: false, lagSeconds: 1.1 });
    expect(judgeReplica({ ...seen('0-1-20', 11_050), reachable: false }, undefined, primary, 11_100, 5000)).toEqual({ state: 'down', inPool: false, lagSeconds: null });
    expect(judgeReplica(undefined, undefined, primary, 11_100, 5000)).toEqual({ state: 'unknown', inPool: false, lagSeconds: null });
  });

  it('uses Seconds_Behind_Master, aged since the probe, when the primary has no GTID position (MySQL), and a stopped thread keeps the replica out', () => {
    const mysql = new PrimaryPositions(60_000);
    const o = (extra: Partial<ReplicaObservation>): ReplicaObservation => ({ ...seen('', 1000, extra), position: undefined });
    expect(judgeReplica(o({ secondsBehindMaster: 2 }), undefined, mysql, 2000, 5000)).toEqual({ state: 'ok', inPool: true, lagSeconds: 3 });
    expect(judgeReplica(o({ secondsBehindMaster: 5 }), undefined, mysql, 2000, 5000)).toMatchObject({ state: 'lagging', inPool: false });
    expect(judgeReplica(o({ secondsBehindMaster: null, sqlThread: 'No' }), undefined, mysql, 2000, 5000)).toEqual({ state: 'unknown', inPool: false, lagSeconds: null });
  });

  it('with DB_REPLICA_MAX_LAG_S=0 only reachability counts', () => {
    expect(judgeReplica(seen('0-1-10', 11_050), 10_000, primary, 60_000, 0)).toMatchObject({ state: 'ok', inPool: true, lagSeconds: 50 });
  });
});
