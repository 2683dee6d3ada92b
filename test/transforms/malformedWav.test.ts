/**
 * Malformed input of every kind, through `pipeline(Readable.from(chunks), decoder, sink)`: each must reject with
 * the expected error class and code, within a time bound (no hang), without an exception escaping the pipeline,
 * whole, in 1-byte writes and in random pieces.
 */
import t, { type Test } from 'tap';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { decodeWav } from '../../transforms/decodeWav.js';
import { decodePcm } from '../../transforms/decodePcm.js';
import type { AudioFrame } from '../../lib/frames.js';
import { TAG, buildWav, chunk, cut, fmtBody, sampleBytes, type WavSpec } from '../helpers/wavBuilder.js';
import { prng } from '../helpers/signals.js';

const escaped: unknown[] = [];
const onEscape = (e: unknown) => escaped.push(e);
process.on('uncaughtException', onEscape);
process.on('unhandledRejection', onEscape);
t.teardown(() => {
  process.off('uncaughtException', onEscape);
  process.off('unhandledRejection', onEscape);
});

const TIME_LIMIT_MS = 5000;
type Expected = { name: 'InvalidAudioError' | 'UnsupportedFormatError'; code: string; message?: RegExp };
const invalid = (code: string, message?: RegExp): Expected => ({ name: 'InvalidAudioError', code, message });
const unsupported = (message?: RegExp): Expected => ({
  name: 'UnsupportedFormatError',
  code: 'ERR_WAV_UNSUPPORTED',
  message,
});

/** Run chunks through a decoder into a sink; resolve with how it ended, or 'HANG' after the time limit. */
async function outcome(
  chunks: readonly unknown[],
  decoder: NodeJS.ReadWriteStream,
): Promise<{ err?: Error; hang?: true; samples: number }> {
  let samples = 0;
  const run = pipeline(
    Readable.from(chunks, { objectMode: true }),
    decoder,
    new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(f: AudioFrame, _e, cb) {
        samples += f.data.length;
        cb();
      },
    }),
  ).then(
    () => ({ samples }),
    (err: Error) => ({ err, samples }),
  );
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<{ hang: true; samples: number }>(
    (r) => (timer = setTimeout(() => r({ hang: true, samples }), TIME_LIMIT_MS)),
  );
  try {
    return await Promise.race([run, limit]);
  } finally {
    clearTimeout(timer);
  }
}

function check(
  t: Test,
  label: string,
  got: { err?: Error; hang?: true; samples: number },
  want: Expected,
  samples = 0,
): void {
  if (got.hang) {
    t.fail(`${label}: no end within ${TIME_LIMIT_MS} ms`);
    return;
  }
  const e = got.err as (Error & { code?: string }) | undefined;
  t.ok(
    e && e.name === want.name && e.code === want.code && (!want.message || want.message.test(e.message)),
    `${label}: ${want.name} ${want.code}`,
    {
      got: e ? `${e.name} ${e.code} ${e.message}` : 'resolved',
    },
  );
  t.equal(got.samples, samples, `${label}: ${samples} samples before the error`);
}

const mono16 = { tag: TAG.pcm, channels: 1, sampleRate: 8000, bitsPerSample: 16 } as const;
const PCM = sampleBytes('s16le', [1, 2, 3, 4]);
const wav = (over: Partial<WavSpec> = {}) => buildWav({ ...mono16, data: PCM, ...over });
/** A WAV from raw parts after "WAVE"; the RIFF size is right unless given. */
const riff = (parts: Buffer[], riffSize?: number, magic = 'RIFF', form = 'WAVE') => {
  const body = Buffer.concat([Buffer.from(form, 'latin1'), ...parts]);
  const h = Buffer.alloc(8);
  h.write(magic, 0, 'latin1');
  h.writeUInt32LE(riffSize ?? body.length, 4);
  return Buffer.concat([h, body]);
};
const fmtChunk = (over: Partial<Parameters<typeof fmtBody>[0]> = {}) => chunk('fmt ', fmtBody({ ...mono16, ...over }));
const fmtRaw = (patch: (b: Buffer) => void, size = 16) => {
  const b = Buffer.alloc(size);
  fmtBody(mono16).copy(b);
  patch(b);
  return chunk('fmt ', b);
};
const rand = prng(42);
const garbage = Buffer.from(Array.from({ length: 10000 }, () => Math.floor(rand() * 256)));
const badGuid = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');

const CASES: Array<[string, unknown[] | Buffer, Expected, number?]> = [
  ['empty input', [], invalid('ERR_WAV_EMPTY')],
  ['only 0-length chunks', [Buffer.alloc(0), Buffer.alloc(0)], invalid('ERR_WAV_EMPTY')],
  ['garbage', garbage, invalid('ERR_WAV_NOT_RIFF')],
  ['two bytes, not a RIFF prefix', Buffer.from('XY'), invalid('ERR_WAV_NOT_RIFF')],
  ['three bytes of "RIF"', Buffer.from('RIF'), invalid('ERR_WAV_TRUNCATED')],
  [
    'an MP3 (ID3 tag)',
    Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'),
    invalid('ERR_WAV_NOT_RIFF', /use decodeFile/),
  ],
  ['an Ogg file', Buffer.from('OggS\x00\x02', 'latin1'), invalid('ERR_WAV_NOT_RIFF', /use decodeFile/)],
  ['AIFF', Buffer.from('FORM\x00\x00\x00\x10AIFF', 'latin1'), invalid('ERR_WAV_NOT_RIFF')],
  ['RIFF but AVI', riff([chunk('avih', Buffer.alloc(56))], undefined, 'RIFF', 'AVI '), invalid('ERR_WAV_NOT_WAVE')],
  ['RIFF + garbage', Buffer.concat([Buffer.from('RIFF'), garbage]), invalid('ERR_WAV_NOT_WAVE')],
  ['size-0 fmt chunk', riff([chunk('fmt ', Buffer.alloc(0)), chunk('data', PCM)]), invalid('ERR_WAV_BAD_FMT')],
  [
    'short fmt chunk (14 bytes)',
    riff([chunk('fmt ', fmtBody(mono16).subarray(0, 14)), chunk('data', PCM)]),
    invalid('ERR_WAV_BAD_FMT'),
  ],
  [
    'fmt claims 2 GB (streamed RIFF size)',
    riff([chunk('fmt ', fmtBody(mono16), 0x80000000), chunk('data', PCM)], 0),
    invalid('ERR_WAV_CHUNK_SIZE', /limit 4096/),
  ],
  [
    'fmt claims 2 GB (real RIFF size)',
    riff([chunk('fmt ', fmtBody(mono16), 0x80000000), chunk('data', PCM)]),
    invalid('ERR_WAV_CHUNK_SIZE', /past the RIFF end/),
  ],
  [
    'LIST claims 2 GB (real RIFF size)',
    riff([chunk('LIST', Buffer.alloc(8), 0x80000000), fmtChunk(), chunk('data', PCM)]),
    invalid('ERR_WAV_CHUNK_SIZE'),
  ],
  [
    'LIST claims 2 GB (streamed): skipped to the end, never buffered',
    riff([chunk('LIST', Buffer.alloc(8), 0x80000000), fmtChunk(), chunk('data', PCM)], 0),
    invalid('ERR_WAV_TRUNCATED', /"LIST"/),
  ],
  ['data before fmt', riff([chunk('data', PCM), fmtChunk()]), invalid('ERR_WAV_DATA_BEFORE_FMT')],
  ['no fmt at all', riff([chunk('LIST', Buffer.alloc(4))]), invalid('ERR_WAV_NO_FMT')],
  ['empty RIFF form', riff([]), invalid('ERR_WAV_NO_FMT')],
  ['fmt but no data', riff([fmtChunk(), chunk('LIST', Buffer.alloc(4))]), invalid('ERR_WAV_NO_DATA')],
  ['0 channels', wav({ channels: 0, blockAlign: 2 }), invalid('ERR_WAV_BAD_FMT', /0 channels/)],
  ['0 Hz', wav({ sampleRate: 0 }), invalid('ERR_WAV_BAD_FMT', /0 Hz/)],
  ['13-bit PCM in 1 byte', wav({ bitsPerSample: 13, blockAlign: 1 }), unsupported(/13-bit PCM/)],
  ['40-bit PCM', wav({ bitsPerSample: 40, blockAlign: 5 }), unsupported(/40-bit PCM/)],
  ['1 Hz', wav({ sampleRate: 1 }), { name: 'UnsupportedFormatError', code: 'ERR_WAV_RATE', message: /1 Hz/ }],
  ['768001 Hz', wav({ sampleRate: 768001 }), { name: 'UnsupportedFormatError', code: 'ERR_WAV_RATE' }],
  ['65 channels', wav({ channels: 65, blockAlign: 130 }), unsupported(/65 channels/)],
  ['0-bit PCM', wav({ bitsPerSample: 0, blockAlign: 2 }), invalid('ERR_WAV_BAD_FMT')],
  ['64-bit integer PCM', wav({ bitsPerSample: 64 }), unsupported(/64-bit PCM/)],
  ['16-bit float', wav({ tag: TAG.float, bitsPerSample: 16 }), unsupported(/16-bit float/)],
  ['Microsoft ADPCM', wav({ tag: 2, bitsPerSample: 4, blockAlign: 256 }), unsupported(/ADPCM/)],
  ['IMA ADPCM', wav({ tag: 0x11, bitsPerSample: 4, blockAlign: 256 }), unsupported(/IMA ADPCM/)],
  ['MP3 in WAV', wav({ tag: 0x55, bitsPerSample: 0, blockAlign: 1 }), unsupported(/MP3/)],
  ['GSM 6.10', wav({ tag: 0x31, bitsPerSample: 0, blockAlign: 65 }), unsupported(/GSM/)],
  ['an unknown format tag', wav({ tag: 0x1234 }), unsupported(/0x1234/)],
  ['wrong block align', wav({ channels: 2, blockAlign: 2 }), invalid('ERR_WAV_BAD_FMT', /block align/)],
  ['16-bit µ-law', wav({ tag: TAG.mulaw }), invalid('ERR_WAV_BAD_FMT', /mulaw/)],
  [
    'extensible with an 18-byte fmt',
    riff([fmtRaw((b) => b.writeUInt16LE(0xfffe, 0), 18), chunk('data', PCM)]),
    invalid('ERR_WAV_BAD_FMT', /EXTENSIBLE/),
  ],
  [
    'extensible with cbSize 0',
    riff([
      fmtRaw((b) => {
        b.writeUInt16LE(0xfffe, 0);
        b.writeUInt16LE(0, 16);
      }, 40),
      chunk('data', PCM),
    ]),
    invalid('ERR_WAV_BAD_FMT', /cbSize 0/),
  ],
  [
    'extensible with an unknown GUID',
    wav({ extensible: true, subFormat: badGuid }),
    unsupported(/SubFormat 67452301-ab89-efcd-0123-456789abcdef/),
  ],
  ['extensible ADPCM', wav({ extensible: true, tag: 2 }), unsupported(/ADPCM/)],
  [
    'extensible, 24 valid bits in 16',
    wav({ extensible: true, validBits: 24 }),
    invalid('ERR_WAV_BAD_FMT', /valid bits/),
  ],
  [
    'data size not a whole number of frames',
    wav({ channels: 2, data: PCM.subarray(0, 6) }),
    invalid('ERR_WAV_CHUNK_SIZE', /6 bytes/),
  ],
  ['truncated data', wav({ dataSize: 1000 }), invalid('ERR_WAV_TRUNCATED', /992 are missing/), 4],
  [
    'streamed data, odd trailing byte',
    Buffer.concat([wav({ dataSize: 0xffffffff, riffSize: 0xffffffff }), Buffer.from([7])]),
    invalid('ERR_WAV_TRUNCATED', /1 of 2 bytes/),
    4,
  ],
  [
    'a trailing byte inside the RIFF form',
    (() => {
      const w = Buffer.concat([wav(), Buffer.from([7])]);
      w.writeUInt32LE(w.length - 8, 4);
      return w;
    })(),
    invalid('ERR_WAV_TRUNCATED', /chunk header/),
    4,
  ],
  [
    'a cut chunk after the data',
    wav({ after: [chunk('LIST', Buffer.alloc(40))] }).subarray(0, 44 + 8 + 8 + 20),
    invalid('ERR_WAV_TRUNCATED', /"LIST"/),
    4,
  ],
  [
    'garbage where a chunk should start',
    riff([fmtChunk(), Buffer.from([0x00, 0xff, 0x13, 0x80, 4, 0, 0, 0]), chunk('data', PCM)]),
    invalid('ERR_WAV_CHUNK_ID'),
  ],
  ['two fmt chunks', riff([fmtChunk(), fmtChunk(), chunk('data', PCM)]), invalid('ERR_WAV_DUPLICATE_CHUNK')],
  [
    'two data chunks',
    riff([fmtChunk(), chunk('data', PCM), chunk('data', PCM)]),
    invalid('ERR_WAV_DUPLICATE_CHUNK'),
    4,
  ],
  ['RF64 without ds64', wav({ magic: 'RF64' }), invalid('ERR_WAV_BAD_DS64')],
  [
    'RF64 data size 2^53',
    riff(
      [
        chunk('ds64', Buffer.from([...Buffer.alloc(8), 0, 0, 0, 0, 0, 0, 0x20, 0, ...Buffer.alloc(12)])),
        fmtChunk(),
        chunk('data', PCM),
      ],
      0xffffffff,
      'RF64',
    ),
    { name: 'UnsupportedFormatError', code: 'ERR_WAV_CHUNK_SIZE', message: /2\^53/ },
  ],
  [
    'RF64 with a short ds64',
    riff([chunk('ds64', Buffer.alloc(16)), fmtChunk(), chunk('data', PCM)], 0xffffffff, 'RF64'),
    invalid('ERR_WAV_BAD_DS64'),
  ],
  ['a string chunk', ['RIFF'], invalid('ERR_WAV_INPUT_TYPE', /string/)],
  [
    'an object chunk after audio',
    [wav().subarray(0, 46), { samples: [1] }],
    invalid('ERR_WAV_INPUT_TYPE', /Object/),
    1,
  ],
  ['a number chunk', [wav().subarray(0, 10), 42], invalid('ERR_WAV_INPUT_TYPE', /number/)],
];

t.test(`${CASES.length} malformed WAV inputs: typed error, no hang, nothing escapes — at every split`, async (t) => {
  t.ok(CASES.length >= 30);
  for (const [name, input, want, samples] of CASES) {
    const splits = Buffer.isBuffer(input)
      ? (['whole', 'bytes', { seed: 3, max: 9 }] as const).map((how) => cut(input, how))
      : [input];
    for (const [i, chunks] of splits.entries()) {
      check(t, `${name} #${i}`, await outcome(chunks, decodeWav()), want, samples);
    }
  }
});

t.test(
  'a header cut at every offset is ERR_WAV_TRUNCATED (real RIFF size) — never a clean end, never a hang',
  async (t) => {
    const file = wav({ before: [chunk('LIST', Buffer.from('INFOabc'))], between: [chunk('fact', Buffer.alloc(4))] });
    const dataAt = file.length - PCM.length;
    let checked = 0;
    for (let n = 1; n < file.length; n++) {
      const got = await outcome([file.subarray(0, n)], decodeWav());
      const whole = n <= dataAt ? 0 : Math.floor((n - dataAt) / 2);
      check(t, `cut at ${n}/${file.length}`, got, invalid('ERR_WAV_TRUNCATED'), whole);
      checked++;
    }
    t.equal(checked, file.length - 1);
  },
);

t.test('a streamed header (RIFF size 0) cut at chunk boundaries says what is missing', async (t) => {
  const file = wav({ riffSize: 0, dataSize: 0 });
  check(t, 'after WAVE', await outcome([file.subarray(0, 12)], decodeWav()), invalid('ERR_WAV_NO_FMT'));
  check(t, 'after fmt', await outcome([file.subarray(0, 36)], decodeWav()), invalid('ERR_WAV_NO_DATA'));
  check(
    t,
    'inside fmt',
    await outcome([file.subarray(0, 30)], decodeWav()),
    invalid('ERR_WAV_TRUNCATED', /"fmt " chunk \(10 of 16 bytes\)/),
  );
  check(
    t,
    'inside the RIFF header',
    await outcome([file.subarray(0, 8)], decodeWav()),
    invalid('ERR_WAV_TRUNCATED', /RIFF header/),
  );
});

t.test('malformed raw PCM: partial trailing frames and non-bytes', async (t) => {
  const encodings = [
    ['s16le', 2],
    ['s16be', 2],
    ['s24le', 3],
    ['s32le', 4],
    ['f32le', 4],
    ['f64le', 8],
  ] as const;
  for (const [encoding, size] of encodings) {
    for (const channels of [1, 2]) {
      const bytes = Buffer.alloc(size * channels * 3 + 1);
      for (const how of ['whole', 'bytes'] as const) {
        const got = await outcome(cut(bytes, how), decodePcm({ sampleRate: 8000, channels, encoding }));
        check(t, `${encoding} ${channels} ch + 1 byte, ${how}`, got, invalid('ERR_PCM_PARTIAL_FRAME'), 3 * channels);
      }
    }
  }
  check(
    t,
    'mulaw stereo, odd byte',
    await outcome([Buffer.alloc(5)], decodePcm({ sampleRate: 8000, channels: 2, encoding: 'mulaw' })),
    invalid('ERR_PCM_PARTIAL_FRAME'),
    4,
  );
  check(t, 'a string', await outcome(['abcd'], decodePcm({ sampleRate: 8000 })), invalid('ERR_PCM_INPUT_TYPE'));
  check(
    t,
    'null-ish object',
    await outcome([Buffer.alloc(2), { length: 2 }], decodePcm({ sampleRate: 8000 })),
    invalid('ERR_PCM_INPUT_TYPE'),
    1,
  );
});

t.test('nothing escaped any pipeline', async (t) => {
  // Give stray nextTick/immediate errors a chance to surface.
  await new Promise((r) => setTimeout(r, 50));
  t.same(escaped, []);
});
