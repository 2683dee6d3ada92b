/**
 * PROTOTYPES measured by the suite and proposed for files other engineers own (each names its target).
 */

/**
 * For lib/mix.ts `mixChannels(data, 2, 1)`: the same result (average, rounded to nearest, ties to even) without
 * the generic per-channel loop and the float division. Measured in bench/throughput.ts `breakdown`.
 */
export function downmixStereo(data: Int16Array): Int16Array {
  const n = data.length >> 1;
  const out = new Int16Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 2) {
    const sum = data[j]! + data[j + 1]!;
    let q = sum >> 1; // floor(sum / 2)
    if (sum & 1 && q & 1) q++; // a tie: round to even
    out[i] = q;
  }
  return out;
}
