/**
 * Reorderer on its own: in-order release, holding behind a gap, declaring it lost, late and duplicate packets,
 * seq and timestamp wrap-around, resync on a jump, and metadata that changes kind mid-stream.
 */
import t from 'tap';
import { FrameFormatError } from '../../../lib/errors.js';
import { Reorderer, type Released } from '../../../lib/jitter/reorder.js';

const N = 160; // frames per packet
const pkt = (v: number, meta: { seq?: number; timestamp?: number }) => ({
  data: new Int16Array(N).fill(v),
  frames: N,
  ...meta,
});
/** What came out, as a string: packet values, and g<frames> for a gap. */
const show = (out: Released[]) => out.map((r) => ('gap' in r ? `g${r.gap}` : String(r.data[0]))).join(' ');

t.test('plain frames: arrival order, positions count up', async (t) => {
  const r = new Reorderer(8000);
  r.play([]); // playing: in-order audio goes at once
  const out: Released[] = [];
  for (let i = 1; i <= 3; i++) t.equal(r.accept(pkt(i, {}), out).pos, (i - 1) * N);
  t.equal(show(out), '1 2 3');
  t.equal(r.hasHeld, false);
});

t.test('seq: a packet ahead of a missing one is held until it comes, or until the gap is declared lost', async (t) => {
  const r = new Reorderer(8000);
  r.play([]); // playing: in-order audio goes at once
  const out: Released[] = [];
  r.accept(pkt(1, { seq: 10 }), out);
  r.accept(pkt(3, { seq: 12 }), out);
  t.equal(show(out), '1', 'held behind seq 11');
  t.equal(r.heldSamples, N);
  t.equal(r.gapSamples, N);
  r.accept(pkt(2, { seq: 11 }), out);
  t.equal(show(out), '1 2 3', 'the missing one arrived: both go, in order');
  t.equal(r.reordered, 1);

  r.accept(pkt(6, { seq: 15 }), out);
  r.releaseGap(out);
  t.equal(show(out.slice(3)), `g${2 * N} 6`, 'seq 13 and 14 declared lost: a gap of two packets, then 15');
  t.equal(r.lost, 2);
  t.equal(r.accept(pkt(4, { seq: 13 }), out).status, 'late', 'a packet whose slot was concealed is late');
  t.equal(r.accept(pkt(6, { seq: 15 }), out).status, 'duplicate', 'one already played is a duplicate');
  t.equal(r.late, 1);
  t.equal(r.duplicates, 1);
});

t.test('seq wraps at 2^16, timestamps at 2^32', async (t) => {
  const r = new Reorderer(8000);
  r.play([]); // playing: in-order audio goes at once
  const out: Released[] = [];
  [65534, 65535, 0, 1].forEach((seq, i) => r.accept(pkt(i, { seq }), out));
  t.equal(show(out), '0 1 2 3');
  t.equal(r.lost + r.late + r.duplicates, 0);

  const ts = new Reorderer(8000);

  ts.play([]); // playing: in-order audio goes at once
  const o2: Released[] = [];
  const start = 2 ** 32 - 2 * N;
  for (let i = 0; i < 4; i++) ts.accept(pkt(i, { timestamp: (start + i * N) % 2 ** 32 }), o2);
  t.equal(show(o2), '0 1 2 3');
  t.same(
    o2.map((x) => ('pos' in x ? x.pos : -1)),
    [0, N, 2 * N, 3 * N],
    'positions continue across the wrap',
  );
});

t.test('timestamps: the gap is measured in samples; a jump beyond maxGapSamples resynchronizes', async (t) => {
  const r = new Reorderer(1000);
  r.play([]); // playing: in-order audio goes at once
  const out: Released[] = [];
  r.accept(pkt(1, { timestamp: 0 }), out);
  r.accept(pkt(2, { timestamp: N + 80 }), out);
  r.releaseGap(out);
  t.equal(show(out), '1 g80 2', 'an 80-sample hole');
  r.accept(pkt(3, { timestamp: 100_000 }), out);
  r.releaseGap(out);
  t.equal(show(out), '1 g80 2 3', 'no 99 760-sample gap is concealed');
  t.equal(r.resyncs, 1);
});

t.test('bad metadata is a FrameFormatError', async (t) => {
  const r = new Reorderer(8000);
  r.play([]); // playing: in-order audio goes at once
  const out: Released[] = [];
  r.accept(pkt(1, { seq: 1 }), out);
  t.throws(() => r.accept(pkt(2, {}), out), FrameFormatError, 'seq, then none');
  t.throws(() => r.accept(pkt(2, { seq: -1 }), out), { code: 'ERR_PACKET_METADATA' });
  t.throws(() => r.accept(pkt(2, { seq: 1.5 }), out), { code: 'ERR_PACKET_METADATA' });
});

t.test('before playout: a packet that overtook the first one at the start still plays first', async (t) => {
  for (const meta of [(i: number) => ({ seq: 1000 + i }), (i: number) => ({ timestamp: 50_000 + i * N })]) {
    const r = new Reorderer(8000);
    const out: Released[] = [];
    r.accept(pkt(2, meta(2)), out);
    r.accept(pkt(3, meta(3)), out);
    t.equal(show(out), '', 'held until playout starts');
    t.equal(r.accept(pkt(1, meta(1)), out).status, 'ok', 'the one that was overtaken is taken');
    r.accept(pkt(0, meta(-60)), out); // far before any of them (over maxGapSamples): not a new start
    t.equal(r.duplicates, 1);
    t.equal(r.heldSamples, 3 * N);
    r.releaseGap(out); // playout starts
    t.equal(show(out), '1 2 3', 'in order, nothing lost, no gap');
    t.equal(r.lost, 0);
    t.same(
      out.map((x) => ('pos' in x ? x.pos : NaN)),
      [-N, 0, N],
      'positions: the first to arrive is 0, the overtaken one before it',
    );
    r.accept(pkt(4, meta(4)), out);
    t.equal(show(out), '1 2 3 4', 'playing: in order goes at once');
    t.equal(r.accept(pkt(0, meta(0)), out).status, 'duplicate', 'once playing, an earlier packet is too late');
  }
});
