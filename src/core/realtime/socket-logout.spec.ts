import { alice, fakeSocket } from './fake-socket.spec-helper';
import { RecentRevocations } from './recent-revocations';
import { SocketLogout } from './socket-logout';

describe('SocketLogout (a logout reaching sockets, and one heard while a socket was set up)', () => {
  it('ends a socket only for a logout of its own credential (or all of its user\'s) heard after the mark', () => {
    const revocations = new RecentRevocations();
    const logout = new SocketLogout(revocations);
    const mine = fakeSocket({ principal: alice });
    mine.socket.data.credential = 11;
    revocations.recordEnded(7, [11]); // before the mark: the check that followed already saw it
    const mark = logout.mark();
    expect(logout.endIfEndedSince(mine.socket, alice, mark)).toBe(false);
    revocations.recordEnded(7, [12]); // another token of the same user
    expect(logout.endIfEndedSince(mine.socket, alice, mark)).toBe(false);
    expect(logout.endIfEndedSince(mine.socket, alice, undefined)).toBe(false);
    expect([mine.sent, mine.disconnected()]).toEqual([[], false]);
    revocations.recordEnded(7, 'all');
    expect(logout.endIfEndedSince(mine.socket, alice, mark)).toBe(true);
    expect(mine.sent).toEqual([['error', { code: 'session_ended', message: 'The session or token this connection used has ended' }]]);
    expect(mine.disconnected()).toBe(true);
    expect(logout.credentialOf(mine.socket)).toBe(11);
  });
});
