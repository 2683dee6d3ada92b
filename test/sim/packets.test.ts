/**
 * RTP-like input over a UDP-like path: independent jitter (so packets overtake each other), 1 % loss, 2 % of
 * packets held back behind their successor, a producer 200 ppm slow. With seq + timestamp, seq only, or
 * timestamp only, the jitter buffer must put packets back in order, conceal exactly the lost ones, drop (and
 * count) the ones that come too late, and keep the latency flat.
 */
import t from 'tap';
import { loadSpeex } from '../../lib/speex.js';
import { simulate } from './simulate.js';
import { arrivals, type ProducerSpec } from './producer.js';
import { SINK_QUEUE_MS, ours } from './scenarios.js';

await loadSpeex();

function spec(metadata: ProducerSpec['metadata'], durationMs: number): ProducerSpec {
  return {
    sampleRate: 16000,
    chunkMs: 20,
    ppm: -200,
    durationMs,
    toneHz: 440,
    amplitude: 8000,
    metadata,
    network: { jitter: { meanMs: 6, capMs: 30 }, loss: 0.01, reorder: 0.02, inOrder: false },
    seed: 3,
  };
}

for (const metadata of ['seq+ts', 'seq', 'ts'] as const) {
  t.test(`${metadata}: 10 min at 1 % loss, 2 % reordering`, async (t) => {
    const sp = spec(metadata, 600_000);
    let delivered = 0;
    let last = 0;
    for (const a of arrivals(sp)) {
      delivered++;
      last = Math.max(last, a.pos);
    }
    const sent = last / 320 + 1;
    const s = ours({ sampleRate: 16000 });
    const r = simulate(sp, s, { sinkQueueMs: SINK_QUEUE_MS });
    const st = s.core.stats;
    t.comment(
      `${sent} sent, ${sent - delivered} lost on the way; ${st.lostPackets} concealed as lost, ${st.late} late, ${st.reordered} reordered`,
    );
    const missing = sent - delivered + st.late;
    if (metadata === 'ts') {
      // without seq a run of lost packets is one gap: counted once
      t.ok(
        st.lostPackets <= missing && st.lostPackets >= missing * 0.95,
        'every gap at playout time is concealed, no more',
      );
    } else {
      t.ok(Math.abs(st.lostPackets - missing) <= 2, 'every packet missing at its playout time is concealed, no more');
    }
    t.ok(st.reordered > 50, 'packets were put back in order');
    t.ok(st.late < (sent - delivered) / 2, 'few come too late (the window is the buffer depth)');
    t.equal(st.dropped.late, st.late * 320, 'late packets are dropped, counted in samples');
    t.equal(st.dropped.overflow, 0, 'nothing overflowed');
    t.comment(`stale audio dropped after underruns: ${st.dropped.stale / 16} ms`);
    t.ok(
      r.glitches <= st.concealmentEvents && r.glitches >= st.concealmentEvents * 0.8,
      `glitches heard (${r.glitches}) ≈ concealments (${st.concealmentEvents})`,
    );
    t.ok(r.p99 - r.p50 <= 15, `latency flat: p99 − p50 = ${(r.p99 - r.p50).toFixed(1)} ms`);
    t.ok(Math.abs(st.driftPpm + 200) < 100, `drift ${st.driftPpm.toFixed(0)} ppm (−200)`);
    const balance =
      st.samplesIn + st.samplesInserted - st.samplesRemoved + st.concealedSamples + st.idleSamples - st.droppedSamples;
    t.equal(balance, st.samplesOut + st.heldSamples, 'counters add up');
    s.destroy();
  });
}

t.test('plain frames on the same path are played in arrival order: reordering is heard', async (t) => {
  const s = ours({ sampleRate: 16000 });
  const r = simulate(spec('none', 60_000), s, { sinkQueueMs: SINK_QUEUE_MS });
  t.ok(r.glitches > 10, `without seq/timestamp a reordered packet is a glitch (${r.glitches})`);
  s.destroy();
});
