/**
 * Seeded mutations of JSON messages for the gateway fuzz tests. A run prints its seed; FUZZ_SEED and FUZZ_CASES
 * reproduce or lengthen it.
 */
import { prng } from '../helpers/prng.js';

export const FUZZ_SEED = Number(process.env.FUZZ_SEED ?? 20261203);
export const FUZZ_CASES = Number(process.env.FUZZ_CASES ?? 5000);

export type Rand = () => number;
export const seeded = (offset = 0): Rand => prng(FUZZ_SEED + offset);

const pick = <T>(r: Rand, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;

/** Values of every JSON type that a parser should refuse or survive where another type is expected. */
export function hostileValue(r: Rand): unknown {
  return pick(r, [
    () => null,
    () => true,
    () => 0,
    () => -1,
    () => 1.5,
    () => 1e308,
    () => -0,
    () => Number.MAX_SAFE_INTEGER + 2,
    () => '',
    () => '8000',
    () => ' 8000 ',
    () => '-5',
    () => '1e3',
    () => '0x1f',
    () => 'x'.repeat(1 + Math.floor(r() * 5000)),
    () => '\u0000\uFFFD\uD800',
    () => '%%%%',
    () => 'AAAA',
    () => [],
    () => [1, 2, 3],
    () => ({}),
    () => ({ toString: 1 }),
    () => ({ valueOf: 'x' }),
    () => JSON.parse('{"__proto__":{"polluted":1}}') as unknown,
    () => ({ constructor: { prototype: { polluted: 1 } } }),
    () => ({ nested: { deeper: [{}] } }),
  ])();
}

/** A copy of `msg` with one to three fields (at any depth) replaced, deleted or added. */
export function mutate(r: Rand, msg: unknown): unknown {
  const copy = JSON.parse(JSON.stringify(msg)) as unknown;
  const edits = 1 + Math.floor(r() * 3);
  let out = copy;
  for (let i = 0; i < edits; i++) out = mutateOnce(r, out);
  return out;
}

function mutateOnce(r: Rand, v: unknown): unknown {
  if (typeof v !== 'object' || v === null || r() < 0.08) return hostileValue(r);
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  const roll = r();
  if (roll < 0.15 || keys.length === 0) {
    obj[pick(r, ['extra', '__proto__', 'constructor', 'toString', 'event', 'media', 'start', 'x'.repeat(50)])] =
      hostileValue(r);
  } else if (roll < 0.3) {
    delete obj[pick(r, keys)];
  } else {
    const k = pick(r, keys);
    obj[k] = mutateOnce(r, obj[k]);
  }
  return obj;
}

/** Text that is sometimes valid JSON of a mutated message, sometimes broken JSON. */
export function mutatedText(r: Rand, msg: unknown): string {
  const text = JSON.stringify(mutate(r, msg)) ?? 'null';
  const roll = r();
  if (roll < 0.1) return text.slice(0, Math.floor(r() * text.length));
  if (roll < 0.15) return text + pick(r, ['}', ']', ',', '\u0000', ' garbage']);
  if (roll < 0.18) return '[' + text + ']';
  return text;
}
