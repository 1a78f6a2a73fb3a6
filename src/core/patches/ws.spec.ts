import { register } from 'prom-client';
import { reportPatch } from './patch-check';
import { checkDeflateAccept, compactDeflate, engineIoWs, probeOffer, shareNegotiatedDeflateParams } from './ws';

type Deflate = { accept(offers: unknown): Record<string, unknown>; params: Record<string, unknown> | null };
const PerMessageDeflate = engineIoWs.PerMessageDeflate as unknown as new (o: object, server: boolean, max: number) => Deflate;

describe('core/patches/ws', () => {
  it("finds PerMessageDeflate.accept(offers) and this.params in engine.io's ws", () => {
    const check = checkDeflateAccept();
    expect(check.installed).toMatch(/^8\./);
    expect(check).toMatchObject({ library: 'ws', ok: true });
  });

  it('gives every connection that negotiated the same values one frozen params object', () => {
    expect(shareNegotiatedDeflateParams()).toBe(true);
    const a = new PerMessageDeflate(compactDeflate(1024, 1024), true, 1024);
    const b = new PerMessageDeflate(compactDeflate(1024, 1024), true, 1024);
    const pa = a.accept(probeOffer());
    expect(b.accept(probeOffer())).toBe(pa);
    expect(b.params).toBe(pa);
    expect(Object.isFrozen(pa)).toBe(true);
    expect(pa).toMatchObject({ server_no_context_takeover: true, client_no_context_takeover: true, server_max_window_bits: 10, client_max_window_bits: 10 });
  });

  it('leaves ws alone, loudly, when accept or this.params changed', async () => {
    class Renamed {
      negotiated: unknown = null;
      accept(offers: unknown) {
        return (this.negotiated = { offers });
      }
    }
    const check = checkDeflateAccept(Renamed as never);
    expect(check).toMatchObject({ ok: false, reason: 'accept() no longer keeps what it negotiated in this.params' });
    expect(checkDeflateAccept(null)).toMatchObject({ ok: false, reason: 'ws no longer exports PerMessageDeflate with accept()' });
    expect(reportPatch(check, 'optional').ok).toBe(false);
    const metric = await register.getSingleMetric('library_patch_active')?.get();
    expect(metric?.values.find((v) => v.labels.patch === 'PerMessageDeflate.accept')?.value).toBe(0);
  });
});
