import { Logger } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { ConfigError } from '../config/env.schema';

/** Config or one line naming the bad variable, then exit 1. */
export function loadConfigOrExit(): AppConfig {
  try {
    const config = AppConfig.fromProcessEnv();
    for (const line of config.deprecations) process.stderr.write(`Deprecated configuration: ${line}\n`);
    return config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

/** A stray rejection is logged, never a crash that drops every client of this process. */
export function keepAliveOnStrayErrors(): void {
  const logger = new Logger('Process');
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
}
