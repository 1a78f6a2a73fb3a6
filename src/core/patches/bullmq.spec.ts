import { register } from 'prom-client';
import { checkMarkerKeyType, checkNextJobFromJobData } from './bullmq';
import { PatchShapeError, reportPatch } from './patch-check';

describe('core/patches/bullmq', () => {
  it('finds Worker.nextJobFromJobData(jobData, jobId, token) in the installed BullMQ', () => {
    const check = checkNextJobFromJobData();
    expect(check.installed).toMatch(/^5\./);
    expect(check).toMatchObject({ library: 'bullmq', ok: true });
  });

  it('refuses to start queue:work when the method is gone or changed its shape', () => {
    const gone = checkNextJobFromJobData({});
    expect(gone.ok).toBe(false);
    expect(() => reportPatch(gone, 'required')).toThrow(PatchShapeError);
    const changed = checkNextJobFromJobData({ nextJobFromJobData: async (_a?: unknown) => undefined });
    expect(changed).toMatchObject({ ok: false, reason: 'takes 1 arguments, not 3' });
  });

  it('accepts the marker key as a sorted set or absent, and falls back to polling, loudly, otherwise', async () => {
    expect(checkMarkerKeyType('zset').ok).toBe(true);
    expect(checkMarkerKeyType('none').ok).toBe(true);
    const list = checkMarkerKeyType('list');
    expect(list).toMatchObject({ ok: false, reason: 'the marker key is a list, not a sorted set' });
    expect(reportPatch(list, 'optional').ok).toBe(false);
    const metric = await register.getSingleMetric('library_patch_active')?.get();
    expect(metric?.values.find((v) => v.labels.patch === 'marker key')?.value).toBe(0);
  });
});
