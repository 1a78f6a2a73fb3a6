import { DataSource, QueryRunner, ReplicationMode } from 'typeorm';
import { PatchShapeError, reportPatch } from './patch-check';
import { checkQueryRunnerHook, checkReplicaChoiceHook, hookQueryRunners, hookReplicaChoice } from './typeorm';

/** A DataSource of the installed TypeORM + mysql2 with a replica configured; nothing connects until initialize(). */
const replicated = () =>
  new DataSource({
    type: 'mysql',
    replication: { master: { host: '127.0.0.1', port: 1 }, slaves: [{ host: '127.0.0.1', port: 2 }] },
  });

describe('core/patches/typeorm', () => {
  it('finds createQueryRunner(mode) and a replicated mysql driver in the installed TypeORM', () => {
    const check = checkQueryRunnerHook(replicated(), true);
    expect(check.installed).toMatch(/^0\.3\./);
    expect(check).toMatchObject({ ok: true });
  });

  it('refuses to start when the driver no longer says it is replicated (reads could no longer be routed)', () => {
    const ds = { createQueryRunner: () => undefined, driver: {} } as unknown as DataSource;
    const check = checkQueryRunnerHook(ds, true);
    expect(check).toMatchObject({ ok: false, reason: 'the driver does not report replication (driver.isReplicated)' });
    expect(() => reportPatch(check, 'required')).toThrow(PatchShapeError);
  });

  it('sends every runner the DataSource makes through the router, with the mode asked for (master by default)', () => {
    const ds = replicated();
    const asked: ReplicationMode[] = [];
    hookQueryRunners(ds, (requested, create) => {
      asked.push(requested);
      return create('slave');
    });
    const a: QueryRunner = ds.createQueryRunner();
    const b: QueryRunner = ds.createQueryRunner('slave');
    expect(asked).toEqual(['master', 'slave']);
    expect(a.getReplicationMode()).toBe('slave');
    expect(b.getReplicationMode()).toBe('slave');
  });
});

describe('core/patches/typeorm: replica choice', () => {
  it('connects a read to the replica named by index (TypeORM names them SLAVE<index> in its PoolCluster)', async () => {
    const ds = replicated();
    // connect() builds the PoolCluster, then fails its first query: nothing listens on ports 1 and 2.
    await expect((ds.driver as unknown as { connect(): Promise<void> }).connect()).rejects.toBeDefined();
    expect(checkReplicaChoiceHook(ds)).toMatchObject({ ok: true });
    const asked: string[] = [];
    hookReplicaChoice(ds, async (replica) => {
      asked.push('read');
      return replica(0).catch((err: { code?: string; port?: number }) => ({ code: err.code, port: err.port }));
    });
    const driver = ds.driver as unknown as { obtainSlaveConnection(): Promise<unknown>; poolCluster: { end(): void } };
    expect(await driver.obtainSlaveConnection()).toEqual({ code: 'ECONNREFUSED', port: 2 });
    hookReplicaChoice(ds, (replica) => replica(1));
    await expect(driver.obtainSlaveConnection()).rejects.toMatchObject({ code: 'POOL_NOEXIST' });
    expect(asked).toEqual(['read']);
    driver.poolCluster.end();
  });

  it('refuses to start without the driver methods it replaces', () => {
    const check = checkReplicaChoiceHook({ driver: {} } as unknown as DataSource);
    expect(check).toMatchObject({ ok: false, reason: 'driver.obtainSlaveConnection is gone' });
  });
});
