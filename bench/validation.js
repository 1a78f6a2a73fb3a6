// @ts-check
// CPU cost of validating one socket payload: the DTO path both transports use now (class-transformer +
// class-validator, parsePayload) against the zod schema the /chat gateway used before (issue 13 §4).
// Interleaved rounds, process CPU time (not wall time), so a loaded machine shifts both alike.
//   node bench/validation.js [rounds=7] [perRound=20000]   (needs dist/: npm run build)
'use strict';
require('reflect-metadata');
const { join } = require('node:path');
const { z } = require('zod');

const dist = join(__dirname, '..', 'dist');
const { parsePayload } = require(join(dist, 'core', 'validation', 'dto-validation'));
const { SendMessagePayload } = require(join(dist, 'modules', 'chat', 'dto', 'chat.dto'));

const zodSchema = z.object({ roomId: z.number().int().positive(), body: z.string().trim().min(1).max(4000) }).strict();
const payload = { roomId: 42, body: 'Hello everyone, the analysis of project 7 is done.' };
const bad = { roomId: 'one', body: 5, extra: true };

const rounds = Number(process.argv[2] ?? 7);
const perRound = Number(process.argv[3] ?? 20000);

/** @param {() => void} fn */
function cpuMicrosPerCall(fn) {
  const start = process.cpuUsage();
  for (let i = 0; i < perRound; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / perRound;
}

const cases = {
  'class-validator (valid)': () => parsePayload(SendMessagePayload, payload),
  'zod (valid)': () => zodSchema.parse(payload),
  'class-validator (invalid)': () => {
    try {
      parsePayload(SendMessagePayload, bad);
    } catch {
      /* bad_request */
    }
  },
  'zod (invalid)': () => zodSchema.safeParse(bad),
};
/** @type {Record<string, number[]>} */
const results = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
for (const fn of Object.values(cases)) for (let i = 0; i < 2000; i++) fn(); // warm-up
for (let r = 0; r < rounds; r++) for (const [name, fn] of Object.entries(cases)) results[name].push(cpuMicrosPerCall(fn));
const median = (/** @type {number[]} */ xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`load average ${require('node:os').loadavg().map((l) => l.toFixed(1)).join(' ')}; ${rounds} rounds x ${perRound} calls`);
for (const [name, xs] of Object.entries(results)) {
  console.log(`${name.padEnd(28)} median ${median(xs).toFixed(2)} µs CPU per payload (rounds ${Math.min(...xs).toFixed(2)}–${Math.max(...xs).toFixed(2)})`);
}
