import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { AppConfig } from './config/app-config';
import { dataSourceOptions } from './core/database/data-source-options';

/**
 * For the TypeORM CLI, built to dist/ormconfig.js:
 * `npx typeorm -d dist/ormconfig.js migration:show`. Same options as the app
 * (the CLI talks to the primary only; TypeORM sends migrations there).
 */
export default new DataSource(dataSourceOptions(AppConfig.fromProcessEnv()));
