import type { HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { HealthController } from './health.controller';
import type { DependencyIndicators } from './health.indicators';
import type { ShutdownState } from './shutdown-state';

function fakeResponse() {
  const res = { statusCode: 0, body: '' } as { statusCode: number; body: string } & Record<string, unknown>;
  res.setHeader = () => res;
  res.status = (code: number) => ((res.statusCode = code), res);
  res.type = () => res;
  res.send = (body: string) => ((res.body = body), res);
  res.json = (body: unknown) => ((res.body = JSON.stringify(body)), res);
  return res;
}

function controller() {
  let release: (r: HealthCheckResult) => void = () => undefined;
  const check = jest.fn(
    () =>
      new Promise<HealthCheckResult>((resolve) => {
        release = resolve;
      }),
  );
  const deps = { databaseRead: () => ({ database_read: { status: 'up' } }) } as unknown as DependencyIndicators;
  const ctrl = new HealthController({ check } as unknown as HealthCheckService, deps, { isShuttingDown: false } as ShutdownState);
  const ok = (n: number): HealthCheckResult => ({ status: 'ok', info: { redis: { status: 'up', round: n } }, error: {}, details: {} });
  return { ctrl, check, finish: (n: number) => release(ok(n)) };
}

describe('HealthController /up', () => {
  it('shares one round of checks among the requests that arrive while it runs', async () => {
    const { ctrl, check, finish } = controller();
    const responses = Array.from({ length: 10 }, fakeResponse);
    const pending = responses.map((res) => ctrl.up(res as unknown as Response));
    await Promise.resolve();
    finish(1);
    await Promise.all(pending);
    expect(check).toHaveBeenCalledTimes(1);
    for (const res of responses) {
      expect(res.statusCode).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({ status: 'ok', info: { redis: { round: 1 }, database_read: { status: 'up' } } });
    }
  });

  it('starts a new round for a request that arrives after the last one finished', async () => {
    const { ctrl, check, finish } = controller();
    const first = fakeResponse();
    const p1 = ctrl.up(first as unknown as Response);
    await Promise.resolve();
    finish(1);
    await p1;
    const second = fakeResponse();
    const p2 = ctrl.up(second as unknown as Response);
    await Promise.resolve();
    finish(2);
    await p2;
    expect(check).toHaveBeenCalledTimes(2);
    expect(JSON.parse(second.body)).toMatchObject({ info: { redis: { round: 2 } } });
  });
});
