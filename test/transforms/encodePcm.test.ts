/**
 * encodePcm: the exact inverse of decodePcm for 16-bit audio in every 16-bit-or-wider encoding, nearest code for
 * u8 and G.711 (every code re-encodes to itself), one Buffer per frame, typed errors for bad input.
 */
import t from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AudioFrame } from '../../lib/frames.js';
import { ConfigError, FrameFormatError } from '../../lib/errors.js';
import { ALAW_TO_INT16, MULAW_TO_INT16, type SampleEncoding } from '../../lib/formats.js';
import { decodePcm } from '../../transforms/decodePcm.js';
import { encodePcm } from '../../transforms/encodePcm.js';

async function collect<T>(frames: unknown[], ...stages: NodeJS.ReadWriteStream[]): Promise<T[]> {
  const out: T[] = [];
  await pipeline(
    Readable.from(frames, { objectMode: true }),
    ...(stages as unknown as [NodeJS.ReadWriteStream]),
    new Writable({ objectMode: true, write: (c: T, _e, cb) => (out.push(c), cb()) }),
  );
  return out;
}

/** Every int16 value once, stereo, in frames of 480. */
function allValues(): AudioFrame[] {
  const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
  const frames: AudioFrame[] = [];
  for (let i = 0; i < all.length; i += 960) {
    const d = all.slice(i, i + 960);
    frames.push(new AudioFrame(d, 16000, 2, d.length / 2));
  }
  return frames;
}

const samples = (frames: AudioFrame[]) => Int16Array.from(frames.flatMap((f) => Array.from(f.data)));

t.test('16-bit and wider encodings round-trip every int16 value exactly through decodePcm', async (t) => {
  const input = allValues();
  for (const encoding of ['s16le', 's16be', 's24le', 's32le', 'f32le', 'f64le'] as SampleEncoding[]) {
    const bytes = await collect<Buffer>(input, encodePcm({ encoding }));
    t.equal(bytes.length, input.length, `${encoding}: one Buffer per frame`);
    const back = await collect<AudioFrame>(bytes, decodePcm({ encoding, sampleRate: 16000, channels: 2 }));
    t.same(samples(back), samples(input), `${encoding}: bit-exact round trip`);
  }
});

t.test('s16le is the little-endian bytes of the samples', async (t) => {
  const [b] = await collect<Buffer>([new AudioFrame(Int16Array.from([1, -2, 0x1234]), 8000, 1, 3)], encodePcm());
  t.same(Array.from(b!), [1, 0, 0xfe, 0xff, 0x34, 0x12]);
});

t.test('G.711: every code decodes and re-encodes to itself; any sample encodes to a level next to it', async (t) => {
  for (const [encoding, table] of [
    ['mulaw', MULAW_TO_INT16],
    ['alaw', ALAW_TO_INT16],
  ] as const) {
    const [b] = await collect<Buffer>([new AudioFrame(Int16Array.from(table), 8000, 1, 256)], encodePcm({ encoding }));
    const same = Array.from(b!).filter((code, i) => code === i).length;
    // µ-law has two zeros (0x7f and 0xff); the encoder writes the positive one
    t.equal(same, encoding === 'mulaw' ? 255 : 256, `${encoding}: ${same} of 256 codes re-encode to themselves`);
    const all = samples(allValues());
    const bytes = await collect<Buffer>(allValues(), encodePcm({ encoding }));
    const decoded = samples(await collect<AudioFrame>(bytes, decodePcm({ encoding, sampleRate: 16000, channels: 2 })));
    const levels = Array.from(new Set(table)).sort((a, b) => a - b);
    let worse = 0;
    for (let i = 0; i < all.length; i += 7) {
      // the G.711 decision thresholds: a sample goes to one of the two levels around it (Sun's encoder, as sox)
      const x = all[i]!;
      const below = levels.filter((l) => l <= x).pop() ?? levels[0]!;
      const above = levels.find((l) => l >= x) ?? levels[levels.length - 1]!;
      if (decoded[i] !== below && decoded[i] !== above) worse++;
    }
    t.equal(worse, 0, `${encoding}: each sample lands on one of the two levels around it`);
  }
});

t.test('u8: nearest of 256 levels, exact for what u8 decodes to', async (t) => {
  const levels = Int16Array.from({ length: 256 }, (_, b) => (b - 128) << 8);
  const [b] = await collect<Buffer>([new AudioFrame(levels, 8000, 1, 256)], encodePcm({ encoding: 'u8' }));
  t.same(
    Array.from(b!),
    Array.from({ length: 256 }, (_, i) => i),
  );
  const [c] = await collect<Buffer>(
    [new AudioFrame(Int16Array.from([127, 128, -32768, 32767]), 8000, 1, 4)],
    encodePcm({ encoding: 'u8' }),
  );
  t.same(Array.from(c!), [128, 129, 0, 255]);
});

t.test('bad options and bad frames are typed errors', async (t) => {
  t.throws(() => encodePcm({ encoding: 'mp3' as SampleEncoding }), ConfigError);
  t.throws(() => encodePcm({ sampleRate: 0 }), { code: 'ERR_PCM_RATE' });
  t.throws(() => encodePcm({ channels: 1.5 }), { code: 'ERR_PCM_CHANNELS' });
  await t.rejects(collect([Buffer.from([1, 2])], encodePcm()), { code: 'ERR_NOT_A_FRAME' });
  const a = new AudioFrame(new Int16Array(160), 8000, 1, 160);
  const b = new AudioFrame(new Int16Array(320), 16000, 1, 320);
  await t.rejects(collect([a, b], encodePcm()), FrameFormatError, 'a rate change mid-stream');
  await t.rejects(collect([a], encodePcm({ sampleRate: 16000 })), { code: 'ERR_FRAME_MISMATCH' });
});

t.test('bufferedMs counts the encoded bytes not yet read', async (t) => {
  const enc = encodePcm({ encoding: 'mulaw' });
  t.equal(enc.bufferedMs, 0);
  enc.write(new AudioFrame(new Int16Array(160), 8000, 1, 160));
  await new Promise((r) => setImmediate(r));
  t.equal(enc.bufferedMs, 20, '160 µ-law bytes at 8 kHz = 20 ms');
  enc.destroy();
});
