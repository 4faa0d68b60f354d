import { describe, expect, it } from 'vitest';
import { EpochWatch, lostState, type EpochProtocol } from './epoch.js';

// Each row: the gateway's epoch (s) and our clock (s) at successive answers, and for each
// answer after the first whether it shows the gateway lost its state.
const SEQUENCES: { name: string; protocol: EpochProtocol; answers: [server: number, client: number][]; lost: boolean[] }[] = [
  { name: 'clocks in step', protocol: 'pcp', answers: [[100, 0], [160, 60], [220, 120]], lost: [false, false] },
  { name: 'a restart: the epoch starts again', protocol: 'pcp', answers: [[5000, 0], [5060, 60], [3, 62]], lost: [false, true] },
  { name: 'the restart is reported once, then the new epoch is the expectation', protocol: 'pcp', answers: [[5000, 0], [3, 62], [33, 92], [63, 122]], lost: [true, false, false] },
  { name: 'back by 1 s is rounding, not a loss (section 8.5)', protocol: 'pcp', answers: [[100, 0], [99, 0.5]], lost: [false] },
  { name: 'back by 2 s is a loss', protocol: 'pcp', answers: [[100, 0], [98, 0.5]], lost: [true] },
  { name: 'a restart longer ago than the gap: the server counted less than we did', protocol: 'pcp', answers: [[30, 0], [40, 60]], lost: [true] },
  { name: 'within 2 s plus 1/16 of the elapsed time', protocol: 'pcp', answers: [[0, 0], [1500, 1600]], lost: [false] },
  { name: 'the server counted far more than we did (section 8.5 checks both ways)', protocol: 'pcp', answers: [[0, 0], [1000, 600]], lost: [true] },
  { name: 'NAT-PMP: clocks in step', protocol: 'nat-pmp', answers: [[100, 0], [160, 60]], lost: [false] },
  { name: 'NAT-PMP: 7/8 of our elapsed time minus 2 s is still fine (section 3.6)', protocol: 'nat-pmp', answers: [[0, 0], [68, 80]], lost: [false] },
  { name: 'NAT-PMP: below that, a restart', protocol: 'nat-pmp', answers: [[0, 0], [67, 80]], lost: [true] },
  { name: 'NAT-PMP: a gateway clock running fast is not a loss', protocol: 'nat-pmp', answers: [[0, 0], [1000, 600]], lost: [false] },
  { name: 'NAT-PMP: a restart', protocol: 'nat-pmp', answers: [[86_400, 0], [2, 30]], lost: [true] },
];

describe('EpochWatch', () => {
  it.each(SEQUENCES)('$name', ({ protocol, answers, lost }) => {
    const watch = new EpochWatch();
    const seen = answers.map(([server, client]) => watch.observe(protocol, { serverSeconds: server, clientMs: client * 1000 }));
    expect(seen[0]).toBe(false); // nothing to compare the first answer with
    expect(seen.slice(1)).toEqual(lost);
  });

  it('starts afresh when the protocol changes (a fallback): two epochs are not one clock', () => {
    const watch = new EpochWatch();
    expect(watch.observe('pcp', { serverSeconds: 5000, clientMs: 0 })).toBe(false);
    expect(watch.observe('nat-pmp', { serverSeconds: 3, clientMs: 1000 })).toBe(false);
    expect(watch.observe('nat-pmp', { serverSeconds: 1, clientMs: 2000 })).toBe(true);
  });
});

describe('lostState', () => {
  it.each([
    [10, 0, 11, 0, false], // same instant, server 1 s ahead: within the 2 s slack
    [10, 0, 13, 0, true], // 3 s more on the server's side with none on ours
  ])('PCP server %i at %i s, then %i at %i s: lost %s', (s1, c1, s2, c2, lost) => {
    expect(lostState('pcp', { serverSeconds: s1, clientMs: c1 * 1000 }, { serverSeconds: s2, clientMs: c2 * 1000 })).toBe(lost);
  });
});
