/**
 * The polyphase filter for a fixed rational ratio: one windowed-sinc row per output phase.
 *
 * The quality scale is speex's (0–10, same filter lengths and bandwidths, so `quality` means the same thing
 * whichever engine runs): in/out reduces to num/den (den = the number of phases), an output advances the
 * input by num/den samples, and row p holds the taps for an output that falls p/den of a sample past the
 * tap grid. Downsampling widens the filter by the ratio and lowers its cutoff to the output's Nyquist.
 * The window is a Kaiser window computed exactly (speex interpolates a tabulated one of the same β).
 */

interface Quality {
  taps: number; // filter length when upsampling
  downBandwidth: number; // cutoff as a fraction of the output Nyquist, downsampling
  upBandwidth: number; // cutoff as a fraction of the input Nyquist, upsampling
  beta: number; // Kaiser window β
}

// speex's quality map (resample.c): lengths, bandwidths and Kaiser β per level
const QUALITY: readonly Quality[] = [
  { taps: 8, downBandwidth: 0.83, upBandwidth: 0.86, beta: 6 },
  { taps: 16, downBandwidth: 0.85, upBandwidth: 0.88, beta: 6 },
  { taps: 32, downBandwidth: 0.882, upBandwidth: 0.91, beta: 6 },
  { taps: 48, downBandwidth: 0.895, upBandwidth: 0.917, beta: 8 },
  { taps: 64, downBandwidth: 0.921, upBandwidth: 0.94, beta: 8 },
  { taps: 80, downBandwidth: 0.922, upBandwidth: 0.94, beta: 10 },
  { taps: 96, downBandwidth: 0.94, upBandwidth: 0.945, beta: 10 },
  { taps: 128, downBandwidth: 0.95, upBandwidth: 0.95, beta: 10 },
  { taps: 160, downBandwidth: 0.96, upBandwidth: 0.96, beta: 10 },
  { taps: 192, downBandwidth: 0.968, upBandwidth: 0.968, beta: 12 },
  { taps: 256, downBandwidth: 0.975, upBandwidth: 0.975, beta: 12 },
];

export interface PolyphaseShape {
  /** Taps per phase: a multiple of 8 (the kernel's unroll). */
  taps: number;
  /** Phases (the reduced output rate). */
  phases: number;
  /** Input samples per `phases` outputs (the reduced input rate). */
  step: number;
  /** Cutoff as a fraction of the lower Nyquist. */
  cutoff: number;
  beta: number;
}

export interface PolyphaseFilter extends PolyphaseShape {
  /** phases × taps coefficients, row by row. */
  table: Float32Array;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}

/** The filter's dimensions, without computing it (cheap: decides whether the table is affordable). */
export function polyphaseShape(inRate: number, outRate: number, quality: number): PolyphaseShape {
  const q = QUALITY[quality]!;
  const g = gcd(inRate, outRate);
  const step = inRate / g;
  const phases = outRate / g;
  if (step > phases) {
    // downsampling: a longer filter with the cutoff at the output's Nyquist; rounded up to a multiple of 8
    const taps = Math.floor(((Math.floor((q.taps * step) / phases) - 1) & ~7) + 8);
    return { taps, phases, step, cutoff: (q.downBandwidth * phases) / step, beta: q.beta };
  }
  return { taps: q.taps, phases, step, cutoff: q.upBandwidth, beta: q.beta };
}

/** I0, the modified Bessel function of the first kind (its power series converges fast for the β used here). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 64; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Compute the table: row p, tap j is the windowed sinc at distance (j − taps/2 + 1 − p/phases) from the output. */
export function designPolyphase(inRate: number, outRate: number, quality: number): PolyphaseFilter {
  const shape = polyphaseShape(inRate, outRate, quality);
  const { taps, phases, cutoff, beta } = shape;
  const table = new Float32Array(taps * phases);
  const i0Beta = besselI0(beta);
  const half = taps / 2;
  for (let p = 0; p < phases; p++) {
    for (let j = 0; j < taps; j++) {
      const x = j - half + 1 - p / phases;
      const ax = Math.abs(x);
      let v: number;
      if (ax < 1e-6) v = cutoff;
      else if (ax > half) v = 0;
      else {
        const r = ax / half; // 0…1 across the window's half-width
        const window = besselI0(beta * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
        const arg = Math.PI * x * cutoff;
        v = ((cutoff * Math.sin(arg)) / arg) * window;
      }
      table[p * taps + j] = v;
    }
  }
  return { ...shape, table };
}
