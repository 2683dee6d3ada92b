import t from 'tap';
import fs from 'node:fs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  decodeFile,
  DecodeFile,
  sniffSampleRate,
  type DecodedFileFormat,
  type DecodeFileOptions,
  type DecodeFileSource,
} from '../../transforms/decodeFile.js';
import { ownsBuffer, type AudioFrame } from '../../lib/frames.js';
import { streamedBlocks } from '../../transforms/streamedBlocks.js';
import { channel, concatFrames, prng, sineFitSnrDb, toneLevelDb } from '../helpers/signals.js';

const dir = fileURLToPath(new URL('../fixtures/compressed/', import.meta.url));
const fixture = (name: string) => `${dir}${name}`;
const TONE_DB = 20 * Math.log10((0.5 * 32768) / 32767); // the fixtures: a 1 kHz sine at half scale (sox vol 0.5)

interface Result {
  frames: AudioFrame[];
  samples: Int16Array;
  format: DecodedFileFormat | undefined;
  formatBeforeFirstFrame: boolean;
}

async function decode(source?: DecodeFileSource, options?: DecodeFileOptions, input?: Readable): Promise<Result> {
  const dec = source === undefined ? decodeFile(options) : decodeFile(source, options);
  const frames: AudioFrame[] = [];
  let formatBeforeFirstFrame = false;
  dec.on('format', () => (formatBeforeFirstFrame = frames.length === 0));
  const sink = new Writable({
    objectMode: true,
    highWaterMark: 1,
    write(f: AudioFrame, _e, cb) {
      frames.push(f);
      cb();
    },
  });
  if (input) await pipeline(input, dec, sink);
  else await pipeline(dec, sink);
  return { frames, samples: concatFrames(frames), format: dec.format, formatBeforeFirstFrame };
}

/** Frequency from interpolated zero crossings (rising and falling) between the first and the last one. */
function zeroCrossingHz(x: ArrayLike<number>, rate: number): number {
  const at: number[] = [];
  for (let i = 1; i < x.length; i++) {
    const a = x[i - 1]!;
    const b = x[i]!;
    if ((a < 0 && b >= 0) || (a >= 0 && b < 0)) at.push(i - 1 + a / (a - b));
  }
  return ((at.length - 1) / 2) * (rate / (at.at(-1)! - at[0]!));
}

/** Per codec: minimum SNR of the decoded 1 kHz sine (sine fit; the lossy encoders at these bitrates set it). */
const CODECS = {
  'tone.flac': { kind: 'FLAC', snr: 80, levelTol: 0.05 },
  'tone.oga': { kind: 'Ogg FLAC', snr: 80, levelTol: 0.05 },
  'tone.mp3': { kind: 'MP3 64k', snr: 60, levelTol: 0.6 },
  'tone.ogg': { kind: 'Ogg Vorbis q3', snr: 35, levelTol: 0.3 },
  'tone.aac': { kind: 'AAC 64k (ADTS)', snr: 28, levelTol: 0.3 },
  'tone.m4a': { kind: 'AAC 64k (MP4)', snr: 28, levelTol: 0.3 },
} as const;

t.test('MP3, FLAC, Ogg, AAC: a 300 ms 1 kHz sine comes out 300 ms long, at 1 kHz, at its level, clean', async (t) => {
  for (const [name, c] of Object.entries(CODECS)) {
    for (const rate of [48000, 44100, 16000, 8000]) {
      const r = await decode(fixture(name), { sampleRate: rate });
      const ms = (r.samples.length * 1000) / rate;
      // Codec priming/padding adds up to ~40 ms (MP3 decoder delay + frame padding); nothing may be missing.
      t.ok(ms >= 299.9 && ms <= 345, `${c.kind} @${rate}: ${ms.toFixed(1)} ms`);
      t.equal(r.format?.samplesPerChannel, r.samples.length, 'format announces the exact length');
      t.equal(r.format?.sourceSampleRate, 44100, 'read from the header');
      t.equal(r.format?.sourceChannels, 1);
      // The steady middle (skip codec onset/tail): 100..250 ms.
      const mid = r.samples.subarray(Math.round(rate * 0.1), Math.round(rate * 0.25));
      const hz = zeroCrossingHz(mid, rate);
      t.ok(Math.abs(hz - 1000) < 0.5, `${c.kind} @${rate}: ${hz.toFixed(2)} Hz`);
      const level = toneLevelDb(mid, rate, 1000);
      t.ok(
        Math.abs(level - TONE_DB) < c.levelTol,
        `${c.kind} @${rate}: level ${level.toFixed(2)} dB, expected ${TONE_DB.toFixed(2)}`,
      );
      const snr = sineFitSnrDb(mid, rate, 1000);
      t.ok(snr > c.snr, `${c.kind} @${rate}: SNR ${snr.toFixed(1)} dB > ${c.snr}`);
    }
  }
});

t.test(
  'lossless at every output rate: decoding at the file rate + speex beats decodeAudioData resampling',
  async (t) => {
    // FLAC is lossless: whatever noise the output has, the rate change made it.
    const snrAt = async (source: Uint8Array | string, rate: number) => {
      const r = await decode(source, { sampleRate: rate });
      return {
        snr: sineFitSnrDb(r.samples.subarray(Math.round(rate * 0.1), Math.round(rate * 0.25)), rate, 1000),
        format: r.format!,
      };
    };
    for (const rate of [48000, 16000, 8000]) {
      const ours = await snrAt(fixture('tone.flac'), rate);
      t.ok(ours.snr > 85, `FLAC 44.1k → ${rate}: ${ours.snr.toFixed(1)} dB`);
    }
    // An MP3 behind 70 kB of zeros: its header is beyond what sniffSampleRate scans, so decodeAudioData resamples.
    const hidden = Buffer.concat([Buffer.alloc(70000), fs.readFileSync(fixture('tone.mp3'))]);
    t.equal(sniffSampleRate(hidden), undefined);
    const fallback = await snrAt(hidden, 48000);
    t.equal(fallback.format.sourceSampleRate, undefined, 'the fallback is visible in the format');
    t.ok(fallback.snr > 25 && fallback.snr < 45, `decodeAudioData's own 44.1k → 48k: ${fallback.snr.toFixed(1)} dB`);
    const direct = await snrAt(fixture('tone.mp3'), 48000);
    t.ok(direct.snr > fallback.snr + 20, `same MP3 via speex: ${direct.snr.toFixed(1)} dB`);
  },
);

t.test('sniffSampleRate reads each container header', async (t) => {
  for (const name of [
    'tone.flac',
    'tone.oga',
    'tone.mp3',
    'tone.ogg',
    'tone.aac',
    'tone.m4a',
    'tone-moov-at-end.m4a',
    'stereo.wav',
  ]) {
    t.equal(sniffSampleRate(fs.readFileSync(fixture(name))), 44100, name);
  }
  t.equal(sniffSampleRate(fs.readFileSync(fixture('tone.opus'))), undefined, 'Opus: not read (streamed, not native)');
  const mpeg = (b1: number, b2: number) => Buffer.from([0, 0, 0xff, b1, b2, 0]);
  t.equal(sniffSampleRate(mpeg(0xfb, 0x90)), 44100, 'MPEG-1 layer 3');
  t.equal(sniffSampleRate(mpeg(0xfb, 0x94)), 48000);
  t.equal(sniffSampleRate(mpeg(0xf3, 0x98)), 16000, 'MPEG-2 layer 3');
  t.equal(sniffSampleRate(mpeg(0xe3, 0x98)), 8000, 'MPEG-2.5 layer 3');
  t.equal(sniffSampleRate(mpeg(0xfb, 0x9c)), undefined, 'reserved rate index');
  t.equal(sniffSampleRate(mpeg(0xfb, 0xf0)), undefined, 'bad bitrate index');
  t.equal(sniffSampleRate(mpeg(0xeb, 0x90)), undefined, 'reserved version');
  t.equal(sniffSampleRate(mpeg(0xf1, 0x5c)), 22050, 'ADTS, index 7');
  t.equal(sniffSampleRate(mpeg(0xf1, 0x60)), 16000, 'ADTS, index 8');
  t.equal(sniffSampleRate(mpeg(0xf1, 0x3c)), undefined, 'ADTS, reserved index 15');
  const id3 = Buffer.concat([
    Buffer.from('ID3\x04\x00\x00\x00\x00\x01\x00', 'latin1'),
    Buffer.alloc(128, 0xff),
    mpeg(0xfb, 0x94),
  ]);
  t.equal(sniffSampleRate(id3), 48000, 'after an ID3v2 tag (the tag is all 0xFF: skipped, not scanned)');
  t.equal(sniffSampleRate(Buffer.from('RIFF\0\0\0\0WAVEfmt ', 'latin1')), undefined, 'a cut WAV header');
  t.equal(sniffSampleRate(Buffer.from('RIFF\0\0\0\0WAVEdata\0\0\0\0', 'latin1')), undefined, 'a WAV without fmt');
  t.equal(
    sniffSampleRate(Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60)])),
    undefined,
    'an Ogg page of neither Vorbis nor FLAC',
  );
  t.equal(sniffSampleRate(Buffer.from('\0\0\0\x20ftypM4A \0\0\0\0', 'latin1')), undefined, 'MP4 without mp4a');
  t.equal(sniffSampleRate(Buffer.from('fLaC\x80\0\0\x22', 'latin1')), undefined, 'FLAC without STREAMINFO bytes');
  t.equal(sniffSampleRate(new Uint8Array(0)), undefined);
});

t.test('frames: frameMs each (the last may be shorter), owned buffers, format event first', async (t) => {
  for (const frameMs of [10, 20, 5]) {
    const r = await decode(fixture('tone.flac'), { sampleRate: 48000, frameMs });
    const spc = (48000 * frameMs) / 1000;
    const sizes = r.frames.map((f) => f.samplesPerChannel);
    t.equal(r.format!.samplesPerChannel, 14400, '0.3 s at 44.1 kHz → 48 kHz: exactly 14400 samples');
    t.same(sizes.slice(0, -1), new Array(sizes.length - 1).fill(spc));
    t.equal(sizes.at(-1), 14400 - spc * (sizes.length - 1));
    t.ok(r.frames.every((f) => ownsBuffer(f.data) && f.sampleRate === 48000 && f.channels === 1));
    t.equal(r.formatBeforeFirstFrame, true);
  }
});

t.test(
  'a 16-bit WAV at its own rate comes out bit-exact (float scaling ×32768 inverts the decoder’s /32768)',
  async (t) => {
    const wavDir = fileURLToPath(new URL('../fixtures/wav/', import.meta.url));
    const b = fs.readFileSync(`${wavDir}sox-s16.s16`);
    const expected = Array.from(new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length)));
    const r = await decode(`${wavDir}sox-s16.wav`, { sampleRate: 8000 });
    t.equal(r.format!.channels, 2);
    t.same(Array.from(r.samples), expected);
  },
);

t.test('stereo: channels kept, averaged to mono, or mono spread to more', async (t) => {
  const stereo = await decode(fixture('stereo.wav'));
  t.equal(stereo.format!.channels, 2);
  const left = channel(stereo.samples, 2, 0);
  const right = channel(stereo.samples, 2, 1);
  t.ok(Math.abs(zeroCrossingHz(left.subarray(4800, 12000), 48000) - 1000) < 1, 'left 1 kHz');
  t.ok(Math.abs(zeroCrossingHz(right.subarray(4800, 12000), 48000) - 500) < 1, 'right 500 Hz');

  const mono = await decode(fixture('stereo.wav'), { channels: 1 });
  t.equal(mono.format!.channels, 1);
  t.equal(mono.format!.sourceChannels, 2);
  const mid = mono.samples.subarray(4800, 12000);
  t.ok(Math.abs(toneLevelDb(mid, 48000, 1000) - (TONE_DB - 6.02)) < 0.05, 'each tone at half level in the average');
  t.ok(Math.abs(toneLevelDb(mid, 48000, 500) - (TONE_DB - 6.02)) < 0.05);

  const three = await decode(fixture('tone.flac'), { channels: 3, sampleRate: 16000 });
  t.equal(three.frames[0]!.channels, 3);
  const c0 = channel(three.samples, 3, 0);
  t.same(channel(three.samples, 3, 2), c0, 'every channel a copy of the mono one');

  await t.rejects(decode(fixture('stereo.wav'), { channels: 3 }), {
    name: 'UnsupportedFormatError',
    code: 'ERR_DECODE_CHANNELS',
  });
});

t.test('sources: path, file URL, Buffer, Uint8Array view, ArrayBuffer, or bytes written into it', async (t) => {
  const bytes = fs.readFileSync(fixture('tone.ogg'));
  const reference = (await decode(fixture('tone.ogg'))).samples;
  t.ok(reference.length > 14000);
  const padded = new Uint8Array(bytes.length + 10);
  padded.set(bytes, 5);
  const sources: Array<[string, () => Promise<Result>]> = [
    ['URL', () => decode(pathToFileURL(fixture('tone.ogg')))],
    ['Buffer', () => decode(bytes)],
    ['Uint8Array view at an offset', () => decode(padded.subarray(5, 5 + bytes.length))],
    ['ArrayBuffer', () => decode(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))],
    [
      'written, no arguments',
      () => decode(undefined, undefined, fs.createReadStream(fixture('tone.ogg'), { highWaterMark: 1000 })),
    ],
    [
      'written, options only',
      () =>
        decode(undefined, { frameMs: 20 }, Readable.from([bytes.subarray(0, 7), Buffer.alloc(0), bytes.subarray(7)])),
    ],
    [
      'null source',
      async () => {
        const dec = decodeFile(null, { sampleRate: 48000 });
        const frames: AudioFrame[] = [];
        await pipeline(
          Readable.from([bytes]),
          dec,
          new Writable({
            objectMode: true,
            write: (f: AudioFrame, _e, cb) => {
              frames.push(f);
              cb();
            },
          }),
        );
        return { frames, samples: concatFrames(frames), format: dec.format, formatBeforeFirstFrame: true };
      },
    ],
  ];
  for (const [name, run] of sources) {
    const r = await run();
    t.same(Array.from(r.samples), Array.from(reference), name);
  }
});

t.test('unsupported or broken input: a typed error on the stream', async (t) => {
  const random = Buffer.alloc(4000);
  const rand = prng(11);
  for (let i = 0; i < random.length; i++) random[i] = Math.floor(rand() * 256);
  const ogg = fs.readFileSync(fixture('tone.ogg'));
  const corruptOgg = Buffer.from(ogg);
  corruptOgg.fill(0x33, 200, 2000);
  const flac = fs.readFileSync(fixture('tone.flac'));
  const cases: Array<[string, () => Promise<unknown>, { name: string; code: string }]> = [
    [
      'Opus, native',
      () => decode(fixture('tone.opus'), { decoder: 'native' }),
      { name: 'UnsupportedFormatError', code: 'ERR_DECODE_UNSUPPORTED' },
    ],
    [
      'MP4 with the index at the end',
      () => decode(fixture('tone-moov-at-end.m4a')),
      { name: 'UnsupportedFormatError', code: 'ERR_DECODE_UNSUPPORTED' },
    ],
    ['random bytes', () => decode(random), { name: 'UnsupportedFormatError', code: 'ERR_DECODE_FORMAT' }],
    [
      'text',
      () => decode(Buffer.from('hello, this is not audio')),
      { name: 'UnsupportedFormatError', code: 'ERR_DECODE_FORMAT' },
    ],
    ['empty Buffer', () => decode(Buffer.alloc(0)), { name: 'InvalidAudioError', code: 'ERR_DECODE_EMPTY' }],
    [
      'empty written input',
      () => decode(undefined, undefined, Readable.from([])),
      { name: 'InvalidAudioError', code: 'ERR_DECODE_EMPTY' },
    ],
    [
      'Ogg with a corrupt header page, streamed',
      () => decode(corruptOgg),
      { name: 'InvalidAudioError', code: 'ERR_DECODE_FAILED' },
    ],
    [
      'Ogg with a corrupt page, native',
      () => decode(corruptOgg, { decoder: 'native' }),
      { name: 'InvalidAudioError', code: 'ERR_DECODE_FAILED' },
    ],
    [
      'truncated FLAC',
      () => decode(flac.subarray(0, 3000)),
      { name: 'InvalidAudioError', code: 'ERR_DECODE_TRUNCATED' },
    ],
    [
      'non-bytes written',
      () => decode(undefined, undefined, Readable.from([{ not: 'bytes' }])),
      { name: 'InvalidAudioError', code: 'ERR_DECODE_INPUT_TYPE' },
    ],
    [
      'path over maxBytes',
      () => decode(fixture('tone.flac'), { maxBytes: 1000 }),
      { name: 'BufferOverflowError', code: 'ERR_DECODE_TOO_LARGE' },
    ],
    [
      'Buffer over maxBytes',
      () => decode(flac, { maxBytes: 1000 }),
      { name: 'BufferOverflowError', code: 'ERR_DECODE_TOO_LARGE' },
    ],
    [
      'written over maxBytes',
      () => decode(undefined, { maxBytes: 1000 }, fs.createReadStream(fixture('tone.flac'))),
      { name: 'BufferOverflowError', code: 'ERR_DECODE_TOO_LARGE' },
    ],
  ];
  for (const [name, run, expected] of cases) {
    const started = performance.now();
    await t.rejects(run(), expected, name);
    t.ok(performance.now() - started < 10000, `${name}: no hang`);
  }
  await t.rejects(decode(`${dir}no-such-file.mp3`), { code: 'ENOENT' }, 'a missing file is the fs error');
  const e = await decode(random).catch((err: Error) => err);
  t.match((e as Error).message, /no suitable format reader/, 'the decoder’s reason is in the message');
});

t.test('options are validated synchronously: ConfigError', async (t) => {
  const bad: Array<[unknown, unknown, string]> = [
    [42, undefined, 'ERR_DECODE_SOURCE'],
    [fixture('tone.mp3'), { sampleRate: 1000 }, 'ERR_DECODE_RATE'],
    [fixture('tone.mp3'), { sampleRate: 400000 }, 'ERR_DECODE_RATE'],
    [fixture('tone.mp3'), { sampleRate: 44100.5 }, 'ERR_DECODE_RATE'],
    [fixture('tone.mp3'), { channels: 0 }, 'ERR_DECODE_CHANNELS'],
    [fixture('tone.mp3'), { channels: 33 }, 'ERR_DECODE_CHANNELS'],
    [fixture('tone.mp3'), { frameMs: 0 }, 'ERR_FRAME_DURATION'],
    [fixture('tone.mp3'), { sampleRate: 44100, frameMs: 0.5 }, 'ERR_FRAME_DURATION'],
    [fixture('tone.mp3'), { maxBytes: 0 }, 'ERR_DECODE_MAX_BYTES'],
  ];
  for (const [source, options, code] of bad) {
    t.throws(
      () => new DecodeFile(source as DecodeFileSource, options as DecodeFileOptions),
      { name: 'ConfigError', code },
      `${code} ${JSON.stringify(options)}`,
    );
  }
  const d = decodeFile(fixture('tone.mp3'), { sampleRate: 44100 });
  t.equal(d.frameSamples, 441);
  t.equal(d.writable, false, 'with a source there is nothing to write');
  d.destroy();
});

t.test('highWaterMark 1 and bufferedMs = frames waiting in the readable buffer', async (t) => {
  const dec = decodeFile(fixture('tone.flac'), { sampleRate: 48000, frameMs: 20 });
  t.equal(dec.readableHighWaterMark, 1);
  t.equal(dec.readableObjectMode, true);
  t.equal(dec.bufferedMs, 0);
  await new Promise((r) => dec.once('readable', r));
  t.equal(dec.bufferedMs, 20, 'one 20 ms frame decoded ahead, no more');
  const frames: AudioFrame[] = [];
  for await (const f of dec) frames.push(f as AudioFrame);
  t.equal(frames.length, 14400 / 960);
  t.equal(dec.bufferedMs, 0);
});

t.test('destroyed while decoding: no frame, no error, nothing left running', async (t) => {
  for (const rate of [44100, 48000]) {
    const dec = decodeFile(fixture('tone.mp3'), { sampleRate: rate });
    let frames = 0;
    let errors = 0;
    dec.on('data', () => frames++);
    dec.on('error', () => errors++);
    await new Promise((r) => setImmediate(r)); // the read has started the decode
    dec.destroy();
    await new Promise((r) => setTimeout(r, 300));
    t.same([frames, errors, dec.format], [0, 0, undefined], `${rate}: nothing after destroy`);
  }
  const late = decodeFile(fixture('tone.flac'));
  const first = await new Promise<AudioFrame>((r) => late.once('data', r));
  late.destroy();
  t.equal(first.samplesPerChannel, 480, 'destroying after the first frame is fine too');
});

t.test('the process can exit after decoding (no wasm engine or native context left running)', async (t) => {
  const child = fileURLToPath(new URL('../helpers/decodeFileChild.ts', import.meta.url));
  // streamed: 13230 gapless samples at 44.1 kHz; native: 14976 (decodeAudioData keeps the encoder's padding)
  for (const [decoder, frames, samples] of [
    ['auto', 30, 14400],
    ['native', 34, 16301],
  ] as const) {
    const started = performance.now();
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import=@tapjs/typescript/import', child, fixture('tone.mp3'), decoder],
      {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
        timeout: 40000,
      },
    );
    const out = JSON.parse(stdout) as { frames: number; format: DecodedFileFormat };
    t.equal(out.frames, frames, `${decoder}: ${frames} frames`);
    t.equal(out.format.samplesPerChannel, samples, `${decoder}: ${samples} samples at 48 kHz`);
    t.ok(performance.now() - started < 40000, `${decoder}: exited on its own`);
  }
});

t.test('decoder auto streams MP3, Opus, FLAC and Vorbis: the gapless length, exactly, in flat memory', async (t) => {
  // each fixture: a 1 kHz sine of exactly 300 ms (tone.*) or 2 s (stream.*) before encoding
  const cases = [
    ['tone.mp3', 13230, 44100],
    ['tone.flac', 13230, 44100],
    ['tone.ogg', 13230, 44100],
    ['tone.opus', 14400, 48000],
    ['stream.mp3', 88200, 44100],
    ['stream.opus', 96000, 48000],
    ['stream.flac', 16000, 16000],
    ['stream-vorbis.ogg', 88200, 44100],
    ['tone-noxing.mp3', 56448, 44100], // no Xing/LAME frame: every frame's 1152 samples
    ['tone-8k.mp3', 4000, 8000], // MPEG-2.5 with a LAME tag: 0.5 s exactly
  ] as const;
  for (const [name, samples, rate] of cases) {
    const r = await decode(fixture(name), { sampleRate: rate });
    t.equal(r.format?.decoder, 'streaming', `${name}: streamed`);
    t.equal(r.samples.length / r.format!.channels, samples, `${name}: ${samples} samples, as encoded`);
    t.equal(r.format?.samplesPerChannel, samples, `${name}: announced before the first frame`);
    t.equal(r.format?.sourceSampleRate, rate);
  }
  // MP3: the LAME tag's delay and padding are what the native decoder keeps (and what 'streaming' trims)
  const native = await decode(fixture('tone.mp3'), { sampleRate: 44100, decoder: 'native' });
  t.equal(native.format?.decoder, 'native');
  t.equal(native.samples.length, 14976, 'native: 1746 samples of encoder delay and padding kept');
  const mid = (await decode(fixture('tone.opus'), { sampleRate: 48000 })).samples.subarray(4800, 12000);
  t.ok(sineFitSnrDb(mid, 48000, 1000) > 30, 'Opus decodes to the tone');
  t.ok(Math.abs(zeroCrossingHz(mid, 48000) - 1000) < 0.5);

  await t.rejects(
    decode(fixture('tone.aac'), { decoder: 'streaming' }),
    { name: 'UnsupportedFormatError', code: 'ERR_DECODE_UNSUPPORTED', message: /decoder 'auto' or 'native'/ },
    "decoder 'streaming' names the way to decode AAC",
  );
  t.equal((await decode(fixture('tone.aac'))).format?.decoder, 'native', 'AAC: auto goes native');
  t.equal((await decode(fixture('tone.oga'))).format?.decoder, 'native', 'Ogg FLAC: auto goes native');
  t.throws(() => decodeFile(fixture('tone.mp3'), { decoder: 'fast' as 'auto' }), {
    name: 'ConfigError',
    code: 'ERR_DECODE_OPTIONS',
  });

  // the LAME extension's encoder name does not matter (mpg123 reads any); without the extension, or when the
  // Xing count disagrees with the frames (two files joined), the walk cannot tell and a first pass counts
  const tone = fs.readFileSync(fixture('tone.mp3'));
  const named = (name: string) => {
    const b = Buffer.from(tone);
    b.write(name.padEnd(9, '\0'), tone.indexOf('Lavc'), 'latin1');
    return b;
  };
  for (const [what, bytes, samples] of [
    ['encoder named GOGO', named('GOGO'), 13230],
    ['encoder named L3.99r', named('L3.99r'), 13230],
    ['no LAME extension (counted)', named(''), 14447],
    ['two files joined, each with its ID3v2 tag (counted)', Buffer.concat([tone, tone]), 29358],
  ] as const) {
    const r = await decode(bytes, { sampleRate: 44100 });
    t.equal(r.format?.samplesPerChannel, samples, `MP3, ${what}: ${samples} announced`);
    t.equal(r.samples.length, samples, `MP3, ${what}: ${samples} decoded`);
  }

  // chained Ogg (a second logical stream after the first ended): Vorbis reads both links; ogg-opus-decoder 1.7
  // loses audio after the first link, which the declared length catches instead of a silently short decode
  const chained = (name: string) => {
    const one = fs.readFileSync(fixture(name));
    const two = Buffer.from(one);
    for (let at = two.indexOf('OggS'); at >= 0; at = two.indexOf('OggS', at + 4)) two.writeUInt32LE(0x5eed, at + 14);
    return Buffer.concat([one, two]);
  };
  const vorbisChain = await decode(chained('tone.ogg'), { sampleRate: 44100 });
  t.equal(vorbisChain.samples.length, 2 * 13230, 'chained Vorbis: both links');
  const stereoChain = await decode(chained('stream-vorbis.ogg'), { sampleRate: 44100 });
  t.equal(
    stereoChain.samples.length / 2,
    2 * 88200,
    'chained stereo Vorbis: held to the granules (the engine makes 432 more)',
  );
  await t.rejects(decode(chained('tone.opus'), { sampleRate: 48000 }), {
    name: 'InvalidAudioError',
    code: 'ERR_DECODE_FAILED',
    message: /declare 28800/,
  });

  // destroyed during a counting pass: the pass stops there, and nothing more is read or opened
  const link = fs.readFileSync(fixture('stream-vorbis.ogg'));
  const links = Array.from({ length: 20 }, (_, i) => {
    const b = Buffer.from(link);
    for (let at = b.indexOf('OggS'); at >= 0; at = b.indexOf('OggS', at + 4)) b.writeUInt32LE(0x100 + i, at + 14);
    return b;
  });
  let served = 0;
  let checks = 0;
  const cancelled = await streamedBlocks(
    () =>
      Readable.from(
        (function* () {
          for (const b of links) {
            served++;
            yield b;
          }
        })(),
        { objectMode: false, highWaterMark: 1 },
      ),
    'vorbis',
    undefined,
    false,
    () => ++checks > 5,
  );
  t.equal(cancelled.length, 0, 'cancelled: an empty source');
  t.ok(served < 10, `the count stopped early: ${served} of 20 links read`);

  // a file given by path is read again for the decode: one that is gone by then is its fs error, not a hang
  const gone = streamedBlocks(() => fs.createReadStream(`${dir}no-such-file.mp3`), 'mp3', 100, false);
  await t.rejects(gone, { code: 'ENOENT' }, 'a file that cannot be read again');

  // captured from the middle of a live stream: every granule position 10 M samples on. The headers cannot tell
  // the length, so a first pass counts it; the decode is as long as the untouched file's
  for (const [name, samples, rate] of [
    ['stream-vorbis.ogg', 88200, 44100],
    ['stream.opus', 96000, 48000],
  ] as const) {
    const live = Buffer.from(fs.readFileSync(fixture(name)));
    for (let at = live.indexOf('OggS'); at >= 0; at = live.indexOf('OggS', at + 4)) {
      const granule = live.readUInt32LE(at + 6);
      if (granule !== 0 && granule !== 0xffffffff) live.writeUInt32LE(granule + 10_000_000, at + 6);
    }
    const r = await decode(live, { sampleRate: rate });
    t.equal(r.format?.decoder, 'streaming');
    t.equal(r.format?.samplesPerChannel, samples, `${name} from mid-stream: counted, announced`);
    t.equal(r.samples.length / r.format!.channels, samples, `${name} from mid-stream: all of it`);
  }

  // a Vorbis file whose last granule position promises 1 s more than its packets hold
  // (stream-vorbis.ogg: 20 ms pages, so its first audio page still shows it starts at 0)
  const lying = Buffer.from(fs.readFileSync(fixture('stream-vorbis.ogg')));
  const lastPage = lying.lastIndexOf('OggS');
  lying.writeUInt32LE(lying.readUInt32LE(lastPage + 6) + 44100, lastPage + 6);
  lying.writeUInt32LE(0, lastPage + 22); // its CRC, which the engine does not check
  const short = await decode(lying, { sampleRate: 44100 }).catch((e: Error) => e);
  t.match(short, { name: 'InvalidAudioError', code: 'ERR_DECODE_FAILED', message: /declare 132300/ });
  // … and one whose last granule says 1 s less: more than padding past the declared length is an error, not a cut
  const under = Buffer.from(fs.readFileSync(fixture('stream-vorbis.ogg')));
  under.writeUInt32LE(under.readUInt32LE(lastPage + 6) - 44100, lastPage + 6);
  t.match(await decode(under, { sampleRate: 44100 }).catch((e: Error) => e), {
    name: 'InvalidAudioError',
    code: 'ERR_DECODE_FAILED',
    message: /made more than the 44100 samples/,
  });
});
