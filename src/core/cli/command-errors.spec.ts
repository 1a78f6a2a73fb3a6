import { NotFoundError, UnavailableError } from '../errors/domain-error';
import { BadRequestError } from '../errors/domain-error';
import { exitCodeFor, reportCommandError, UsageError } from './command-errors';

describe('command errors', () => {
  it('exits 2 for usage errors and bad input, 1 for every other failure', () => {
    expect(exitCodeFor(new UsageError('--count must be a whole number'))).toBe(2);
    expect(exitCodeFor(new BadRequestError('"bad name" is not a queue name'))).toBe(2);
    expect(exitCodeFor(new NotFoundError('Failed job default:9'))).toBe(1);
    expect(exitCodeFor(new UnavailableError())).toBe(1);
    expect(exitCodeFor(new TypeError('x is undefined'))).toBe(1);
    expect(exitCodeFor('a string')).toBe(1);
  });

  it('prints one line naming the command', () => {
    const lines: string[] = [];
    expect(reportCommandError('queue:retry', new NotFoundError('Failed job default:9'), (l) => lines.push(l))).toBe(1);
    expect(reportCommandError(undefined, 'odd', (l) => lines.push(l))).toBe(1);
    expect(lines).toEqual(['queue:retry: Failed job default:9 not found\n', 'odd\n']);
  });
});
