import type { AppConfig } from '../../config/app-config';
import { AuthDeadline } from './auth-deadline';
import { alice, fakeSocket } from './fake-socket.spec-helper';

const config = { realtime: { authTimeoutMs: 1000 } } as unknown as AppConfig;

describe('AuthDeadline (AUTH_TIMEOUT_MS for a socket that connected without a credential)', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('disconnects a socket still unauthenticated at the deadline, telling it why, and not a moment before', () => {
    const deadline = new AuthDeadline(config);
    const s = fakeSocket();
    deadline.start(s.socket);
    jest.advanceTimersByTime(999);
    expect([s.sent, s.disconnected()]).toEqual([[], false]);
    jest.advanceTimersByTime(1);
    expect(s.sent).toEqual([['error', { code: 'auth_timeout', message: 'Not authenticated within 1000 ms' }]]);
    expect(s.disconnected()).toBe(true);
  });

  it('leaves a socket that authenticated in time, one whose deadline was cleared, and one that already left', () => {
    const deadline = new AuthDeadline(config);
    const authenticated = fakeSocket({ id: 'a' });
    const cleared = fakeSocket({ id: 'c' });
    const gone = fakeSocket({ id: 'g' });
    for (const s of [authenticated, cleared, gone]) deadline.start(s.socket);
    authenticated.socket.data.principal = alice;
    deadline.clear(cleared.socket);
    gone.socket.disconnect(true);
    jest.advanceTimersByTime(5000);
    for (const s of [authenticated, cleared, gone]) expect(s.sent).toEqual([]);
    expect([authenticated.disconnected(), cleared.disconnected()]).toEqual([false, false]);
  });
});
