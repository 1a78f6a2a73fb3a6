import { ConsoleSink, WorkConsole } from './work-console';

function sink(tty = false): ConsoleSink & { text: string; writes: number } {
  const s = {
    text: '',
    writes: 0,
    isTTY: tty,
    columns: 100,
    write: (t: string) => {
      s.writes++;
      s.text += t;
    },
  };
  return s;
}

const at = () => Date.parse('2026-12-03T08:00:01.250Z');
/** Runs the deferred flush only when the test says so. */
function deferred(): { defer: (flush: () => void) => void; run: () => void; scheduled: number } {
  const d = {
    queued: [] as Array<() => void>,
    scheduled: 0,
    defer: (flush: () => void) => {
      d.scheduled++;
      d.queued.push(flush);
    },
    run: () => d.queued.splice(0).forEach((f) => f()),
  };
  return d;
}

describe('WorkConsole (artisan-style job lines)', () => {
  it('prints RUNNING, then DONE with the time taken, 80 columns wide without a TTY', () => {
    const out = sink();
    const c = new WorkConsole(out, false, at);
    c.started('analysis-run', 'high:42');
    c.finished('analysis-run', 'high:42', true, 1.23);
    c.flush();
    const lines = out.text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^2026-12-03 08:00:01 analysis-run high:42 \.+ RUNNING$/);
    expect(lines[1]).toMatch(/^2026-12-03 08:00:01 analysis-run high:42 \.+ DONE 1\.2s$/);
    expect(lines.map((l) => l.length)).toEqual([80, 80]);
    expect(out.text).not.toContain('\u001b');
  });

  it('prints FAIL for a failed attempt and colours only on a TTY', () => {
    const out = sink(true);
    const c = new WorkConsole(out, false, at);
    c.finished('x', 'default:1', false, 12.4);
    c.flush();
    expect(out.text).toContain('\u001b[31mFAIL\u001b[0m 12s');
  });

  it('prints nothing when quiet', () => {
    const out = sink();
    const c = new WorkConsole(out, true, at);
    c.started('x', 'default:1');
    c.note('Worker stopped');
    c.flush();
    expect(out.text).toBe('');
  });

  it('keeps control characters of a job name off the terminal', () => {
    const out = sink();
    const c = new WorkConsole(out, false, at);
    c.started('evil\u001b[2Jname', 'default:1');
    c.started('plain', 'default:2');
    c.started('evil\u001b[2Jname', 'default:3');
    c.flush();
    expect(out.text).not.toContain('\u001b');
    expect(out.text.split('\n')[2]).toContain(' evil?[2Jname default:3 ');
  });

  it('writes the lines of one event-loop turn in one write, once the deferred flush runs', () => {
    const out = sink();
    const turn = deferred();
    const c = new WorkConsole(out, false, at, turn.defer);
    c.started('a', 'default:1');
    c.started('b', 'default:2');
    c.finished('a', 'default:1', true, 0.01);
    expect(out.writes).toBe(0);
    expect(turn.scheduled).toBe(1);
    turn.run();
    expect(out.writes).toBe(1);
    expect(out.text.trimEnd().split('\n').map((l) => l.split(' ').slice(2, 4).join(' '))).toEqual(['a default:1', 'b default:2', 'a default:1']);
    c.started('c', 'default:3');
    expect(turn.scheduled).toBe(2);
  });

  it('writes the lines before the event loop moves on: before an immediate queued earlier runs', async () => {
    const out = sink();
    const c = new WorkConsole(out, false, at);
    const writesSeenByImmediate = new Promise<number>((resolve) => setImmediate(() => resolve(out.writes)));
    c.started('a', 'default:1');
    await Promise.resolve();
    c.finished('a', 'default:1', true, 0.01);
    expect(await writesSeenByImmediate).toBe(1);
    expect(out.text.trimEnd().split('\n')).toHaveLength(2);
  });

  it('writes pending job lines before a note, at once', () => {
    const out = sink();
    const turn = deferred();
    const c = new WorkConsole(out, false, at, turn.defer);
    c.finished('a', 'default:1', true, 0.5);
    c.note('Worker stopped (signal) after 1 job(s).');
    expect(out.text.trimEnd().split('\n')).toEqual([expect.stringMatching(/ DONE 0\.5s$/), 'Worker stopped (signal) after 1 job(s).']);
    turn.run();
    expect(out.writes).toBe(1);
  });

  it('stamps each line with its own second', () => {
    const out = sink();
    let now = Date.parse('2026-12-03T08:00:01.999Z');
    const c = new WorkConsole(out, false, () => now);
    c.started('a', 'default:1');
    now += 1;
    c.started('a', 'default:1');
    c.flush();
    expect(out.text.trimEnd().split('\n').map((l) => l.slice(0, 19))).toEqual(['2026-12-03 08:00:01', '2026-12-03 08:00:02']);
  });
});
