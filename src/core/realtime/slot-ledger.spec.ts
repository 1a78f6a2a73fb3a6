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
});
