import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFactory } from 'nest-commander';
import { Logger } from 'nestjs-pino';
import { CLI_COMMANDS, CliModule } from './app/cli.module';
import { loadConfigOrExit } from './app/process';
import { reportCommandError } from './core/cli/command-errors';
import { commanderExit } from './core/cli/commander-errors';
import { answerHelp, buildHelpProgram, unknownCommand } from './core/cli/static-help';
import { runInRequestContext } from './core/database/request-context';

async function main(): Promise<void> {
  // Before the configuration and any connection: `--version` must answer on a machine with nothing running.
  if (process.argv[2] === '--version' || process.argv[2] === '-V') {
    process.stdout.write(`switchboard ${packageVersion()} (node ${process.version})\n`);
    return;
  }
  const helpProgram = buildHelpProgram(CLI_COMMANDS);
  if (answerHelp(process.argv.slice(2), helpProgram, (s) => process.stdout.write(s))) return;
  const unknown = unknownCommand(process.argv.slice(2), helpProgram);
  if (unknown) {
    process.stderr.write(`${unknown}\n`);
    process.exitCode = 2;
    return;
  }
  const config = loadConfigOrExit();
  const app = await CommandFactory.createWithoutRunning(CliModule.register(config), {
    // Only errors before the app exists; after that every log line is pino JSON on stderr,
    // so a command's own output (--json) on stdout stays clean.
    logger: ['error'],
    errorHandler: (err) => {
      const exit = commanderExit(err);
      if (exit.print) process.stderr.write(`${exit.print}\n`);
      process.exit(exit.code);
    },
    // What a command throws: one line and the exit code (command-errors.ts); the app still closes below.
    serviceErrorHandler: (err) => {
      process.exitCode = reportCommandError(process.argv[2], err, (line) => process.stderr.write(line));
    },
  });
  app.useLogger(app.get(Logger));
  // A command is one unit of work: after it writes, it reads its own writes from the primary
  // (queue:work starts a fresh unit for every job).
  await runInRequestContext(() => CommandFactory.runApplication(app));
  await app.close();
}

function packageVersion(): string {
  const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

main()
  .then(() => process.exit(process.exitCode ?? 0))
  .catch((err: unknown) => {
    process.stderr.write(`switchboard: ${(err as Error)?.message ?? String(err)}\n`);
    process.exit(1);
  });
