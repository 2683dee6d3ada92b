/**
 * The glitch detector (test/sim/glitchDetector.ts) is the judge of every simulation, so it is tested first on
 * glitches made on purpose: it must catch a one-sample skip, a 10 ms gap (abrupt or faded), a click, and
 * report nothing on a clean tone or on slow varispeed within ±1 % (what the drift loop does).
 */
import t from 'tap';
import { GlitchDetector } from './glitchDetector.js';
import { loadSpeex, SpeexResampler } from '../../lib/speex.js';
import { Varispeed, RATIO_DEN } from '../../lib/jitter/varispeed.js';

const A = 10000;

/** A tone with a phase accumulator and an optional frequency law f(n) (Hz at sample n). */
function tone(rate: number, n: number, hz: number | ((i: number) => number), amp = A): Int16Array {
  const out = new Int16Array(n);
  let ph = 0;
  for (let i = 0; i < n; i++) {
    out[i] = Math.round(amp * Math.sin(ph));
    ph += (2 * Math.PI * (typeof hz === 'number' ? hz : hz(i))) / rate;
  }
  return out;
}

function detect(x: Int16Array, rate: number, hz: number, amp = A): GlitchDetector {
  const d = new GlitchDetector({ sampleRate: rate, frequency: hz, amplitude: amp });
  // feed in 10 ms pieces, as the simulator does
  const step = rate / 100;
  for (let i = 0; i < x.length; i += step) d.feed(x.subarray(i, i + step));
  return d;
}

for (const [rate, hz] of [
  [48000, 1000],
  [8000, 440],
  [16000, 500],
] as const) {
  t.test(`${hz} Hz at ${rate} Hz`, async (t) => {
    const n = rate * 2;
    const clean = tone(rate, n, hz);
    const d0 = detect(clean, rate, hz);
    t.equal(d0.count, 0, 'a clean tone: no glitch');
    t.ok(d0.maxCleanResidual < 0.2, `clean residual is far below the threshold (${d0.maxCleanResidual.toFixed(3)})`);

    const skip = new Int16Array(n - 1);
    skip.set(clean.subarray(0, n / 2));
    skip.set(clean.subarray(n / 2 + 1), n / 2);
    const d1 = detect(skip, rate, hz);
    t.equal(d1.count, 1, 'a one-sample skip is one glitch');
    t.equal(d1.events[0]!.kind, 'discontinuity');
    t.ok(Math.abs(d1.events[0]!.at - n / 2) <= 2, 'found where it is');

    const dup = new Int16Array(n + 1);
    dup.set(clean.subarray(0, n / 2));
    dup.set(clean.subarray(n / 2 - 1), n / 2);
    t.equal(detect(dup, rate, hz).count, 1, 'a repeated sample is one glitch');

    const gap = clean.slice();
    gap.fill(0, n / 2, n / 2 + rate / 100);
    const d2 = detect(gap, rate, hz);
    t.equal(d2.count, 1, 'a 10 ms gap of silence is one glitch');

    const faded = clean.slice();
    const f = rate / 200; // 5 ms fades, like the jitter buffer's concealment
    for (let i = 0; i < f; i++) {
      faded[n / 2 - f + i] = Math.round(faded[n / 2 - f + i]! * (1 - (i + 1) / (f + 1)));
      faded[n / 2 + rate / 100 + i] = Math.round(faded[n / 2 + rate / 100 + i]! * ((i + 1) / (f + 1)));
    }
    faded.fill(0, n / 2, n / 2 + rate / 100);
    const d3 = detect(faded, rate, hz);
    t.equal(d3.count, 1, 'a 10 ms gap with 5 ms fades is still one glitch');
    t.equal(d3.events[0]!.kind, 'dropout');

    const click = clean.slice();
    click[n / 2] = click[n / 2]! + 0.1 * A;
    t.equal(detect(click, rate, hz).count, 1, 'a click of 10 % of the tone is one glitch');

    const three = clean.slice();
    three[rate / 4] = three[rate / 4]! - 0.2 * A;
    three.fill(0, rate / 2, rate / 2 + rate / 100);
    const peak = rate + Math.round(rate / (4 * hz));
    three[peak] = -three[peak]!;
    t.equal(detect(three, rate, hz).count, 3, 'three separate glitches are three events');

    const glide = tone(rate, n, (i) => hz * (1 + 0.01 * Math.sin((2 * Math.PI * i) / (rate * 1.5))));
    t.equal(detect(glide, rate, hz).count, 0, 'a frequency glide within ±1 % is not a glitch');
    const offset = tone(rate, n, hz * 1.02);
    t.equal(detect(offset, rate, hz).count, 0, 'even a steady 2 % offset is not');
  });
}

t.test('leading silence and a fade-in are not glitches; a later dropout is', async (t) => {
  const rate = 48000;
  const x = new Int16Array(rate);
  x.set(tone(rate, rate / 2, 1000), rate / 4);
  for (let i = 0; i < 240; i++) x[rate / 4 + i] = Math.round(x[rate / 4 + i]! * (i / 240));
  const d = detect(x, rate, 1000);
  t.equal(d.count, 1, 'only the end of the tone counts (it stops abruptly)');
  t.ok(d.events[0]!.at >= (3 * rate) / 4 - 2, 'at the end');
  t.equal(d.samples, rate);
  const silent = new GlitchDetector({ sampleRate: rate, frequency: 1000, amplitude: A });
  silent.feedSilence(rate);
  t.equal(silent.count, 0, 'silence alone never locks');
});

t.test('the real varispeed, swept within ±1 %, is glitch-free; a crossing of exactly 1:1 is not', async (t) => {
  await loadSpeex();
  const rate = 48000;
  const vs = new Varispeed(1, rate, 3);
  const d = new GlitchDetector({ sampleRate: rate, frequency: 1000, amplitude: A });
  const src = tone(rate, rate * 20, 1000);
  // 20 s, the ratio swept ±1 % and stepped across 1 every 100 ms for a while (what the loop does near 0 ppm)
  for (let k = 0; k < 1000; k++) {
    const sweep = k < 500 ? 0.01 * Math.sin((2 * Math.PI * k) / 500) : k % 10 < 5 ? 1e-5 : -1e-5;
    vs.setRatio(1 + sweep);
    d.feed(vs.process(src.subarray(k * 960, (k + 1) * 960)));
  }
  t.equal(d.count, 0, 'no glitch');
  t.ok(vs.inserted > 0 && vs.removed > 0, `it inserted (${vs.inserted}) and removed (${vs.removed}) samples`);
  vs.destroy();

  // why Varispeed never asks speex for num = den: speex reduces it to 1/1 and rescales its fractional phase to 0
  const rs = new SpeexResampler(1, rate, rate, 3);
  const d2 = new GlitchDetector({ sampleRate: rate, frequency: 1000, amplitude: A });
  for (let k = 0; k < 400; k++) {
    if (k % 100 === 50) rs.setRatio(RATIO_DEN + 9, RATIO_DEN);
    if (k % 100 === 0 && k > 0) rs.setRatio(RATIO_DEN, RATIO_DEN);
    d2.feed(rs.process(src.subarray(k * 960, (k + 1) * 960)));
  }
  t.ok(d2.count >= 1, `passing through exactly 1:1 makes glitches (${d2.count})`);
  rs.destroy();
});
