/**
 * findCut on its own: quiet audio can always go, noise never, periodic audio at (a multiple of) its period — and
 * the decimated search (first at ~8 kHz, then refined at the full rate) finds cuts as good as the full search.
 */
import t from 'tap';
import { findCut, type StretchSearch } from '../../../lib/jitter/timeStretch.js';
import { rng } from '../../sim/producer.js';

const search = (decimation: number): StretchSearch => ({
  minLag: 120, // 2.5 ms
  maxLag: 720, // 15 ms
  window: 240, // 5 ms
  quietRms: 104,
  minCorrelation: 0.9,
  decimation,
});
const SPAN = 720 + 240;

/** A voiced-speech-like signal: a pitch pulse train through a few harmonics, `period` samples. */
function voiced(period: number, phase: number): Int16Array {
  return Int16Array.from({ length: SPAN }, (_, i) => {
    let v = 0;
    for (let h = 1; h <= 8; h++) v += Math.sin((2 * Math.PI * h * (i + phase)) / period + h) / h;
    return Math.round(6000 * v);
  });
}

function correlation(x: Int16Array, lag: number, window: number): number {
  let xy = 0;
  let e0 = 0;
  let e1 = 0;
  for (let i = 0; i < window; i++) {
    xy += x[i]! * x[i + lag]!;
    e0 += x[i]! * x[i]!;
    e1 += x[i + lag]! * x[i + lag]!;
  }
  return xy / Math.sqrt(e0 * e1);
}

t.test('quiet goes whole, noise never', async (t) => {
  for (const d of [1, 6]) {
    t.equal(findCut(new Int16Array(SPAN).fill(50), 1, search(d)), 720, `quiet, decimation ${d}`);
    const r = rng(3);
    const noise = Int16Array.from({ length: SPAN }, () => Math.round((r() - 0.5) * 20000));
    t.equal(findCut(noise, 1, search(d)), 0, `noise, decimation ${d}`);
  }
});

t.test('voiced audio: the decimated search cuts whole periods, as well as the full search', async (t) => {
  const r = rng(5);
  for (let k = 0; k < 40; k++) {
    const period = 120 + Math.floor(r() * 360); // 100–400 Hz pitch
    const x = voiced(period, Math.floor(r() * period));
    const full = findCut(x, 1, search(1));
    const fast = findCut(x, 1, search(6));
    t.ok(fast > 0, `period ${period}: a cut (${fast}; full search ${full})`);
    const off = Math.min(fast % period, period - (fast % period));
    t.ok(off <= 1, `period ${period}: the cut is a whole number of periods (${fast}, off by ${off})`);
    t.ok(
      correlation(x, fast, 240) >= Math.min(correlation(x, full, 240), 0.999) - 0.002,
      'as good a match as the full search',
    );
  }
});

t.test('stereo is searched on its mix', async (t) => {
  const x = voiced(200, 0);
  const st = new Int16Array(2 * SPAN);
  for (let i = 0; i < SPAN; i++) {
    st[2 * i] = x[i]!;
    st[2 * i + 1] = x[i]!;
  }
  t.equal(findCut(st, 2, search(6)) % 200, 0);
});
