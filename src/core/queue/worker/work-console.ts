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
 *
 * The lines of one event-loop callback leave in one write (`defer`, process.nextTick by default: after
 * every promise that callback settled, so one Redis reply's jobs share a write): two writes per job were
 * two syscalls per trivial job (bench/queues). Not setImmediate: a pending immediate makes the event loop
 * poll once more without blocking before it waits, an extra epoll_wait per job at --concurrency=1.
 * `flush()` writes what is left at once; `note()` does too, so a note never overtakes a job line.
 */
export class WorkConsole {
  private pending = '';
  private flushScheduled = false;
  /** The timestamp of the second the last line was in (one Date and ISO string per second, not per line). */
  private stampSecond = NaN;
  private stamp = '';
  private lastName: string | undefined;
  private lastPrintable = '';
  private readonly flushNow = (): void => this.flush();

  constructor(
    private readonly sink: ConsoleSink,
    private readonly quiet = false,
    /** Epoch milliseconds. */
    private readonly now: () => number = Date.now,
    private readonly defer: (flush: () => void) => void = (flush) => process.nextTick(flush),
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

  /** A plain line (worker started / stopped), written at once after any job lines still pending. */
  note(text: string): void {
    if (this.quiet) return;
    this.pending += `${text}\n`;
    this.flush();
  }

  /** Writes the pending lines now (the worker's exit; otherwise the deferred flush does it). */
  flush(): void {
    this.flushScheduled = false;
    if (!this.pending) return;
    const text = this.pending;
    this.pending = '';
    this.sink.write(text);
  }

  private line(name: string, ref: string, outcome: JobOutcome, took?: string): void {
    if (this.quiet) return;
    const colour = this.sink.isTTY === true;
    const width = colour ? Math.max(60, Math.min(this.sink.columns ?? PLAIN_WIDTH, 160)) : PLAIN_WIDTH;
    const left = `${this.timestamp()} ${this.printable(name)} ${ref}`;
    const right = took ? `${outcome} ${took}` : outcome;
    const dots = dotsOf(Math.max(3, width - left.length - right.length - 2));
    const status = colour ? `${COLOURS[outcome]}${outcome}${RESET}${took ? ` ${took}` : ''}` : right;
    this.pending += `${left} ${colour ? `${GREY}${dots}${RESET}` : dots} ${status}\n`;
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      this.defer(this.flushNow);
    }
  }

  /** `2026-12-03 08:00:01`, UTC as the JSON logs. */
  private timestamp(): string {
    const ms = this.now();
    const second = Math.floor(ms / 1000);
    if (second !== this.stampSecond) {
      this.stampSecond = second;
      this.stamp = new Date(second * 1000).toISOString().slice(0, 19).replace('T', ' ');
    }
    return this.stamp;
  }

  /** A job name comes from whoever dispatched it: no control characters reach the operator's terminal. */
  private printable(name: string): string {
    if (name !== this.lastName) {
      this.lastName = name;
      // eslint-disable-next-line no-control-regex
      this.lastPrintable = name.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?').slice(0, 100);
    }
    return this.lastPrintable;
  }
}

const DOTS = '.'.repeat(256);

function dotsOf(n: number): string {
  return n <= DOTS.length ? DOTS.slice(0, n) : '.'.repeat(n);
}

function formatSeconds(s: number): string {
  return s < 10 ? `${s.toFixed(1)}s` : `${Math.round(s)}s`;
}
