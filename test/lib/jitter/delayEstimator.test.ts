/**
 * DelayEstimator on its own: lateness relative to the 2 s running minimum, one sample per half-second, the
 * 0.95 quantile — and the fast start, where a single stall must not count as the jitter level.
 */
import t from 'tap';
import { DelayEstimator } from '../../../lib/jitter/delayEstimator.js';

/** 20 ms packets for `ms`, each late by lateness(t) on top of a fixed 30 ms path delay. */
function feed(e: DelayEstimator, fromMs: number, ms: number, lateness: (t: number) => number): void {
  for (let media = fromMs; media < fromMs + ms; media += 20) e.arrival(media + 30 + lateness(media), media);
}

t.test('no jitter reads 0; the fixed path delay cancels', async (t) => {
  const e = new DelayEstimator({ maxMs: 1000 });
  t.equal(e.jitterMs, undefined, 'nothing before the first packet');
  feed(e, 0, 10_000, () => 0);
  t.equal(e.jitterMs, 0);
  t.equal(e.samples, 19, 'one sample per closed half-second');
});

t.test('steady jitter is its 0.95 quantile, from the first seconds on', async (t) => {
  const e = new DelayEstimator({ maxMs: 1000 });
  // every half-second has one packet 40 ms late
  feed(e, 0, 1000, (m) => (m % 500 === 100 ? 40 : 0));
  t.equal(e.jitterMs, 40, 'fast start: two half-seconds of 40 ms lateness');
  feed(e, 1000, 30_000, (m) => (m % 500 === 100 ? 40 : 0));
  t.equal(e.jitterMs, 40);
});

t.test('one stall in the first seconds is not the jitter level; a second one is', async (t) => {
  for (const stallAt of [1000, 4000, 8000]) {
    const e = new DelayEstimator({ maxMs: 1000 });
    const small = (m: number) => (m % 500 === 100 ? 10 : 0);
    feed(e, 0, stallAt, small);
    // a 200 ms stall: every packet due in it arrives at its end
    feed(e, stallAt, 200, (m) => stallAt + 200 - m);
    feed(e, stallAt + 200, 3000, small);
    t.equal(e.jitterMs, 10, `a stall at ${stallAt / 1000} s (${e.samples} samples): still 10 ms`);
    feed(e, stallAt + 3200, 200, (m) => stallAt + 3400 - m);
    feed(e, stallAt + 3400, 1000, small);
    t.ok(e.jitterMs! >= 180, `a second stall counts: ${e.jitterMs} ms`);
  }
});

t.test('after the fast start one stall weighs under 5 %: no change; recurring stalls raise it', async (t) => {
  const e = new DelayEstimator({ maxMs: 1000 });
  const small = (m: number) => (m % 500 === 100 ? 10 : 0);
  feed(e, 0, 60_000, small);
  feed(e, 60_000, 200, (m) => 60_200 - m);
  feed(e, 60_200, 5000, small);
  t.equal(e.jitterMs, 10, 'a single stall after a minute');
  // a 150 ms stall every 4 s (1 half-second in 8: 12 %)
  for (let at = 65_200; at < 125_200; at += 4000) {
    feed(e, at, 150, (m) => at + 150 - m);
    feed(e, at + 150, 3850, small);
  }
  t.ok(e.jitterMs! >= 120, `recurring stalls are jitter: ${e.jitterMs} ms`);
});
