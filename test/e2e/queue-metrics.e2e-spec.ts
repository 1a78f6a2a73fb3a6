import { freePort } from '../support/api-process';
import { waitFor } from '../support/http-client';
import { QueueKit } from './queue-test-kit';

jest.setTimeout(120000);

describe('worker metrics', () => {
  const kit = new QueueKit();
  afterAll(() => kit.close());

  it('serves /metrics on METRICS_PORT with job durations and queue counts', async () => {
    const port = await freePort();
    const [j] = await kit.probe(['--queue=high']);
    const worker = kit.work(['--queue=high,default'], { METRICS_PORT: String(port) });
    await kit.waitState('high', j.id, 'completed');
    const text = await waitFor(async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      const body = await res.text();
      // queue_jobs is refreshed every 10 s by the worker
      return res.ok && /queue_jobs\{queue="high",state="completed"\} 1/.test(body) ? body : undefined;
    }, 30000);
    expect(text).toMatch(/queue_job_duration_seconds_count\{queue="high",name="queue:probe",status="completed"\} 1/);
    expect(text).toMatch(/queue_jobs\{queue="high",state="waiting"\} 0/);
    await worker.stop();
  });
});
