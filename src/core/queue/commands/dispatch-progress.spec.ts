import { DispatchProgress } from './dispatch-progress';

const sink = (isTTY: boolean) => {
  const written: string[] = [];
  return { isTTY, written, write: (t: string) => written.push(t) };
};

describe('DispatchProgress', () => {
  it('draws one bar redrawn in place on a terminal, ended with a newline', () => {
    const out = sink(true);
    const p = new DispatchProgress(out, 4000, 'probe jobs');
    for (const n of [1000, 2000, 3000, 4000]) p.update(n);
    p.done();
    expect(out.written[1]).toBe(`\r[${'#'.repeat(15)}${'-'.repeat(15)}]  50% 2000/4000 probe jobs`);
    expect(out.written[3]).toBe(`\r[${'#'.repeat(30)}] 100% 4000/4000 probe jobs`);
    expect(out.written[4]).toBe('\n');
  });

  it('prints a plain line per tenth elsewhere, nothing redrawn', () => {
    const out = sink(false);
    const p = new DispatchProgress(out, 3500, 'jobs');
    for (const n of [1000, 2000, 3000, 3500]) p.update(n);
    p.done();
    expect(out.written).toEqual(['Dispatched 1000/3500 jobs (28%)\n', 'Dispatched 2000/3500 jobs (57%)\n', 'Dispatched 3000/3500 jobs (85%)\n', 'Dispatched 3500/3500 jobs (100%)\n']);
  });
});
