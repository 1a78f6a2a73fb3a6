// The bare side of bench/queues/run.js: plain BullMQ Workers (one per queue) in a process of their own,
// started and stopped exactly like our queue:work, so both sides pay the same process start, cold JIT and
// scheduling on the shared cores. Processor: sleeps job.data.sleepMs if set, else returns at once.
// Env: REDIS_URL, BARE_PREFIX (BullMQ prefix), BARE_QUEUES (comma list, default "default"), BARE_CONCURRENCY;
// BARE_JOB_LINES=1 makes it the floor of bench/queues: also a line per job on stdout (SPEC: queue:work prints a
// line per job as artisan does), written when the job completes, one write per job.
const { Worker } = require('bullmq');
const Redis = require('ioredis');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const connection = new Redis(process.env.REDIS_URL, { maxRetriesPerRequest: null });
const concurrency = Number(process.env.BARE_CONCURRENCY || 1);
const workers = (process.env.BARE_QUEUES || 'default').split(',').map(
  (name) =>
    new Worker(
      name,
      async (job) => {
        if (job.data && job.data.sleepMs) await sleep(job.data.sleepMs);
      },
      { connection: connection.duplicate(), prefix: process.env.BARE_PREFIX, concurrency },
    ),
);
if (process.env.BARE_JOB_LINES === '1') {
  for (const w of workers) w.on('completed', (job) => process.stdout.write(`${new Date().toISOString()} ${job.name} ${job.id} DONE\n`));
}
process.once('SIGTERM', () => {
  Promise.all(workers.map((w) => w.close()))
    .then(() => connection.quit())
    .then(
      () => process.exit(0),
      () => process.exit(1),
    );
});
