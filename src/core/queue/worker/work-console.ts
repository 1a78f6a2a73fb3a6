/** Where console lines go (process.stdout in queue:work; a buffer in the spec). */
export interface ConsoleSink {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export type JobOutcome = 'RUNNING' | 'DONE' | 'FAIL' | 'RELEASED';

const COLOURS: Record<JobOutcome, string> = { RUNNING: '\u001b[33m', DONE: '\u001b[32m', FAIL: '\u001b[31m', RELEASED: '\u001b[36m' };
const GREY = '\u001b[90m';
const RESET = '\u001b[0m';
const PLAIN_WIDTH = 80;

/**
 * artisan's queue:work lines on stdout, one when a job starts and one when it ends:
 *
 *   2026-12-03 08:00:01 analysis-run high:42 ...................... RUNNING
 *   2026-12-03 08:00:02 analysis-run high:42 ..................... DONE 1.2s
 *
 * Coloured and as wide as the terminal on a TTY, 80 columns and no escape codes otherwise (logs,
 * Supervisor files). JSON logs stay on stderr. `--quiet` makes it print nothing.
 */
export class WorkConsole {
  constructor(
    private readonly sink: ConsoleSink,
    private readonly quiet = false,
    private readonly now: () => Date = () => new Date(),
  ) {}

  started(name: string, ref: string): void {
    this.line(name, ref, 'RUNNING');
  }

  finished(name: string, ref: string, ok: boolean, seconds: number): void {
    this.line(name, ref, ok ? 'DONE' : 'FAIL', formatSeconds(seconds));
  }

  /** Sent back by a job middleware, to run again after `delayS`. */
  released(name: string, ref: string, delayS: number): void {
    this.line(name, ref, 'RELEASED', `+${formatSeconds(delayS)}`);
  }

  /** A plain line (worker started / stopped). */
  note(text: string): void {
    if (!this.quiet) this.sink.write(`${text}\n`);
  }

  private line(name: string, ref: string, outcome: JobOutcome, took?: string): void {
    if (this.quiet) return;
    const colour = this.sink.isTTY === true;
    const width = colour ? Math.max(60, Math.min(this.sink.columns ?? PLAIN_WIDTH, 160)) : PLAIN_WIDTH;
    const left = `${timestamp(this.now())} ${printable(name)} ${ref}`;
    const right = took ? `${outcome} ${took}` : outcome;
    const dots = '.'.repeat(Math.max(3, width - left.length - right.length - 2));
    const status = colour ? `${COLOURS[outcome]}${outcome}${RESET}${took ? ` ${took}` : ''}` : right;
    this.sink.write(`${left} ${colour ? `${GREY}${dots}${RESET}` : dots} ${status}\n`);
  }
}

/** `2026-12-03 08:00:01`, UTC as the JSON logs. */
function timestamp(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

function formatSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}

/** A job name comes from whoever dispatched it: no control characters reach the operator's terminal. */
function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 100);
}
