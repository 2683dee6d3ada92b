/**
 * The default jitter buffer where a default must hold, with one pull per 10 ms tick (a direct-mode sink):
 * - one 200 ms network stall anywhere in a call — in the first second, during the fast start, or later — costs
 *   at most two glitch events and leaves the latency within 20 ms of its level 5 s later;
 * - a producer clock ±3000 ppm off: latency flat, no glitch.
 */
import t from 'tap';
import { loadSpeex } from '../../lib/speex.js';
import { simulate } from './simulate.js';
import { ours, producerSpec, STEADY_NET } from './scenarios.js';

await loadSpeex();

/** median latency over [fromMs, toMs) */
function latencyAt(latency: Float32Array, fromMs: number, toMs: number): number {
  const v = Array.from(latency.subarray(fromMs / 10, toMs / 10)).filter((x) => !Number.isNaN(x));
  v.sort((a, b) => a - b);
  return v[v.length >> 1]!;
}

t.test('one 200 ms stall, early or late', async (t) => {
  for (const stallAt of [500, 1000, 2500, 4000, 8000, 20_000]) {
    const spec = producerSpec(0, 30_000, { ...STEADY_NET, stalls: [{ atMs: stallAt, durationMs: 200 }] }, 3);
    const s = ours();
    const r = simulate(spec, s, { sinkQueueMs: 10, convergeMs: 0 });
    // the level: the call's settled latency (the last 5 s; the stall is long past for every case)
    const level = latencyAt(r.latency, 25_000, 30_000);
    const after = latencyAt(r.latency, stallAt + 5200, stallAt + 5700);
    t.ok(r.glitches <= 2, `stall at ${stallAt / 1000} s: ${r.glitches} glitch event(s)`);
    t.ok(
      Math.abs(after - level) <= 20,
      `stall at ${stallAt / 1000} s: latency 5 s later ${after.toFixed(1)} ms, level ${level.toFixed(1)} ms`,
    );
    t.ok(s.core.stats.targetDelayMs <= 80, `target back at ${s.core.stats.targetDelayMs} ms`);
  }
});

t.test('±3000 ppm: latency flat, no glitch', async (t) => {
  for (const ppm of [-3000, 3000]) {
    const spec = producerSpec(ppm, 300_000, STEADY_NET, 4);
    const s = ours();
    const r = simulate(spec, s, { sinkQueueMs: 10, convergeMs: 30_000 });
    const first = latencyAt(r.latency, 30_000, 60_000);
    const last = latencyAt(r.latency, 270_000, 300_000);
    t.equal(r.glitches, 0, `${ppm} ppm: no glitch`);
    t.ok(Math.abs(last - first) <= 5, `${ppm} ppm: latency ${first.toFixed(1)} → ${last.toFixed(1)} ms over 4 min`);
    t.ok(Math.abs(r.slopeMsPerHour) <= 30, `${ppm} ppm: slope ${r.slopeMsPerHour.toFixed(1)} ms/h`);
    t.ok(Math.abs(s.core.stats.driftPpm - ppm) <= 300, `drift estimated at ${s.core.stats.driftPpm.toFixed(0)} ppm`);
  }
});
