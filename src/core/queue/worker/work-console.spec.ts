import { ConsoleSink, WorkConsole } from './work-console';

function sink(tty = false): ConsoleSink & { text: string } {
  const s = { text: '', isTTY: tty, columns: 100, write: (t: string) => (s.text += t) };
  return s;
}

const at = () => new Date('2026-12-03T08:00:01.250Z');

describe('WorkConsole (artisan-style job lines)', () => {
  it('prints RUNNING, then DONE with the time taken, 80 columns wide without a TTY', () => {
    const out = sink();
    const c = new WorkConsole(out, false, at);
    c.started('analysis-run', 'high:42');
    c.finished('analysis-run', 'high:42', true, 1.23);
    const lines = out.text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^2026-12-03 08:00:01 analysis-run high:42 \.+ RUNNING$/);
    expect(lines[1]).toMatch(/^2026-12-03 08:00:01 analysis-run high:42 \.+ DONE 1\.2s$/);
    expect(lines.map((l) => l.length)).toEqual([80, 80]);
    expect(out.text).not.toContain('\u001b');
  });

  it('prints FAIL for a failed attempt and colours only on a TTY', () => {
    const out = sink(true);
    new WorkConsole(out, false, at).finished('x', 'default:1', false, 12.4);
    expect(out.text).toContain('\u001b[31mFAIL\u001b[0m 12s');
  });

  it('prints nothing when quiet', () => {
    const out = sink();
    const c = new WorkConsole(out, true, at);
    c.started('x', 'default:1');
    c.note('Worker stopped');
    expect(out.text).toBe('');
  });

  it('keeps control characters of a job name off the terminal', () => {
    const out = sink();
    new WorkConsole(out, false, at).started('evil\u001b[2Jname', 'default:1');
    expect(out.text).not.toContain('\u001b');
  });
});
