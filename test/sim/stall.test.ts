/**
 * One network stall anywhere in a call — in the first second, during the fast start, or later — costs at most two
 * glitch events and leaves the latency within 20 ms of its level 5 s later. 200 ms stalls on a steady WebSocket
 * path, the default jitter buffer, one pull per 10 ms tick (a direct-mode sink).
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
