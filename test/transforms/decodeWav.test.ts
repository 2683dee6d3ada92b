import t, { type Test } from 'tap';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import wav from 'wav';
import { decodeWav, DecodeWav, MAX_HEADER_CHUNK_BYTES, type WavFormatInfo } from '../../transforms/decodeWav.js';
import { InvalidAudioError } from '../../lib/errors.js';
import { ownsBuffer, type AudioFrame } from '../../lib/frames.js';
import {
  TAG,
  buildWav,
  chunk,
  cut,
  ksGuid,
  runDecoder,
  sampleBytes,
  type Decoded,
  type WavSpec,
} from '../helpers/wavBuilder.js';

const fixtures = fileURLToPath(new URL('../fixtures/', import.meta.url));
const s16 = (file: string): Int16Array => {
  const b = fs.readFileSync(file);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
};
const SPLITS = ['whole', 'bytes', { seed: 1, max: 5 }, { seed: 2, max: 64 }, { seed: 3, max: 1000 }] as const;

// Independent reference conversions (not lib/formats.ts): what each stored value must become in int16.
const clip16 = (v: number) => Math.max(-32768, Math.min(32767, v));
const REF = {
  u8: (v: number) => (v - 128) * 256,
  s16: (v: number) => v,
  s24: (v: number) => clip16(Math.floor(v / 256 + 0.5)),
  s32: (v: number) => clip16(Math.floor(v / 65536 + 0.5)),
  float: (v: number) => (Number.isNaN(v) ? 0 : clip16(Math.floor(Math.max(-1, Math.min(1, v)) * 32768 + 0.5))),
};
const G711 = {
  mulaw: s16(`${fixtures}g711/sox-mulaw-decoded.s16`),
  alaw: s16(`${fixtures}g711/sox-alaw-decoded.s16`),
};

const ALL_BYTES = Array.from({ length: 256 }, (_, i) => i);
const F32_VALUES = [
  -2,
  -1,
  -0.999,
  -0.5,
  -1 / 65536,
  -0,
  0,
  1 / 65536,
  1.5 / 32768,
  0.25,
  0.5,
  32767 / 32768,
  0.99999,
  1,
  1.5,
  Infinity,
  NaN,
];
// f64 adds exact ties (k + 1/2)/32768: round half up.
const F64_VALUES = [...F32_VALUES, 0.5 / 32768, -0.5 / 32768, 100.5 / 32768, -100.5 / 32768, 1e-300];

interface FormatCase {
  name: string;
  tag: number;
  bits: number;
  enc: Parameters<typeof sampleBytes>[0] | 'g711';
  values: number[];
  expect: (v: number) => number;
  encoding: WavFormatInfo['encoding'];
}

const FORMATS: FormatCase[] = [
  { name: 'PCM u8', tag: TAG.pcm, bits: 8, enc: 'u8', values: ALL_BYTES, expect: REF.u8, encoding: 'pcm' },
  {
    name: 'PCM s16',
    tag: TAG.pcm,
    bits: 16,
    enc: 's16le',
    values: [-32768, -32767, -1, 0, 1, 12345, 32767],
    expect: REF.s16,
    encoding: 'pcm',
  },
  {
    name: 'PCM s24',
    tag: TAG.pcm,
    bits: 24,
    enc: 's24le',
    values: [-8388608, -8388480, -8388479, -129, -128, -127, -1, 0, 1, 127, 128, 383, 384, 8388479, 8388480, 8388607],
    expect: REF.s24,
    encoding: 'pcm',
  },
  {
    name: 'PCM s32',
    tag: TAG.pcm,
    bits: 32,
    enc: 's32le',
    values: [
      -2147483648, -32769, -32768, -32767, -1, 0, 32767, 32768, 98303, 98304, 2147450879, 2147450880, 2147483647,
    ],
    expect: REF.s32,
    encoding: 'pcm',
  },
  { name: 'float32', tag: TAG.float, bits: 32, enc: 'f32le', values: F32_VALUES, expect: REF.float, encoding: 'float' },
  { name: 'float64', tag: TAG.float, bits: 64, enc: 'f64le', values: F64_VALUES, expect: REF.float, encoding: 'float' },
  {
    name: 'µ-law',
    tag: TAG.mulaw,
    bits: 8,
    enc: 'g711',
    values: ALL_BYTES,
    expect: (b) => G711.mulaw[b]!,
    encoding: 'mulaw',
  },
  {
    name: 'A-law',
    tag: TAG.alaw,
    bits: 8,
    enc: 'g711',
    values: ALL_BYTES,
    expect: (b) => G711.alaw[b]!,
    encoding: 'alaw',
  },
];

/** Interleave `values` with channel c holding the values rotated by c (so channels differ). */
function interleave(values: number[], channels: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < values.length; i++)
    for (let c = 0; c < channels; c++) out.push(values[(i + c * 5) % values.length]!);
  return out;
}

function encode(fc: FormatCase, values: number[]): Buffer {
  return fc.enc === 'g711' ? Buffer.from(values) : sampleBytes(fc.enc, values);
}

function checkFrames(t: Test, d: Decoded, rate: number, channels: number): void {
  let bad = 0;
  for (const f of d.frames) {
    if (f.sampleRate !== rate || f.channels !== channels || f.samplesPerChannel < 1) bad++;
    if (f.data.length !== f.samplesPerChannel * channels || !ownsBuffer(f.data)) bad++;
  }
  t.equal(bad, 0, 'every frame: right rate/channels, ≥ 1 sample, owns its buffer at offset 0');
}

t.test('every supported format, plain and extensible, mono and stereo, at every split, is sample-exact', async (t) => {
  for (const fc of FORMATS) {
    for (const extensible of [false, true]) {
      for (const channels of [1, 2]) {
        const values = interleave(fc.values, channels);
        const expected = Int16Array.from(values, fc.expect);
        const file = buildWav({
          tag: fc.tag,
          channels,
          sampleRate: 22050,
          bitsPerSample: fc.bits,
          extensible,
          data: encode(fc, values),
        });
        for (const how of SPLITS) {
          const label = `${fc.name}${extensible ? ' extensible' : ''} ${channels} ch, ${JSON.stringify(how)}`;
          const d = await runDecoder(cut(file, how), decodeWav());
          t.same(Array.from(d.samples), Array.from(expected), label);
          checkFrames(t, d, 22050, channels);
          t.same(d.formatEvents, [
            {
              encoding: fc.encoding,
              sampleRate: 22050,
              channels,
              bitsPerSample: fc.bits,
              blockAlign: (channels * fc.bits) / 8,
              dataBytes: values.length * (fc.bits / 8),
            },
          ]);
          if (how === 'whole') t.equal(d.frames.length, 1, 'one input chunk → one frame');
          if (how === 'bytes')
            t.equal(d.frames.length, values.length / channels, '1-byte writes → one frame per completed sample frame');
        }
      }
    }
  }
});

t.test('extensible with fewer valid bits than the container decodes by container size', async (t) => {
  // 20 valid bits in a 24-bit container: samples are left-justified, low 4 bits zero.
  const values = [-8388608, -4096, 0, 4096, 8388592];
  const file = buildWav({
    tag: TAG.pcm,
    channels: 1,
    sampleRate: 48000,
    bitsPerSample: 24,
    extensible: true,
    validBits: 20,
    data: sampleBytes('s24le', values),
  });
  const d = await runDecoder([file], decodeWav());
  t.same(Array.from(d.samples), values.map(REF.s24));
  t.equal((d.formatEvents[0] as WavFormatInfo).bitsPerSample, 24);
});

const PCM = sampleBytes('s16le', [100, -100, 200, -200, 300, -300]);
const PCM_SAMPLES = [100, -100, 200, -200, 300, -300];
const stereo16 = { tag: TAG.pcm, channels: 2, sampleRate: 16000, bitsPerSample: 16 } as const;

t.test('extra chunks before and after fmt and after data, odd sizes with their pad bytes', async (t) => {
  const cases: Record<string, Partial<WavSpec>> = {
    'LIST and JUNK before fmt': {
      before: [chunk('LIST', Buffer.from('INFOISFT\x05\x00\x00\x00abcde\x00')), chunk('JUNK', Buffer.alloc(28))],
    },
    'bext, fact, LIST between fmt and data': {
      between: [
        chunk('bext', Buffer.alloc(602, 0x41)),
        chunk('fact', Buffer.from([3, 0, 0, 0])),
        chunk('LIST', Buffer.from('INFOx')),
      ],
    },
    'odd-sized chunks (pad byte) everywhere': {
      before: [chunk('odd1', Buffer.from('a'))],
      between: [chunk('odd3', Buffer.from('abc')), chunk('zero', Buffer.alloc(0))],
      after: [chunk('odd5', Buffer.from('abcde')), chunk('LIST', Buffer.from('INFO'))],
    },
    'pad byte is 0xFF, not zero': {
      between: [Buffer.concat([chunk('odd3', Buffer.from('abc'), 3, false), Buffer.from([0xff])])],
    },
    'chunks after data': {
      after: [chunk('LIST', Buffer.alloc(40, 7)), chunk('id3 ', Buffer.alloc(9, 1)), chunk('cue ', Buffer.alloc(4))],
    },
    'a size-0 chunk': { between: [chunk('LIST', Buffer.alloc(0))] },
    'a ds64 chunk in a plain RIFF file is just skipped': { between: [chunk('ds64', Buffer.alloc(28, 0xee))] },
  };
  for (const [name, extra] of Object.entries(cases)) {
    const file = buildWav({ ...stereo16, data: PCM, ...extra });
    for (const how of SPLITS) {
      const d = await runDecoder(cut(file, how), decodeWav());
      t.same(Array.from(d.samples), PCM_SAMPLES, `${name}, ${JSON.stringify(how)}`);
    }
  }
});

t.test(
  'odd-sized data chunk: pad byte skipped before the next chunk, and may be missing at the end of the file',
  async (t) => {
    const data = Buffer.from([0, 128, 255]); // 8-bit mono, 3 samples
    const mono8 = { tag: TAG.pcm, channels: 1, sampleRate: 8000, bitsPerSample: 8, data } as const;
    for (const how of SPLITS) {
      const withPad = await runDecoder(
        cut(buildWav({ ...mono8, after: [chunk('LIST', Buffer.from('INFO'))] }), how),
        decodeWav(),
      );
      t.same(Array.from(withPad.samples), [-32768, 0, 32512]);
      const noPad = await runDecoder(cut(buildWav({ ...mono8, noDataPad: true }), how), decodeWav());
      t.same(Array.from(noPad.samples), [-32768, 0, 32512]);
    }
  },
);

t.test('streamed files: RIFF and/or data sizes 0 or 0xFFFFFFFF are read to the end of the input', async (t) => {
  const sizes: Array<[number, number]> = [
    [0, 0],
    [0xffffffff, 0xffffffff],
    [0, 0xffffffff],
    [0xffffffff, 0],
    [36, 0], // RIFF size written for an empty file, data appended afterwards
  ];
  for (const [riffSize, dataSize] of sizes) {
    for (const how of SPLITS) {
      const d = await runDecoder(cut(buildWav({ ...stereo16, data: PCM, riffSize, dataSize }), how), decodeWav());
      t.same(Array.from(d.samples), PCM_SAMPLES, `RIFF ${riffSize} data ${dataSize} ${JSON.stringify(how)}`);
      t.equal((d.formatEvents[0] as WavFormatInfo).dataBytes, undefined, 'dataBytes unknown');
    }
  }
});

t.test(
  'size placeholders (sox 0x7FFFF000, wav Writer 2^32−101) are upper bounds: a shorter input is not truncated',
  async (t) => {
    for (const size of [0x7ffff000, 4294967295 - 100]) {
      const d = await runDecoder(
        [buildWav({ ...stereo16, data: PCM, riffSize: size + 36, dataSize: size })],
        decodeWav(),
      );
      t.same(Array.from(d.samples), PCM_SAMPLES);
      t.equal((d.formatEvents[0] as WavFormatInfo).dataBytes, undefined);
    }
  },
);

t.test('trailing bytes after the end of a RIFF form with a real size are ignored', async (t) => {
  const file = Buffer.concat([buildWav({ ...stereo16, data: PCM }), Buffer.from([1, 2, 3])]);
  const d = await runDecoder(cut(file, 'bytes'), decodeWav());
  t.same(Array.from(d.samples), PCM_SAMPLES);
});

t.test('RF64 / BW64: data size from the ds64 chunk', async (t) => {
  const ds64 = (dataSize: number) => {
    const b = Buffer.alloc(28);
    b.writeBigUInt64LE(BigInt(dataSize + 100), 0);
    b.writeBigUInt64LE(BigInt(dataSize), 8);
    b.writeBigUInt64LE(BigInt(dataSize / 4), 16);
    return chunk('ds64', b);
  };
  for (const magic of ['RF64', 'BW64']) {
    for (const how of SPLITS) {
      const file = buildWav({
        ...stereo16,
        data: PCM,
        magic,
        riffSize: 0xffffffff,
        dataSize: 0xffffffff,
        before: [ds64(PCM.length)],
        after: [chunk('LIST', Buffer.alloc(6))],
      });
      const d = await runDecoder(cut(file, how), decodeWav());
      t.same(Array.from(d.samples), PCM_SAMPLES, `${magic} ${JSON.stringify(how)}`);
      t.equal((d.formatEvents[0] as WavFormatInfo).dataBytes, PCM.length);
    }
  }
  // A truncated RF64 file is detected through the ds64 size.
  const short = buildWav({
    ...stereo16,
    data: PCM,
    magic: 'RF64',
    riffSize: 0xffffffff,
    dataSize: 0xffffffff,
    before: [ds64(PCM.length + 8)],
  });
  await t.rejects(runDecoder([short], decodeWav()), { code: 'ERR_WAV_TRUNCATED' });
});

t.test(
  'truncated data chunk: the audio that is there comes out, then ERR_WAV_TRUNCATED (or a clean end with allowTruncated)',
  async (t) => {
    const values = Array.from({ length: 100 }, (_, i) => i * 100 - 5000);
    const full = buildWav({
      tag: TAG.pcm,
      channels: 1,
      sampleRate: 8000,
      bitsPerSample: 16,
      data: sampleBytes('s16le', values),
    });
    for (const keep of [60, 61]) {
      // 60 whole samples, and 60 samples plus one byte of the 61st
      const file = full.subarray(0, 44 + keep * 2 - (keep === 61 ? 1 : 0));
      for (const how of SPLITS) {
        const seen: Decoded = { frames: [], samples: new Int16Array(0), formatEvents: [] };
        await t.rejects(runDecoder(cut(file, how), decodeWav(), seen), {
          name: 'InvalidAudioError',
          code: 'ERR_WAV_TRUNCATED',
        });
        const got = seen.frames.flatMap((f) => Array.from(f.data));
        t.same(got, values.slice(0, 60), `${keep} ${JSON.stringify(how)}: all whole samples before the error`);
        const dec = decodeWav({ allowTruncated: true });
        const ok = await runDecoder(cut(file, how), dec);
        t.same(Array.from(ok.samples), values.slice(0, 60));
        t.equal(dec.truncated, true);
      }
    }
    const complete = decodeWav({ allowTruncated: true });
    await runDecoder([full], complete);
    t.equal(complete.truncated, false, 'a complete file is not flagged');
  },
);

t.test('allowTruncated also covers a cut inside a chunk after the data; never a cut header', async (t) => {
  const file = buildWav({ ...stereo16, data: PCM, after: [chunk('LIST', Buffer.alloc(100))] });
  const cutFile = file.subarray(0, file.length - 50);
  await t.rejects(runDecoder([cutFile], decodeWav()), { code: 'ERR_WAV_TRUNCATED' });
  const d = await runDecoder([cutFile], decodeWav({ allowTruncated: true }));
  t.same(Array.from(d.samples), PCM_SAMPLES);
  await t.rejects(runDecoder([file.subarray(0, 30)], decodeWav({ allowTruncated: true })), {
    code: 'ERR_WAV_TRUNCATED',
  });
});

t.test('an error after audio is delivered after that audio, even to a slow consumer', async (t) => {
  const file = buildWav({ ...stereo16, data: PCM, dataSize: PCM.length + 4 });
  const got: AudioFrame[] = [];
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(frame: AudioFrame, _e, cb) {
      got.push(frame);
      setTimeout(cb, 20);
    },
  });
  const dec = decodeWav();
  const src = new PassThrough({ objectMode: true });
  const done = pipeline(src, dec, sink);
  // Two frames queued ahead of a slow sink, then end of input.
  src.write(file.subarray(0, 50));
  src.write(file.subarray(50));
  src.end();
  await t.rejects(done, { code: 'ERR_WAV_TRUNCATED' });
  t.same(
    got.flatMap((f) => Array.from(f.data)),
    PCM_SAMPLES,
  );
});

t.test('an error found in the same chunk as audio still lets that audio reach a busy consumer first', async (t) => {
  // Frame 1 keeps the sink busy; chunk 2 holds 3 samples and then a second data chunk (ERR_WAV_DUPLICATE_CHUNK):
  // its frame waits in the readable buffer while the error is found.
  const file = buildWav({ ...stereo16, data: PCM, after: [chunk('data', PCM)] });
  const got: AudioFrame[] = [];
  const done = pipeline(
    Readable.from([file.subarray(0, 48), file.subarray(48)]),
    decodeWav(),
    new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(frame: AudioFrame, _e, cb) {
        got.push(frame);
        setTimeout(cb, 20);
      },
    }),
  );
  await t.rejects(done, { code: 'ERR_WAV_DUPLICATE_CHUNK' });
  t.same(
    got.map((f) => f.samplesPerChannel),
    [1, 2],
  );
  t.same(
    got.flatMap((f) => Array.from(f.data)),
    PCM_SAMPLES,
  );
});

t.test('format event comes once, before the first frame, and .format matches', async (t) => {
  const dec = decodeWav();
  const order: string[] = [];
  dec.on('format', () => order.push('format'));
  dec.on('data', () => order.push('frame'));
  t.equal(dec.format, undefined);
  await pipeline(
    Readable.from(cut(buildWav({ ...stereo16, data: PCM }), 'bytes')),
    dec,
    new PassThrough({ objectMode: true }).resume(),
  );
  t.same(order, ['format', 'frame', 'frame', 'frame']);
  t.same(dec.format, {
    encoding: 'pcm',
    sampleRate: 16000,
    channels: 2,
    bitsPerSample: 16,
    blockAlign: 4,
    dataBytes: 12,
  });
});

t.test('highWaterMarks are explicit and bufferedMs counts queued frames and undecoded bytes', async (t) => {
  const dec = new DecodeWav();
  t.equal(dec.readableHighWaterMark, 1);
  t.equal(dec.writableHighWaterMark, 1);
  t.equal(dec.readableObjectMode, true);
  t.equal(dec.bufferedMs, 0);
  const tenMs = sampleBytes('s16le', new Array(480).fill(7)); // 10 ms mono 48 kHz
  const file = buildWav({
    tag: TAG.pcm,
    channels: 1,
    sampleRate: 48000,
    bitsPerSample: 16,
    data: Buffer.concat([tenMs, tenMs, tenMs]),
  });
  dec.write(file.subarray(0, 44 + 960)); // header + 10 ms → one frame queued on the readable side
  dec.write(file.subarray(44 + 960, 44 + 1920)); // waits in the writable buffer (readable side full)
  dec.write(file.subarray(44 + 1920, 44 + 1921)); // one byte: half a sample, queued
  await new Promise((r) => setImmediate(r));
  t.ok(
    Math.abs(dec.bufferedMs - (10 + 10 + 1 / 96)) < 1e-9,
    `10 ms of frames + 10 ms + 1 byte of undecoded input: ${dec.bufferedMs}`,
  );
  const frames: AudioFrame[] = [];
  dec.on('data', (f: AudioFrame) => frames.push(f));
  dec.end(file.subarray(44 + 1921));
  await new Promise((r) => dec.on('end', r));
  t.equal(dec.bufferedMs, 0);
  t.same(
    frames.map((f) => f.samplesPerChannel),
    [480, 480, 480],
  );
});

t.test('files written by sox and ffmpeg decode equal to what sox decodes them to', async (t) => {
  const dir = `${fixtures}wav/`;
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.wav'));
  t.ok(files.length >= 14, `${files.length} fixture files`);
  for (const f of files) {
    const file = fs.readFileSync(dir + f);
    const expected = Array.from(s16(dir + f.replace(/\.wav$/, '.s16')));
    for (const how of ['whole', 'bytes', { seed: 9, max: 300 }] as const) {
      const d = await runDecoder(cut(file, how), decodeWav());
      t.same(Array.from(d.samples), expected, `${f} ${JSON.stringify(how)}`);
    }
  }
  const pipe = await runDecoder([fs.readFileSync(`${dir}ffmpeg-pipe-s16.wav`)], decodeWav());
  t.equal((pipe.formatEvents[0] as WavFormatInfo).dataBytes, undefined, 'ffmpeg pipe output: sizes 0xFFFFFFFF');
  const soxPipe = await runDecoder([fs.readFileSync(`${dir}sox-pipe-s16.wav`)], decodeWav());
  t.equal((soxPipe.formatEvents[0] as WavFormatInfo).dataBytes, undefined, 'sox pipe output: 0x7FFFF000 placeholder');
  t.equal(soxPipe.samples.length, 160);
});

/** What wav.Reader outputs for `file`: its format and its raw data bytes. */
async function wavOracle(
  file: Buffer,
): Promise<{ format: { bitDepth: number; channels: number; sampleRate: number }; data: Buffer }> {
  const reader = new wav.Reader();
  let format: { bitDepth: number; channels: number; sampleRate: number } | undefined;
  reader.on('format', (f) => (format = f));
  const parts: Buffer[] = [];
  reader.on('data', (c: Buffer) => parts.push(c));
  await new Promise<void>((resolve, reject) => {
    reader.on('end', resolve);
    reader.on('error', reject);
    reader.end(file);
  });
  return { format: format!, data: Buffer.concat(parts) };
}

t.test('oracle: on well-formed PCM files our output equals wav.Reader’s, sample for sample', async (t) => {
  const files = [
    fs.readFileSync(`${fixtures}wav/sox-s16.wav`),
    fs.readFileSync(`${fixtures}wav/sox-u8.wav`),
    fs.readFileSync(`${fixtures}wav/ffmpeg-s16.wav`),
    fs.readFileSync(`${fixtures}compressed/stereo.wav`),
    buildWav({
      tag: TAG.pcm,
      channels: 1,
      sampleRate: 44100,
      bitsPerSample: 16,
      data: sampleBytes(
        's16le',
        Array.from({ length: 4410 }, (_, i) => Math.round(30000 * Math.sin(i / 7))),
      ),
    }),
  ];
  for (const file of files) {
    const oracle = await wavOracle(file);
    const ours = await runDecoder(cut(file, { seed: 4, max: 4096 }), decodeWav());
    const expected =
      oracle.format.bitDepth === 8
        ? Array.from(oracle.data, (b) => (b - 128) * 256)
        : Array.from(
            new Int16Array(
              oracle.data.buffer.slice(oracle.data.byteOffset, oracle.data.byteOffset + oracle.data.length),
            ),
          );
    t.ok(expected.length > 100);
    t.same(
      Array.from(ours.samples),
      expected,
      `${oracle.format.bitDepth}-bit ${oracle.format.channels} ch ${oracle.format.sampleRate} Hz`,
    );
    t.equal(ours.frames[0]!.sampleRate, oracle.format.sampleRate);
    t.equal(ours.frames[0]!.channels, oracle.format.channels);
  }
});

t.test('why not the wav package: its defects, probed in child processes', async (t) => {
  const probe = fileURLToPath(new URL('../helpers/wavPackageProbe.cjs', import.meta.url));
  const run = async (c: string) =>
    (await promisify(execFile)(process.execPath, [probe, c], { timeout: 20000 })).stdout.trim();
  t.match(await run('ok'), /^ended .*out=01000200$/, 'a well-formed file works');
  t.match(await run('size0'), /^UNCAUGHT .*AssertionError/, 'a size-0 chunk throws past pipeline()');
  t.match(await run('pad'), /^ended .*out=$/, 'odd chunk: pad byte not skipped, all audio silently lost');
  t.match(await run('truncated'), /^ended format=null out=$/, 'truncated header: ends with no format and no error');
  t.match(await run('extfloat'), /"audioFormat":65534(?!.*float)/, 'extensible float not flagged as float');
  t.match(await run('mulaw'), /"ulaw":true.*out=00ff807f$/, 'µ-law flagged but passed through undecoded');
  t.match(await run('chunkBeforeFmt'), /^rejected .*expected "fmt ", got "JUNK"/, 'a chunk before fmt is rejected');
});

t.test('our decoder on the same probe inputs', async (t) => {
  // (The size-0, pad and truncated cases are in the tests above and in malformedWav.test.ts.)
  const ext = buildWav({
    tag: TAG.float,
    channels: 1,
    sampleRate: 8000,
    bitsPerSample: 32,
    extensible: true,
    data: sampleBytes('f32le', [0.5, -0.25]),
  });
  const d = await runDecoder([ext], decodeWav());
  t.equal((d.formatEvents[0] as WavFormatInfo).encoding, 'float');
  t.same(Array.from(d.samples), [16384, -8192]);
  const mu = buildWav({
    tag: TAG.mulaw,
    channels: 1,
    sampleRate: 8000,
    bitsPerSample: 8,
    data: Buffer.from([0x00, 0xff, 0x80, 0x7f]),
  });
  t.same(Array.from((await runDecoder([mu], decodeWav())).samples), [-32124, 0, 32124, 0]);
});

t.test('a non-standard but valid GUID-based format still names the subformat', async (t) => {
  // KSDATAFORMAT_SUBTYPE_ALAW via extensible
  const file = buildWav({
    tag: TAG.alaw,
    channels: 1,
    sampleRate: 8000,
    bitsPerSample: 8,
    extensible: true,
    subFormat: ksGuid(TAG.alaw),
    data: Buffer.from([0xd5, 0x55]),
  });
  const d = await runDecoder([file], decodeWav());
  t.same(Array.from(d.samples), [8, -8]);
});

t.test('the fmt cap is exported and enforced at the limit', async (t) => {
  t.equal(MAX_HEADER_CHUNK_BYTES, 4096);
  const fmtBig = Buffer.alloc(MAX_HEADER_CHUNK_BYTES);
  Buffer.from([1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0]).copy(fmtBig);
  const head = Buffer.from('RIFF\0\0\0\0WAVE', 'latin1');
  const ok = Buffer.concat([head, chunk('fmt ', fmtBig), chunk('data', PCM)]);
  t.same(Array.from((await runDecoder([ok], decodeWav())).samples), PCM_SAMPLES, 'a 4096-byte fmt chunk is accepted');
  const big = Buffer.concat([head, chunk('fmt ', Buffer.alloc(MAX_HEADER_CHUNK_BYTES + 2)), chunk('data', PCM)]);
  await t.rejects(
    runDecoder([big], decodeWav()),
    new InvalidAudioError('ERR_WAV_CHUNK_SIZE', '"fmt " chunk at offset 12 declares 4098 bytes (limit 4096)'),
  );
});

t.test(
  'PCM in a container wider than its bit depth (blockAlign): 12 in 16, 20 in 24 read as the container; 24 in 32 as ALSA S24_LE',
  async (t) => {
    const header = (bits: number, blockAlign: number, dataBytes: number) => {
      const h = Buffer.alloc(44);
      h.write('RIFF', 0, 'latin1');
      h.writeUInt32LE(36 + dataBytes, 4);
      h.write('WAVEfmt ', 8, 'latin1');
      h.writeUInt32LE(16, 16);
      h.writeUInt16LE(1, 20);
      h.writeUInt16LE(1, 22);
      h.writeUInt32LE(8000, 24);
      h.writeUInt32LE(8000 * blockAlign, 28);
      h.writeUInt16LE(blockAlign, 32);
      h.writeUInt16LE(bits, 34);
      h.write('data', 36, 'latin1');
      h.writeUInt32LE(dataBytes, 40);
      return h;
    };
    const values = [-32768, -4096, -16, 0, 16, 4096, 32752];
    const le16 = Buffer.alloc(values.length * 2);
    values.forEach((v, i) => le16.writeInt16LE(v, i * 2));
    const twelve = await runDecoder([Buffer.concat([header(12, 2, le16.length), le16])], decodeWav());
    t.same(Array.from(twelve.samples), values, '12-in-16: the container, left-justified (low 4 bits zero)');
    const le24 = Buffer.alloc(values.length * 3);
    values.forEach((v, i) => le24.writeIntLE(v * 256, i * 3, 3));
    const twenty = await runDecoder([Buffer.concat([header(20, 3, le24.length), le24])], decodeWav());
    t.same(Array.from(twenty.samples), values, '20-in-24: the container');
    const le32 = Buffer.alloc(values.length * 4, 0xee); // the high byte of each S24_LE slot is not audio
    values.forEach((v, i) => le32.writeIntLE(v * 256, i * 4, 3));
    const s24in32 = await runDecoder([Buffer.concat([header(24, 4, le32.length), le32])], decodeWav());
    t.same(
      Array.from(s24in32.samples),
      values,
      '24-in-32 (plain header, as arecord -f S24_LE writes): the low three bytes',
    );
    t.match(s24in32.formatEvents[0], { blockAlign: 4, bitsPerSample: 24 });
  },
);
