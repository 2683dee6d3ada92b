/**
 * Varispeed on its own: bypass (a delay line as long as the filter's lookahead) while the ratio is nominal, the
 * SpeexDSP filter while it is not, and hand-overs either way that a glitch detector cannot find.
 */
import t from 'tap';
import { loadSpeex } from '../../../lib/speex.js';
import { BYPASS_PPM, Varispeed } from '../../../lib/jitter/varispeed.js';
import { GlitchDetector } from '../../sim/glitchDetector.js';

await loadSpeex();

const A = 10000;
function tone(rate: number, hz: number, from: number, n: number): Int16Array {
  return Int16Array.from({ length: n }, (_, i) => Math.round(A * Math.sin((2 * Math.PI * hz * (from + i)) / rate)));
}

t.test('nominal: the input comes out sample for sample, `latency` samples later', async (t) => {
  const vs = new Varispeed(1, 48000, 3);
  const L = vs.latency;
  t.ok(L > 0, `lookahead ${L}`);
  const input = Int16Array.from({ length: 4800 }, (_, i) => ((i * 7919) % 20000) - 10000);
  const out: number[] = [];
  for (let i = 0; i < 4800; i += 960) {
    vs.setRatio(1 + (i % 1920 === 0 ? 1 : -1) * 40e-6); // a loop dithering inside the dead band
    out.push(...vs.process(input.subarray(i, i + 960)));
  }
  out.push(...vs.flush());
  t.equal(vs.bypassed, true);
  t.equal(out.length, 4800 + L);
  t.same(out.slice(0, L), new Array(L).fill(0), 'the lookahead first, as the filter would');
  t.same(out.slice(L), Array.from(input), 'then the input exactly');
  t.equal(vs.inserted, L, 'the tail counts as inserted, as a filter flush does');
  t.equal(vs.activeSamples, 0);
  vs.destroy();
});

t.test('ratio changes in and out of the dead band: no glitch, samples accounted', async (t) => {
  for (const [rate, hz] of [
    [48000, 1000],
    [8000, 440],
    [16000, 3000],
  ] as const) {
    const vs = new Varispeed(1, rate, 3);
    const det = new GlitchDetector({ sampleRate: rate, frequency: hz, amplitude: A });
    const chunk = rate / 50;
    // (seconds, ratio): nominal, faster, nominal, slower, barely outside the band, nominal
    const plan: [number, number][] = [
      [1, 1],
      [1, 1.005],
      [2, 1],
      [1, 0.995],
      [1, 1 + 2 * BYPASS_PPM * 1e-6],
      [2, 1],
      [0.5, 1.01],
      [1, 1],
    ];
    let pos = 0;
    let outN = 0;
    let handOvers = 0;
    let was = vs.bypassed;
    for (const [secs, ratio] of plan) {
      for (let k = 0; k < (secs * rate) / chunk; k++) {
        vs.setRatio(ratio);
        const out = vs.process(tone(rate, hz, pos, chunk));
        if (vs.bypassed !== was) handOvers++;
        was = vs.bypassed;
        pos += chunk;
        outN += out.length;
        det.feed(out);
      }
    }
    t.ok(handOvers >= 6, `${rate} Hz: ${handOvers} hand-overs between delay line and filter`);
    // skip the filter's leading zeros (the start of the stream)
    const glitches = det.events.filter((e) => e.at > vs.latency + 10);
    t.equal(
      glitches.length,
      0,
      `${rate} Hz, ${hz} Hz tone: no glitch (largest clean residual ${det.maxCleanResidual.toFixed(3)})`,
    );
    t.equal(outN, pos + vs.inserted - vs.removed, 'output = input + inserted − removed');
    t.ok(vs.removed > 0.004 * rate && vs.inserted > 0.004 * rate, `${vs.removed} removed, ${vs.inserted} inserted`);
    t.ok(vs.bypassedSamples > 0.5 * pos, `${((100 * vs.bypassedSamples) / pos).toFixed(0)} % bypassed`);
    vs.destroy();
  }
});
