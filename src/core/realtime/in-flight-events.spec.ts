import { InFlightEvents } from './in-flight-events';

describe('InFlightEvents', () => {
  it('resolves whenIdle at once when nothing runs', async () => {
    await expect(new InFlightEvents().whenIdle(10)).resolves.toBeUndefined();
  });

  it('waits for every tracked handler before it resolves', async () => {
    const events = new InFlightEvents();
    let release!: () => void;
    const handler = events.track(new Promise<string>((r) => (release = () => r('done'))));
    let idle = false;
    const waiting = events.whenIdle(5000).then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(idle).toBe(false);
    expect(events.size).toBe(1);
    release();
    expect(await handler).toBe('done');
    await waiting;
    expect(idle).toBe(true);
  });

  it('gives up after the timeout when a handler is stuck', async () => {
    const events = new InFlightEvents();
    void events.track(new Promise(() => undefined));
    const started = Date.now();
    await events.whenIdle(50);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
  });

  it('counts a failed handler as finished', async () => {
    const events = new InFlightEvents();
    await expect(events.track(Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(events.size).toBe(0);
  });
});
