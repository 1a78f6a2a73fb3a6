// @ts-check
'use strict';
/**
 * Where a process's RSS is, for the memory probes (bench/scale/probe.js, bench/realtime/mem-probe.js):
 * V8's physical pages per heap space, and /proc/self/smaps summed by kind of mapping (kB):
 *   file     file-backed mappings (the node binary, libraries): shared code, not per socket
 *   brk      the brk heap: glibc's main malloc arena
 *   arena    glibc's thread arenas (anonymous mappings starting at a 64 MB boundary, HEAP_MAX_SIZE)
 *   anon     every other anonymous mapping: V8's heap pages, glibc's mmap'd chunks (>= 128 KB: large
 *            ArrayBuffer backing stores), thread stacks
 * so that "RSS outside the JS heap" can be split into V8's unused pages (anon − V8 physical is then
 * what malloc mmap'd directly) and malloc's arenas (brk + arena: native objects per socket, and
 * fragmentation, which MALLOC_ARENA_MAX / MALLOC_TRIM_THRESHOLD_ change).
 */
const { readFileSync } = require('node:fs');
const v8 = require('node:v8');

const ARENA_ALIGN = 64n * 1024n * 1024n;

/** RSS by kind of mapping, kB. */
function smaps() {
  const out = { fileKb: 0, brkKb: 0, arenaKb: 0, arenas: 0, anonKb: 0 };
  /** @type {'fileKb' | 'brkKb' | 'arenaKb' | 'anonKb' | null} */
  let kind = null;
  let text;
  try {
    text = readFileSync('/proc/self/smaps', 'utf8');
  } catch {
    return null; // not Linux
  }
  for (const line of text.split('\n')) {
    const head = /^([0-9a-f]+)-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      const [, start, name] = head;
      if (name.startsWith('/')) kind = 'fileKb';
      else if (name === '[heap]') kind = 'brkKb';
      else if (name === '' && BigInt(`0x${start}`) % ARENA_ALIGN === 0n) {
        kind = 'arenaKb';
        out.arenas++;
      } else kind = 'anonKb'; // plain anonymous, [stack], [vdso], [anon:...]
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss && kind) out[kind] += Number(rss[1]);
  }
  return out;
}

/** V8's physical (committed and touched) bytes: in all, and per space. */
function v8Pages() {
  /** @type {Record<string, number>} */
  const spaces = {};
  let physical = 0;
  for (const s of v8.getHeapSpaceStatistics()) {
    spaces[s.space_name] = s.physical_space_size;
    physical += s.physical_space_size;
  }
  return { physical, spaces };
}

/**
 * Memory per socket (KB) between two detailed samples (probe.js `gc`: rss, heapUsed, external,
 * arrayBuffers, v8, smaps), both taken after the same GC request. nonHeap = rss − heapUsed, split into
 * v8Unused (V8's touched pages beyond heapUsed: the young generation kept committed, old-space holes;
 * newSpace is the young generation's share), malloc (brk + arenas + anonymous mappings beyond V8's
 * pages: native objects and malloc's fragmentation) and file.
 * @param {any} a  the sample before the sockets
 * @param {any} b  the sample with them
 * @param {number} n  sockets
 */
function perSocket(a, b, n) {
  const kb = (bytes) => +(bytes / 1024 / Math.max(1, n)).toFixed(2);
  const r = {
    rss: kb(b.rss - a.rss),
    heapUsed: kb(b.heapUsed - a.heapUsed),
    nonHeap: kb(b.rss - a.rss - (b.heapUsed - a.heapUsed)),
    external: kb(b.external - a.external),
    arrayBuffers: kb(b.arrayBuffers - a.arrayBuffers),
  };
  if (!a.v8 || !b.v8 || !a.smaps || !b.smaps) return r;
  const newSpace = (x) => x.v8.spaces.new_space ?? 0;
  const mallocKb = (x) => x.smaps.brkKb + x.smaps.arenaKb + x.smaps.anonKb - x.v8.physical / 1024;
  return {
    ...r,
    v8Unused: kb(b.v8.physical - b.heapUsed - (a.v8.physical - a.heapUsed)),
    newSpace: kb(newSpace(b) - newSpace(a)),
    malloc: kb((mallocKb(b) - mallocKb(a)) * 1024),
    brk: kb((b.smaps.brkKb - a.smaps.brkKb) * 1024),
    arena: kb((b.smaps.arenaKb - a.smaps.arenaKb) * 1024),
    file: kb((b.smaps.fileKb - a.smaps.fileKb) * 1024),
    newSpaceMb: [newSpace(a), newSpace(b)].map((x) => +(x / 1048576).toFixed(1)),
    arenas: [a.smaps.arenas, b.smaps.arenas],
  };
}

module.exports = { smaps, v8Pages, perSocket };
