import { CircuitBreaker } from './circuit-breaker';

function breaker(failureThreshold = 1, cooldownMs = 1000) {
  let now = 0;
  const b = new CircuitBreaker({ failureThreshold, cooldownMs, now: () => now });
  return { b, advance: (ms: number) => (now += ms) };
}

describe('CircuitBreaker', () => {
  it('lets calls through while closed', () => {
    const { b } = breaker();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(true);
  });

  it('opens after the threshold of consecutive failures and refuses calls', () => {
    const { b } = breaker(2);
    b.failure();
    expect(b.state).toBe('closed');
    b.failure();
    expect(b.state).toBe('open');
    expect(b.tryAcquire()).toBe(false);
  });

  it('forgets failures after a success', () => {
    const { b } = breaker(2);
    b.failure();
    b.success();
    b.failure();
    expect(b.state).toBe('closed');
  });

  it('turns half-open after the cooldown and lets exactly one probe through', () => {
    const { b, advance } = breaker(1, 1000);
    b.failure();
    advance(999);
    expect(b.tryAcquire()).toBe(false);
    advance(1);
    expect(b.state).toBe('half-open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false);
  });

  it('closes when the probe succeeds', () => {
    const { b, advance } = breaker(3, 1000);
    b.failure();
    b.failure();
    b.failure();
    advance(1000);
    expect(b.tryAcquire()).toBe(true);
    b.success();
    expect(b.state).toBe('closed');
    expect(b.tryAcquire()).toBe(true);
    // the failure count restarted: one failure does not reopen a threshold-3 breaker
    b.failure();
    expect(b.state).toBe('closed');
  });

  it('reopens for a whole cooldown when the probe fails, even below the threshold', () => {
    const { b, advance } = breaker(5, 1000);
    for (let i = 0; i < 5; i++) b.failure();
    advance(1000);
    expect(b.tryAcquire()).toBe(true);
    b.failure();
    expect(b.state).toBe('open');
    advance(999);
    expect(b.tryAcquire()).toBe(false);
    advance(1);
    expect(b.tryAcquire()).toBe(true);
  });
});
