/** Where the progress goes: a terminal gets a bar redrawn in place, anything else a plain line per tenth. */
export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): unknown;
}

const BAR_WIDTH = 30;

/**
 * queue:probe --count=N's progress on stderr (stdout stays the ids): on a TTY one line redrawn with
 * `\r` (`[#########---------------------]  30% 30000/100000 probe jobs`), otherwise a plain line at
 * each tenth (`Dispatched 30000/100000 probe jobs (30%)`), which logs and CI keep readable. Hand-written:
 * ten lines, where the npm progress-bar packages in the tree are unmaintained (progress 2.0.3, 2017).
 */
export class DispatchProgress {
  private tenthsShown = 0;
  private drawn = false;

  constructor(
    private readonly out: ProgressStream,
    private readonly total: number,
    private readonly label: string,
  ) {}

  update(done: number): void {
    const pct = this.total ? Math.floor((done / this.total) * 100) : 100;
    if (this.out.isTTY) {
      const filled = Math.round((done / Math.max(1, this.total)) * BAR_WIDTH);
      this.out.write(`\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${String(pct).padStart(3)}% ${done}/${this.total} ${this.label}`);
      this.drawn = true;
      return;
    }
    const tenths = this.total ? Math.floor((done * 10) / this.total) : 10;
    if (tenths <= this.tenthsShown) return;
    this.tenthsShown = tenths;
    this.out.write(`Dispatched ${done}/${this.total} ${this.label} (${pct}%)\n`);
  }

  /** Ends the bar's line. */
  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
