/**
 * The bar, on virtual time: one hour at −1000, −100, 0, +100, +1000 ppm with exponential jitter
 * (TCP-like, 8 ms mean, at most 40 ms): latency slope ≤ 5 ms/h after 30 s, p99 − p50 ≤ 15 ms, no glitch.
 * The same runs for the two baselines are in baselines.test.ts; bench/latency-plot.ts prints them side by side.
 */
import t from 'tap';
import { loadSpeex } from '../../lib/speex.js';
import { simulate, type SimResult } from './simulate.js';
import { HOUR, PPMS, SINK_QUEUE_MS, STEADY_NET, ours, producerSpec } from './scenarios.js';

await loadSpeex();

const row = (r: SimResult) =>
  `${r.name.padEnd(16)} p50 ${r.p50.toFixed(1).padStart(7)} ms  p99−p50 ${(r.p99 - r.p50).toFixed(1).padStart(6)} ms  ` +
  `slope ${r.slopeMsPerHour.toFixed(1).padStart(8)} ms/h  glitches ${r.glitches}`;

for (const ppm of PPMS) {
  t.test(`${ppm > 0 ? '+' : ''}${ppm} ppm, 1 h`, async (t) => {
    const spec = producerSpec(ppm, HOUR, STEADY_NET, 100 + ppm);
    const s = ours();
    const r = simulate(spec, s, { sinkQueueMs: SINK_QUEUE_MS });
    const st = s.core.stats;
    t.comment(row(r));
    t.ok(Math.abs(r.slopeMsPerHour) <= 5, `latency slope ${r.slopeMsPerHour.toFixed(2)} ms/h (≤ 5)`);
    t.ok(r.p99 - r.p50 <= 15, `p99 − p50 = ${(r.p99 - r.p50).toFixed(2)} ms (≤ 15)`);
    t.equal(r.glitches, 0, 'no glitch');
    t.equal(r.sinkUnderrunTicks, 0, 'the sink never ran dry');
    t.equal(st.concealmentEvents, 0);
    t.ok(Math.abs(st.driftPpm - ppm) <= 60, `drift estimated at ${st.driftPpm.toFixed(0)} ppm`);
    t.ok(r.p50 < 140, `p50 latency ${r.p50.toFixed(1)} ms end to end (jitter ≤ 40 ms, 50 ms sink queue)`);
    const balance =
      st.samplesIn + st.samplesInserted - st.samplesRemoved + st.concealedSamples + st.idleSamples - st.droppedSamples;
    t.equal(balance, st.samplesOut + st.heldSamples, 'counters add up');
    s.destroy();
  });
}
