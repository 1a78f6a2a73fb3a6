import { BadRequestError, DomainError } from '../errors/domain-error';

/** A flag or argument a command cannot take: exit code 2, as commander's own usage errors. */
export class UsageError extends BadRequestError {}

/** bin/switchboard's exit codes: 0 done, 1 the command failed, 2 it was called wrongly. */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** The one mapping from what a command threw to its exit code: by the error's code, never its text. */
export function exitCodeFor(err: unknown): number {
  return err instanceof DomainError && err.code === 'bad_request' ? EXIT_USAGE : EXIT_FAILURE;
}

/**
 * What bin/switchboard does with an error a command threw (nest-commander's
 * serviceErrorHandler, cli.ts): one line on stderr, `<command>: <message>`,
 * and the exit code. Commands throw; none catches only to report.
 */
export function reportCommandError(command: string | undefined, err: unknown, write: (line: string) => void): number {
  const message = err instanceof Error ? err.message : String(err);
  write(`${command ? `${command}: ` : ''}${message}\n`);
  return exitCodeFor(err);
}
