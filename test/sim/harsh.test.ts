/**
 * The harsh trace (scenarios.ts): jitter spikes, a 150 ms stall every minute with its backlog arriving at once,
 * one 5 s burst of 200 ms clumps, a producer 300 ppm fast — 20 virtual minutes. The bar: latency back to the
 * target after every stall (within 20 ms, within 5 s), no more glitch events than interruptions longer than
 * the target, and counters that add up.
 */
import t from 'tap';
import { loadSpeex } from '../../lib/speex.js';
import { simulate } from './simulate.js';
import { SINK_QUEUE_MS, bounded, harshSpec, ours, unbounded } from './scenarios.js';

await loadSpeex();

const MINUTES = 20;

t.test(`harsh trace, ${MINUTES} min`, async (t) => {
  const spec = harshSpec(MINUTES * 60_000);
  const s = ours();
  const ticks = (MINUTES * 60_000) / 10;
  const target = new Float32Array(ticks);
  const depth = new Float32Array(ticks);
  const r = simulate(spec, s, {
    sinkQueueMs: SINK_QUEUE_MS,
    onTick: (ms) => {
      const st = s.core.stats;
      target[ms / 10 - 1] = st.targetDelayMs;
      depth[ms / 10 - 1] = st.currentDelayMs + 10; // measured after the pull: add it back
    },
  });
  const st = s.core.stats;

  // interruptions of arrival longer than the target at the time: the most the buffer could not bridge
  const longer = r.gaps.filter((g) => g.gapMs > target[Math.floor(g.atMs / 10)]!).length;
  t.comment(`${r.gaps.length} interruptions ≥ 40 ms, ${longer} longer than the target; ${r.glitches} glitch events`);
  t.ok(r.glitches <= longer, `glitch events (${r.glitches}) ≤ interruptions longer than the target (${longer})`);
  t.equal(st.concealmentEvents, r.glitches, 'every glitch heard is a counted concealment');

  // after each stall (outside the burst), the depth is back within 20 ms of the target within 5 s
  for (const stall of spec.network.stalls!) {
    const k = (stall.atMs + stall.durationMs + 5000) / 10;
    if (k >= ticks) continue;
    // average over 100 ms: the instantaneous depth carries the 20 ms packet sawtooth
    let d = 0;
    for (let i = k; i < k + 10; i++) d += depth[i]! - target[i]!;
    t.ok(
      Math.abs(d / 10) <= 20,
      `5 s after the stall at ${stall.atMs / 1000} s: depth − target = ${(d / 10).toFixed(1)} ms`,
    );
  }
  t.ok(st.dropped.stale > 0, `stale audio after stalls was dropped (${st.dropped.stale / 8} ms)`);
  t.ok(
    Math.abs(st.driftPpm - 300) < 300,
    `drift still estimated through it all (${st.driftPpm.toFixed(0)} ppm for +300)`,
  );
  const balance =
    st.samplesIn + st.samplesInserted - st.samplesRemoved + st.concealedSamples + st.idleSamples - st.droppedSamples;
  t.equal(balance, st.samplesOut + st.heldSamples, 'counters add up');
  t.comment(`ours: p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms`);
  s.destroy();

  const u = simulate(spec, unbounded(), { sinkQueueMs: SINK_QUEUE_MS });
  const b = simulate(spec, bounded(), { sinkQueueMs: SINK_QUEUE_MS });
  t.comment(`unbounded: p50 ${u.p50.toFixed(1)} ms, max ${u.max.toFixed(1)} ms, ${u.glitches} glitches`);
  t.comment(`bounded: p50 ${b.p50.toFixed(1)} ms, max ${b.max.toFixed(1)} ms, ${b.glitches} glitches`);
  t.ok(u.max > r.max + 100, 'the unbounded queue keeps every stall as extra delay');
  t.ok(b.glitches > r.glitches, 'the bounded queue glitches more');
});
