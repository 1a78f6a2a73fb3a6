/** What commander throws through nest-commander's errorHandler (exitOverride). */
interface CommanderExit {
  code?: unknown;
  exitCode?: unknown;
  message?: string;
}

/** Help and version output are answers, not errors (commander reports them through the error path). */
const SUCCESS_CODES = new Set(['commander.helpDisplayed', 'commander.help', 'commander.version']);

/**
 * How bin/switchboard ends on a commander error: help exits 0; usage errors (unknown command or
 * option, missing argument) exit 2, and commander has already printed the
 * message, so it is not printed again. Anything else is printed once and exits 2.
 */
export function commanderExit(err: CommanderExit): { code: number; print?: string } {
  if (typeof err.code === 'string' && SUCCESS_CODES.has(err.code)) return { code: 0 };
  // Usage errors exit 2 like every command's own (cli-output.ts), whatever commander's own code.
  if (typeof err.code === 'string' && err.code.startsWith('commander.')) return { code: 2 };
  return { code: 2, print: err.message ?? 'unexpected error' };
}
