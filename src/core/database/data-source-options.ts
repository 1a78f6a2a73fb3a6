import { join } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import type { MysqlConnectionCredentialsOptions } from 'typeorm/driver/mysql/MysqlConnectionCredentialsOptions';
import { AppConfig, DbHost } from '../../config/app-config';

/**
 * One definition of the connection, used by the api, the workers, the CLI
 * (`migrate`) and the TypeORM CLI (ormconfig.ts).
 */
export function dataSourceOptions(config: AppConfig): DataSourceOptions {
  const db = config.db;
  const credentials = (h: DbHost): MysqlConnectionCredentialsOptions => ({
    host: h.host,
    port: h.port,
    username: db.username,
    password: db.password,
    database: db.database,
  });
  const root = join(__dirname, '..', '..');
  return {
    type: 'mysql',
    connectorPackage: 'mysql2',
    replication: {
      master: credentials(db.write),
      slaves: db.read.map(credentials),
      // TypeORM's own `selector` never reaches mysql2; its PoolCluster reads `defaultSelector`.
      ...({ defaultSelector: 'RANDOM' } as object),
      canRetry: true,
      removeNodeErrorCount: 1,
      // Without this a replica that failed once is dropped for good.
      restoreNodeTimeout: 1000,
    },
    poolSize: db.poolSize,
    connectTimeout: db.connectTimeoutMs,
    charset: 'utf8mb4_unicode_ci',
    timezone: 'Z',
    supportBigNumbers: true,
    bigNumberStrings: true,
    // No queueLimit in mysql2: its refusal takes the node offline (DatabaseBusyError); ReplicationRouter sheds instead.
    // maxPreparedStatements: mysql2 sizes every connection's statement cache up front (four arrays of this
    // length: 512 KB per pooled connection at its default of 16,000, ~10 MB once the pools had grown under
    // socket subscriptions). TypeORM sends text queries (`query`), it prepares nothing.
    extra: { connectionLimit: db.poolSize, enableKeepAlive: true, queueLimit: 0, maxPreparedStatements: 16 },
    entities: [join(root, '**', '*.entity.{ts,js}')],
    migrations: [join(__dirname, 'migrations', '*.{ts,js}')],
    migrationsTableName: 'migrations',
    synchronize: false,
    migrationsRun: false,
    // Failed queries reach our error filter; TypeORM's own logger would print parameters (password hashes).
    logging: false,
  };
}
