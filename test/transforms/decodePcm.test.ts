import t from 'tap';
import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { decodePcm, DecodePcm } from '../../transforms/decodePcm.js';
import { ConfigError, InvalidAudioError } from '../../lib/errors.js';
import { ownsBuffer, type AudioFrame } from '../../lib/frames.js';
import {
  ALAW_TO_INT16,
  MULAW_TO_INT16,
  SAMPLE_ENCODINGS,
  alawToInt16,
  bytesPerSample,
  encodeAlaw,
  encodeMulaw,
  floatToInt16,
  int16ToAlaw,
  int16ToMulaw,
  isSampleEncoding,
  mulawToInt16,
} from '../../lib/formats.js';
import { cut, runDecoder, sampleBytes, type Decoded } from '../helpers/wavBuilder.js';

const g711 = fileURLToPath(new URL('../fixtures/g711/', import.meta.url));
const readS16 = (f: string) => {
  const b = fs.readFileSync(f);
  return Array.from(new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
};
const SOX = {
  mulawDecoded: readS16(`${g711}sox-mulaw-decoded.s16`),
  alawDecoded: readS16(`${g711}sox-alaw-decoded.s16`),
  mulawEncoded: fs.readFileSync(`${g711}sox-mulaw-encoded.ul`),
  alawEncoded: fs.readFileSync(`${g711}sox-alaw-encoded.al`),
};
const ALL_CODES = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const SPLITS = ['whole', 'bytes', { seed: 5, max: 3 }, { seed: 6, max: 13 }, { seed: 7, max: 200 }] as const;

/** Known byte → int16 pairs per encoding (stored value, expected int16), written out by hand. */
const KNOWN: Array<{
  encoding: Parameters<typeof decodePcm>[0]['encoding'] & string;
  bytes: Buffer;
  expect: number[];
}> = [
  { encoding: 'u8', bytes: Buffer.from([0, 1, 127, 128, 129, 255]), expect: [-32768, -32512, -256, 0, 256, 32512] },
  {
    encoding: 's16le',
    bytes: Buffer.from([0x00, 0x80, 0xff, 0xff, 0x01, 0x00, 0xff, 0x7f, 0x34, 0x12]),
    expect: [-32768, -1, 1, 32767, 0x1234],
  },
  {
    encoding: 's16be',
    bytes: Buffer.from([0x80, 0x00, 0xff, 0xff, 0x00, 0x01, 0x7f, 0xff, 0x12, 0x34]),
    expect: [-32768, -1, 1, 32767, 0x1234],
  },
  {
    encoding: 's24le',
    // -2^23, -129 (rounds to -1), -128 (tie → 0), 127 (→ 0), 128 (tie → 1), 2^23-1 (→ 32768 → clip 32767)
    bytes: sampleBytes('s24le', [-8388608, -129, -128, 127, 128, 8388607]),
    expect: [-32768, -1, 0, 0, 1, 32767],
  },
  {
    encoding: 's32le',
    bytes: sampleBytes('s32le', [-2147483648, -32769, -32768, 32767, 32768, 2147483647]),
    expect: [-32768, -1, 0, 0, 1, 32767],
  },
  {
    encoding: 'f32le',
    bytes: sampleBytes('f32le', [-1.5, -1, -0.5, 0, 0.5, 32767 / 32768, 1, 1.5, NaN, -Infinity]),
    expect: [-32768, -32768, -16384, 0, 16384, 32767, 32767, 32767, 0, -32768],
  },
  {
    encoding: 'f64le',
    bytes: sampleBytes('f64le', [0.5 / 32768, -0.5 / 32768, 1.5 / 32768, -1.5 / 32768, 0.25, -1e-9]),
    expect: [1, 0, 2, -1, 8192, 0],
  },
  {
    encoding: 'mulaw',
    bytes: Buffer.from([0x00, 0x7f, 0x80, 0xff, 0x0f, 0x8f]),
    expect: [-32124, 0, 32124, 0, -16764, 16764],
  },
  {
    encoding: 'alaw',
    bytes: Buffer.from([0x55, 0xd5, 0x2a, 0xaa, 0x54, 0xd4]),
    expect: [-8, 8, -32256, 32256, -24, 24],
  },
];

t.test('every encoding decodes known bytes to the expected int16, at every split', async (t) => {
  t.same([...SAMPLE_ENCODINGS].sort(), KNOWN.map((k) => k.encoding).sort(), 'the table covers every encoding');
  for (const { encoding, bytes, expect } of KNOWN) {
    for (const how of SPLITS) {
      const d = await runDecoder(cut(bytes, how), decodePcm({ sampleRate: 8000, channels: 1, encoding }));
      t.same(Array.from(d.samples), expect, `${encoding} ${JSON.stringify(how)}`);
    }
  }
});

t.test('G.711 decoding equals sox for all 256 codes; encoding equals sox for all 65536 int16 values', async (t) => {
  t.same(Array.from(MULAW_TO_INT16), SOX.mulawDecoded);
  t.same(Array.from(ALAW_TO_INT16), SOX.alawDecoded);
  t.same(Array.from(mulawToInt16(ALL_CODES)), SOX.mulawDecoded);
  t.same(Array.from(alawToInt16(ALL_CODES)), SOX.alawDecoded);
  const all = Int16Array.from({ length: 65536 }, (_, i) => i - 32768);
  t.ok(Buffer.from(int16ToMulaw(all)).equals(SOX.mulawEncoded), 'µ-law encoder byte-identical to sox');
  t.ok(Buffer.from(int16ToAlaw(all)).equals(SOX.alawEncoded), 'A-law encoder byte-identical to sox');
  // Through the stream as well.
  for (const [encoding, expected] of [
    ['mulaw', SOX.mulawDecoded],
    ['alaw', SOX.alawDecoded],
  ] as const) {
    const d = await runDecoder(cut(ALL_CODES, { seed: 8, max: 40 }), decodePcm({ sampleRate: 8000, encoding }));
    t.same(Array.from(d.samples), expected, encoding);
  }
});

t.test('G.711 known values (ITU-T G.711) and encode/decode round trips', async (t) => {
  // µ-law: 0xFF/0x7F are ±0, 0x80/0x00 are ±32124 (8159 × 4 − 2 bias steps); A-law: 0xD5/0x55 are ±8, 0xAA/0x2A ±32256.
  t.same([encodeMulaw(0), encodeMulaw(32767), encodeMulaw(-32768), encodeMulaw(-1)], [0xff, 0x80, 0x00, 0xff]);
  t.same([encodeAlaw(0), encodeAlaw(32767), encodeAlaw(-32768), encodeAlaw(-1)], [0xd5, 0xaa, 0x2a, 0xd5]);
  let muBad = 0;
  let aBad = 0;
  for (let b = 0; b < 256; b++) {
    if (MULAW_TO_INT16[encodeMulaw(MULAW_TO_INT16[b]!)] !== MULAW_TO_INT16[b]) muBad++;
    if (encodeAlaw(ALAW_TO_INT16[b]!) !== b) aBad++;
  }
  t.equal(muBad, 0, 'µ-law: decode → encode → decode is the identity on levels');
  t.equal(aBad, 0, 'A-law: encode(decode(b)) === b for all 256 codes');
  // Quantisation error ≤ half the step of the chosen code's segment, plus the input rounding to 14 (µ) / 13 (A) bits.
  let muExcess = -Infinity;
  for (let x = -32124; x <= 32124; x++) {
    const c = encodeMulaw(x);
    const step = 8 << ((~c & 0x70) >> 4);
    muExcess = Math.max(muExcess, Math.abs(MULAW_TO_INT16[c]! - x) - (step / 2 + 2));
  }
  let aExcess = -Infinity;
  for (let x = -32256; x <= 32256; x++) {
    const c = encodeAlaw(x);
    const seg = ((c ^ 0x55) & 0x70) >> 4;
    const step = seg <= 1 ? 16 : 16 << (seg - 1);
    aExcess = Math.max(aExcess, Math.abs(ALAW_TO_INT16[c]! - x) - (step / 2 + 4));
  }
  t.equal(muExcess, 0, 'µ-law error ≤ step/2 + 2, and the bound is reached');
  t.equal(aExcess, 0, 'A-law error ≤ step/2 + 4, and the bound is reached');
});

t.test('formats helpers', async (t) => {
  t.same(SAMPLE_ENCODINGS.map(bytesPerSample), [1, 2, 2, 3, 4, 4, 8, 1, 1]);
  t.equal(isSampleEncoding('f32le'), true);
  t.equal(isSampleEncoding('toString'), false, 'not fooled by Object.prototype');
  t.equal(isSampleEncoding(3), false);
  t.same(
    [floatToInt16(1), floatToInt16(-1), floatToInt16(0.5), floatToInt16(-0), floatToInt16(NaN), floatToInt16(2)],
    [32767, -32768, 16384, 0, 0, 32767],
  );
  t.ok(Object.is(floatToInt16(-1e-9), 0), 'no negative zero');
});

t.test('stereo: channel order kept, sample frames straddling chunks carried', async (t) => {
  const values = Array.from({ length: 200 }, (_, i) => (i % 2 ? -1 : 1) * (i * 97));
  const bytes = sampleBytes(
    'f32le',
    values.map((v) => v / 32768),
  );
  for (const how of SPLITS) {
    const dec = decodePcm({ sampleRate: 48000, channels: 2, encoding: 'f32le' });
    const d = await runDecoder(cut(bytes, how), dec);
    t.same(Array.from(d.samples), values, JSON.stringify(how));
    t.equal(
      d.frames.filter(
        (f) => f.channels !== 2 || f.sampleRate !== 48000 || f.samplesPerChannel < 1 || !ownsBuffer(f.data),
      ).length,
      0,
    );
    if (how === 'whole') t.equal(d.frames.length, 1);
    if (how === 'bytes') t.equal(d.frames.length, 100, 'one frame per completed sample frame, none for 0 samples');
  }
});

t.test('a trailing partial sample frame is an error, after every whole frame before it', async (t) => {
  const bytes = sampleBytes('s16le', [1, 2, 3, 4, 5, 6]);
  for (const [channels, drop] of [
    [1, 1],
    [2, 1],
    [2, 2],
    [2, 3],
  ] as const) {
    for (const how of SPLITS) {
      const seen: Decoded = { frames: [], samples: new Int16Array(0), formatEvents: [] };
      const input = bytes.subarray(0, bytes.length - drop);
      await t.rejects(runDecoder(cut(input, how), decodePcm({ sampleRate: 8000, channels }), seen), {
        name: 'InvalidAudioError',
        code: 'ERR_PCM_PARTIAL_FRAME',
      });
      const whole = Math.floor(input.length / (2 * channels)) * channels;
      t.same(
        seen.frames.flatMap((f) => Array.from(f.data)),
        [1, 2, 3, 4, 5, 6].slice(0, whole),
        `${channels} ch −${drop} ${JSON.stringify(how)}`,
      );
    }
  }
});

t.test('the error after audio waits for a slow consumer to take that audio', async (t) => {
  const got: AudioFrame[] = [];
  const done = pipeline(
    Readable.from([Buffer.from([1, 0]), Buffer.from([2, 0]), Buffer.from([3])]),
    decodePcm({ sampleRate: 8000 }),
    new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(f: AudioFrame, _e, cb) {
        got.push(f);
        setTimeout(cb, 15);
      },
    }),
  );
  await t.rejects(done, { code: 'ERR_PCM_PARTIAL_FRAME' });
  t.same(
    got.flatMap((f) => Array.from(f.data)),
    [1, 2],
  );
});

t.test('a bad chunk right after audio lets that audio reach a busy consumer first', async (t) => {
  const got: AudioFrame[] = [];
  const done = pipeline(
    Readable.from([Buffer.from([1, 0]), Buffer.from([2, 0]), 'oops']),
    decodePcm({ sampleRate: 8000 }),
    new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(f: AudioFrame, _e, cb) {
        got.push(f);
        setTimeout(cb, 20);
      },
    }),
  );
  await t.rejects(done, { code: 'ERR_PCM_INPUT_TYPE' });
  t.same(
    got.flatMap((f) => Array.from(f.data)),
    [1, 2],
  );
});

t.test('non-byte chunks are a stream error, not a throw', async (t) => {
  for (const bad of ['abc', { a: 1 }, 42, [1, 2]]) {
    await t.rejects(runDecoder([Buffer.from([1, 0]), bad as unknown as Uint8Array], decodePcm({ sampleRate: 8000 })), {
      name: 'InvalidAudioError',
      code: 'ERR_PCM_INPUT_TYPE',
    });
  }
  // A Uint8Array view that is not a Buffer, at an odd offset, is fine.
  const backing = new Uint8Array([9, 1, 0, 2, 0]);
  const d = await runDecoder([backing.subarray(1)], decodePcm({ sampleRate: 8000 }));
  t.same(Array.from(d.samples), [1, 2]);
});

t.test('options are validated: ConfigError thrown by the factory', async (t) => {
  const bad: Array<[unknown, string]> = [
    [undefined, 'ERR_PCM_RATE'],
    [{}, 'ERR_PCM_RATE'],
    [{ sampleRate: 0 }, 'ERR_PCM_RATE'],
    [{ sampleRate: 8000.5 }, 'ERR_PCM_RATE'],
    [{ sampleRate: '8000' }, 'ERR_PCM_RATE'],
    [{ sampleRate: NaN }, 'ERR_PCM_RATE'],
    [{ sampleRate: 768001 }, 'ERR_PCM_RATE'],
    [{ sampleRate: 8000, channels: 0 }, 'ERR_PCM_CHANNELS'],
    [{ sampleRate: 8000, channels: 65 }, 'ERR_PCM_CHANNELS'],
    [{ sampleRate: 8000, channels: 1.5 }, 'ERR_PCM_CHANNELS'],
    [{ sampleRate: 8000, encoding: 'pcm' }, 'ERR_PCM_ENCODING'],
    [{ sampleRate: 8000, encoding: 's16' }, 'ERR_PCM_ENCODING'],
    [{ sampleRate: 8000, encoding: 'constructor' }, 'ERR_PCM_ENCODING'],
  ];
  for (const [opts, code] of bad) {
    t.throws(
      () => decodePcm(opts as Parameters<typeof decodePcm>[0]),
      { name: 'ConfigError', code },
      JSON.stringify(opts) ?? 'undefined',
    );
  }
  t.ok(new ConfigError('ERR_PCM_RATE', 'y') instanceof Error);
  const d = decodePcm({ sampleRate: 16000 });
  t.same([d.channels, d.encoding, d.blockAlign], [1, 's16le', 2], 'defaults: mono s16le');
});

t.test('highWaterMarks are explicit and bufferedMs counts frames and undecoded bytes', async (t) => {
  const dec = new DecodePcm({ sampleRate: 8000, channels: 2, encoding: 'mulaw' });
  t.equal(dec.readableHighWaterMark, 1);
  t.equal(dec.writableHighWaterMark, 1);
  t.equal(dec.bufferedMs, 0);
  dec.write(Buffer.alloc(160)); // 10 ms → a frame in the readable buffer
  dec.write(Buffer.alloc(80)); // 5 ms queued in the writable buffer
  dec.write(Buffer.alloc(0));
  await new Promise((r) => setImmediate(r));
  t.equal(dec.bufferedMs, 15);
  const frames: AudioFrame[] = [];
  dec.on('data', (f: AudioFrame) => frames.push(f));
  dec.end(Buffer.alloc(1)); // half a sample frame: held, then an error at the end
  const err = await new Promise<Error>((r) => dec.on('error', r));
  t.ok(err instanceof InvalidAudioError);
  t.same(
    frames.map((f) => f.samplesPerChannel),
    [80, 40],
  );
});
