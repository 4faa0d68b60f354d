import { describe, expect, it } from 'vitest';
import { FakeClock } from '../testing/fake-clock.js';
import { rateLimitedRequester, TokenBucket } from './rate-limit.js';
import type { ApiRequest, ApiResponse } from './request.js';

/** Starts `n` takes and records, in fake time, when each was let through. */
function startTakes(bucket: TokenBucket, clock: FakeClock, n: number): number[] {
  const passedAt: number[] = [];
  const t0 = clock.now();
  for (let i = 0; i < n; i++) void bucket.take().then(() => passedAt.push(clock.now() - t0));
  return passedAt;
}

describe('TokenBucket', () => {
  it('lets a burst through at once, then one request per 1/qps', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 3, clock });
    const passedAt = startTakes(bucket, clock, 6);
    await clock.advance(0);
    expect(passedAt).toEqual([0, 0, 0]);
    await clock.advance(99);
    expect(passedAt).toHaveLength(3);
    await clock.advance(1);
    expect(passedAt).toEqual([0, 0, 0, 100]);
    await clock.advance(200);
    expect(passedAt).toEqual([0, 0, 0, 100, 200, 300]);
  });

  it('refills while idle, but never beyond the burst', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 10, burst: 2, clock });
    startTakes(bucket, clock, 2);
    await clock.advance(10_000); // idle long enough for 100 tokens, capped at 2
    const passedAt = startTakes(bucket, clock, 3);
    await clock.advance(0);
    expect(passedAt).toEqual([0, 0]);
    await clock.advance(100);
    expect(passedAt).toEqual([0, 0, 100]);
  });

  it('holds every request until a Retry-After pause ends', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 100, burst: 100, clock });
    bucket.pauseFor(2_000);
    expect(bucket.delayMs()).toBe(2_000);
    const passedAt = startTakes(bucket, clock, 2);
    await clock.advance(1_999);
    expect(passedAt).toEqual([]);
    await clock.advance(1);
    expect(passedAt).toEqual([2_000, 2_000]);
  });

  it('does not limit with qps 0', async () => {
    const clock = new FakeClock();
    const bucket = new TokenBucket({ qps: 0, burst: 1, clock });
    const passedAt = startTakes(bucket, clock, 50);
    await clock.advance(0);
    expect(passedAt).toHaveLength(50);
  });
});

describe('rateLimitedRequester', () => {
  it('limits writes, not reads, and pauses writes after a 429 with Retry-After', async () => {
    const clock = new FakeClock();
    const sent: Array<{ method: string; at: number }> = [];
    const t0 = clock.now();
    let answer: ApiResponse = { statusCode: 200, body: {} };
    const requester = rateLimitedRequester(async (req: ApiRequest) => {
      sent.push({ method: req.method, at: clock.now() - t0 });
      return answer;
    }, new TokenBucket({ qps: 1, burst: 1, clock }));
    void requester({ method: 'PATCH', path: '/a' });
    void requester({ method: 'PATCH', path: '/b' });
    void requester({ method: 'GET', path: '/c' });
    await clock.advance(0);
    expect(sent).toHaveLength(2); // the first PATCH (burst 1) and the GET; the second PATCH waits
    expect(sent).toEqual(expect.arrayContaining([{ method: 'PATCH', at: 0 }, { method: 'GET', at: 0 }]));
    answer = { statusCode: 429, body: 'Too many requests', retryAfterSeconds: 5 };
    await clock.advance(1_000);
    expect(sent.at(-1)).toEqual({ method: 'PATCH', at: 1_000 }); // answered 429: writes pause 5 s
    answer = { statusCode: 200, body: {} };
    void requester({ method: 'POST', path: '/d' });
    await clock.advance(4_999);
    expect(sent).toHaveLength(3);
    await clock.advance(1);
    expect(sent.at(-1)).toEqual({ method: 'POST', at: 6_000 });
  });
});
