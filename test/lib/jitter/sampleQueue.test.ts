/** SampleQueue on its own: FIFO order across chunks, positions per sample, skip/peek/tail/mapHead. */
import t from 'tap';
import { SampleQueue } from '../../../lib/jitter/sampleQueue.js';

const ramp = (from: number, n: number, ch = 1) =>
  Int16Array.from({ length: n * ch }, (_, i) => from + Math.floor(i / ch));

t.test('frames come out in order across chunk boundaries, with their media positions', async (t) => {
  const q = new SampleQueue(1);
  q.append(ramp(0, 5), 100);
  q.append(ramp(5, 3), 105, 1.5); // made at a varispeed ratio: 1.5 media samples per frame
  q.append(new Int16Array(0), 0);
  t.equal(q.samples, 8);
  t.equal(q.headPosition, 100);
  const out = new Int16Array(6);
  q.readInto(out, 0, 4);
  t.equal(q.headPosition, 104);
  q.readInto(out, 4, 2);
  t.same(Array.from(out), [0, 1, 2, 3, 4, 5]);
  t.equal(q.headPosition, 106.5, 'one frame into the second chunk at 1.5 per frame');
  t.equal(q.samples, 2);
});

t.test('stereo: skip, peek and tail count sample frames', async (t) => {
  const q = new SampleQueue(2);
  q.append(ramp(0, 4, 2));
  q.append(ramp(4, 4, 2));
  t.same(Array.from(q.peek(3)), [0, 0, 1, 1, 2, 2]);
  t.same(Array.from(q.tail(3)), [5, 5, 6, 6, 7, 7]);
  q.skip(5);
  t.equal(q.samples, 3);
  t.ok(Number.isNaN(q.headPosition), 'synthesized audio has no media position');
  t.same(Array.from(q.peek(3)), [5, 5, 6, 6, 7, 7]);
});

t.test('mapHead rewrites the first frames in place, across chunks', async (t) => {
  const q = new SampleQueue(1);
  q.append(ramp(10, 2));
  q.append(ramp(12, 2));
  q.mapHead(3, (i, v) => v * 100 + i);
  const out = new Int16Array(4);
  q.readInto(out, 0, 4);
  t.same(Array.from(out), [1000, 1101, 1202, 13]);
  t.equal(q.samples, 0);
  t.ok(Number.isNaN(q.headPosition), 'empty');
});
