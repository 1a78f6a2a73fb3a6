import { SlotHolderKind, SlotLedger } from './slot-ledger';

interface FakeConnection {
  open: boolean;
}

const fakeKind = (transport: 'sse' | 'websocket'): SlotHolderKind<FakeConnection> => ({ transport, isOpen: (c) => c.open, forget: () => undefined });

describe('SlotLedger', () => {
  it('counts slots in total and per address, and gives each back once', () => {
    const ledger = new SlotLedger();
    const sse = fakeKind('sse');
    const [x, y, z] = [{ open: true }, { open: true }, { open: true }];
    expect(ledger.take(sse, x, '198.51.100.1')).toBe(true);
    expect(ledger.take(sse, y, '198.51.100.1')).toBe(true);
    expect(ledger.take(sse, z, '198.51.100.2')).toBe(true);
    expect(ledger.take(sse, x, '198.51.100.1')).toBe(false);
    expect(ledger.total).toBe(3);
    expect([...ledger.perIp]).toEqual([
      ['198.51.100.1', 2],
      ['198.51.100.2', 1],
    ]);
    expect(ledger.give(x)).toBe('198.51.100.1');
    expect(ledger.give(x)).toBeUndefined();
    expect(ledger.give({ open: true })).toBeUndefined();
    expect(ledger.give(z)).toBe('198.51.100.2');
    expect(ledger.total).toBe(1);
    expect([...ledger.perIp]).toEqual([['198.51.100.1', 1]]);
  });

  it('finds the holders whose connection closed, of every kind, and leaves the open ones', () => {
    const ledger = new SlotLedger();
    const sse = fakeKind('sse');
    const ws = fakeKind('websocket');
    const open = { open: true };
    const gone = { open: false };
    const goneSocket = { open: false };
    ledger.take(sse, open, '198.51.100.1');
    ledger.take(sse, gone, '198.51.100.1');
    ledger.take(ws, goneSocket, '198.51.100.3');
    expect(ledger.closed().map(({ kind, holder }) => [kind.transport, holder])).toEqual([
      ['sse', gone],
      ['websocket', goneSocket],
    ]);
    for (const { holder } of ledger.closed()) ledger.give(holder);
    expect(ledger.closed()).toEqual([]);
    expect(ledger.total).toBe(1);
    expect([...ledger.perIp]).toEqual([['198.51.100.1', 1]]);
  });

  it('looks at the next `max` holders per call, going on where it stopped, so every holder is seen within total/max calls', () => {
    const ledger = new SlotLedger();
    const ws = fakeKind('websocket');
    const holders = Array.from({ length: 10 }, () => ({ open: true }));
    for (const h of holders) ledger.take(ws, h, '198.51.100.1');
    holders[0].open = false; // just behind the look after the first call
    holders[9].open = false;
    expect(ledger.closed(4)).toEqual([{ kind: ws, holder: holders[0] }]);
    holders[1].open = false; // already looked at: found next time round
    const late = { open: false };
    ledger.take(ws, late, '198.51.100.2'); // taken meanwhile: reached in this round
    ledger.give(holders[9]); // given back meanwhile: skipped
    expect(ledger.closed(4)).toEqual([]); // holders 4-7
    expect(ledger.closed(4).map((f) => f.holder)).toEqual([late, holders[0], holders[1]]); // 8, late, then from the start: 0, 1
    expect(ledger.closed(100).map((f) => f.holder)).toEqual([late, holders[0], holders[1]]); // all 10 from 2 on, never one twice in a call
  });
});
