import { SlotWaker } from './slot-waker';

describe('SlotWaker', () => {
  const settled = async (p: Promise<void>) => {
    let done = false;
    void p.then(() => (done = true));
    await new Promise((r) => setImmediate(r));
    return done;
  };

  it('wakes one idle slot per marker, oldest first, and bumps the generation', async () => {
    const w = new SlotWaker();
    const a = w.idle();
    const b = w.idle();
    const g = w.generation;
    w.wakeOne();
    expect(await settled(a)).toBe(true);
    expect(await settled(b)).toBe(false);
    expect(w.generation).toBe(g + 1);
    expect(w.idleCount).toBe(1);
  });

  it('wakeNext hands on to the next idle slot without telling lookers to look again', async () => {
    const w = new SlotWaker();
    const a = w.idle();
    const g = w.generation;
    w.wakeNext();
    expect(await settled(a)).toBe(true);
    expect(w.generation).toBe(g);
  });

  it('wakeAll releases every idle slot', async () => {
    const w = new SlotWaker();
    const slots = [w.idle(), w.idle(), w.idle()];
    w.wakeAll();
    for (const s of slots) expect(await settled(s)).toBe(true);
    expect(w.idleCount).toBe(0);
  });
});
