import 'reflect-metadata';
import { CommandFactory } from 'nest-commander';
import { CliModule } from './app/cli.module';
import { loadConfigOrExit } from './app/process';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  await CommandFactory.run(CliModule.register(config), {
    logger: ['error', 'warn'],
    errorHandler: (err) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    },
    serviceErrorHandler: (err) => {
      process.stderr.write(`${err.message}\n`);
      process.exit(1);
    },
  });
}

main()
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((err: unknown) => {
    process.stderr.write(`switchboard: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  });
