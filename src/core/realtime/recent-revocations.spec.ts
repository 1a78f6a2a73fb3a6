import { RecentRevocations } from './recent-revocations';

describe('RecentRevocations', () => {
  it('tells a check that a room was lost after its mark, and not before', () => {
    const r = new RecentRevocations();
    r.record(7, 'project:1');
    const mark = r.mark();
    expect(r.revokedSince(7, 'project:1', mark)).toBe(false);
    r.record(7, 'project:2');
    expect(r.revokedSince(7, 'project:2', mark)).toBe(true);
    expect(r.revokedSince(8, 'project:2', mark)).toBe(false);
    r.record(7, 'project:1'); // lost again (re-added, removed again): counts from the newest
    expect(r.revokedSince(7, 'project:1', mark)).toBe(true);
  });

  it('tells which credentials ended after a mark: the one named, or all of the user', () => {
    const r = new RecentRevocations();
    const mark = r.mark();
    r.recordEnded(3, [11, 12]);
    expect(r.endedSince(3, 11, mark)).toBe(true);
    expect(r.endedSince(3, 13, mark)).toBe(false);
    expect(r.endedSince(3, undefined, mark)).toBe(false);
    expect(r.endedSince(4, 11, mark)).toBe(false);
    const later = r.mark();
    r.recordEnded(4, 'all');
    expect(r.endedSince(4, 99, later)).toBe(true);
    expect(r.endedSince(4, undefined, later)).toBe(true);
    expect(r.endedSince(3, 11, later)).toBe(false);
  });

  it('stays bounded under a flood of revocations and still knows the newest', () => {
    const r = new RecentRevocations();
    const mark = r.mark();
    for (let i = 0; i < 25_000; i++) r.record(i, 'chat:1');
    expect((r as unknown as { revoked: Map<string, unknown> }).revoked.size).toBeLessThanOrEqual(10_000);
    expect(r.revokedSince(24_999, 'chat:1', mark)).toBe(true);
  });
});
