/* eslint-disable @typescript-eslint/no-require-imports */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/api-process';

/**
 * The soak's memory figures (drills/faults/soak.js): every process preloads bench/realtime/mem-probe.js,
 * which on SIGUSR2 writes memory after two full GCs (and, asked to, a heap snapshot), and
 * drills/lib/heap-diff.js names the object kinds that grew between two snapshots. Here a real process
 * retains 20,000 objects of a class between two requests: the probe must see the heap grow by them
 * (and not by garbage made in between), and the diff must name that class with that count.
 */
const { gcSample } = require(join(ROOT, 'drills', 'lib', 'process-sampler.js')) as {
  gcSample(cluster: object, dir: string, timeoutMs?: number): Promise<Record<string, { pid: number; heapUsedMb: number; heapUsedBeforeGcMb: number; heapSnapshot: { file: string } | null } | null>>;
};
const { kinds } = require(join(ROOT, 'drills', 'lib', 'heap-diff.js')) as { kinds(file: string): Map<string, { count: number; size: number }> };

const CHILD = `
class RetainedBySoakTest { constructor(i) { this.i = i; this.payload = 'p'.repeat(200) + i; } }
globalThis.kept = [];
process.on('message', (m) => {
  if (m === 'retain') for (let i = 0; i < 20000; i++) globalThis.kept.push(new RetainedBySoakTest(i));
  if (m === 'garbage') for (let i = 0; i < 200000; i++) ({ junk: 'g'.repeat(100) + i });
  process.send('done');
});
process.send('ready');
`;

describe('soak memory probe and heap diff', () => {
  let dir: string;
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reports the heap after a full GC and names the kind of object a process retained between two snapshots', async () => {
    dir = mkdtempSync(join(tmpdir(), 'soak-probe-'));
    const child = spawn(process.execPath, ['-e', CHILD], {
      env: { ...process.env, NODE_OPTIONS: `--require=${join(ROOT, 'bench', 'realtime', 'mem-probe.js')}`, MEM_PROBE_DIR: dir, MEM_PROBE_HEAP_SNAPSHOT: '1' },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    });
    const next = () => new Promise<void>((resolve) => child.once('message', () => resolve()));
    try {
      await next();
      // gcSample's view of a topology: one process named by a supervisord program.
      const cluster = { apiPorts: [1], workerMetricsPorts: [], apiProgram: () => 'p', pidOf: () => Promise.resolve(child.pid) };
      const first = (await gcSample(cluster, dir, 60000))['api-1'];
      child.send('retain');
      await next();
      child.send('garbage');
      await next();
      const second = (await gcSample(cluster, dir, 60000))['api-1'];
      expect(first && second).toBeTruthy();
      // 20,000 objects of ~0.5 KB each retained: the heap after GC grows by them; the garbage made after is gone.
      const grewMb = second!.heapUsedMb - first!.heapUsedMb;
      expect(grewMb).toBeGreaterThan(5);
      expect(grewMb).toBeLessThan(30);
      expect(existsSync(first!.heapSnapshot!.file) && existsSync(second!.heapSnapshot!.file)).toBe(true);
      expect(JSON.parse(readFileSync(join(dir, `${child.pid}-2.json`), 'utf8')).n).toBe(2);

      const before = kinds(first!.heapSnapshot!.file).get('object:RetainedBySoakTest');
      const after = kinds(second!.heapSnapshot!.file).get('object:RetainedBySoakTest');
      expect(before?.count ?? 0).toBe(0);
      expect(after?.count).toBe(20000);
    } finally {
      child.kill();
    }
  });
});
