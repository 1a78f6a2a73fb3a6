import { hashTagOf, sameSlotTag } from './hash-tag';

describe('hashTagOf', () => {
  it('hashes only the first non-empty {tag}, as Redis Cluster does', () => {
    expect(hashTagOf('sb:{rt}:seq')).toBe('rt');
    expect(hashTagOf('sb:{rt}:room:{x}')).toBe('rt');
    expect(hashTagOf('sb:{}:a')).toBe('sb:{}:a');
    expect(hashTagOf('sb:{open')).toBe('sb:{open');
    expect(hashTagOf('sb:plain')).toBe('sb:plain');
  });

  it('keys of one realtime tag share a slot; a token revocation key does not', () => {
    expect(sameSlotTag('sb:{rt}:procs', 'sb:{rt}:seq')).toBe(true);
    expect(sameSlotTag('sb:{rt}:procs', 'sb:auth:revoked:abc')).toBe(false);
  });
});
