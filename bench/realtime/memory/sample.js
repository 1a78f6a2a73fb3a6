// Preload: SIGWINCH starts allocation sampling (every allocation, collected or not), the next SIGWINCH writes it to SAMPLE_FILE.
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');
let session = null;
process.on('SIGWINCH', () => {
  if (!session) {
    session = new inspector.Session();
    session.connect();
    session.post('HeapProfiler.startSampling', { samplingInterval: Number(process.env.SAMPLE_INTERVAL || 4096), includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true }, (err) => err && console.error('sampling', err));
    return;
  }
  const s = session; session = null;
  s.post('HeapProfiler.stopSampling', (err, r) => {
    if (err) return console.error(err);
    writeFileSync(process.env.SAMPLE_FILE, JSON.stringify(r.profile));
    s.disconnect();
  });
});
