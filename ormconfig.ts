import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AppConfig } from './src/config/app-config';
import { dataSourceOptions } from './src/core/database/data-source-options';

/** For the TypeORM CLI (`npx typeorm -d dist/ormconfig.js migration:show`); the app uses the same options. */
export default new DataSource(dataSourceOptions(AppConfig.fromProcessEnv()));
