// Probe of the `wav` package's Reader (1.0.2), run in a child process by test/transforms/decodeWav.test.ts:
//   node test/helpers/wavPackageProbe.cjs <case>
// Prints one line: how the Reader ended (ended / rejected / UNCAUGHT / HANG), its `format`, and its output bytes.
// The findings are the reason decodeWav has its own parser (docs/decoding.md).
'use strict';
const wav = require('wav');
const { Readable, Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');

const KS_TAIL = Buffer.from([0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xaa, 0, 0x38, 0x9b, 0x71]);

function fmt({ tag = 1, ch = 1, rate = 8000, bits = 16, sub }) {
  const f = Buffer.alloc(sub === undefined ? 16 : 40);
  f.writeUInt16LE(sub === undefined ? tag : 0xfffe, 0);
  f.writeUInt16LE(ch, 2);
  f.writeUInt32LE(rate, 4);
  f.writeUInt32LE((rate * ch * bits) / 8, 8);
  f.writeUInt16LE((ch * bits) / 8, 12);
  f.writeUInt16LE(bits, 14);
  if (sub !== undefined) {
    f.writeUInt16LE(22, 16);
    f.writeUInt16LE(bits, 18);
    f.writeUInt16LE(sub, 24);
    KS_TAIL.copy(f, 26);
  }
  return f;
}

function chunk(id, body) {
  const h = Buffer.alloc(8);
  h.write(id, 0, 'latin1');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body, Buffer.alloc(body.length % 2)]);
}

function file(parts) {
  const body = Buffer.concat([Buffer.from('WAVE'), ...parts]);
  const h = Buffer.alloc(8);
  h.write('RIFF');
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}

const pcm = Buffer.from([1, 0, 2, 0]);
const cases = {
  ok: file([chunk('fmt ', fmt({})), chunk('data', pcm)]),
  size0: file([chunk('fmt ', fmt({})), chunk('LIST', Buffer.alloc(0)), chunk('data', pcm)]),
  pad: file([chunk('fmt ', fmt({})), chunk('LIST', Buffer.from('abc')), chunk('data', pcm)]),
  truncated: file([chunk('fmt ', fmt({})), chunk('data', pcm)]).subarray(0, 30),
  extfloat: file([chunk('fmt ', fmt({ bits: 32, sub: 3 })), chunk('data', Buffer.alloc(8))]),
  mulaw: file([chunk('fmt ', fmt({ tag: 7, bits: 8 })), chunk('data', Buffer.from([0x00, 0xff, 0x80, 0x7f]))]),
  chunkBeforeFmt: file([chunk('JUNK', Buffer.alloc(4)), chunk('fmt ', fmt({})), chunk('data', pcm)]),
};

const which = process.argv[2];
let format;
const out = [];
const report = (how, extra = '') =>
  console.log(`${how} format=${JSON.stringify(format ?? null)} out=${Buffer.concat(out).toString('hex')}${extra}`);
process.on('uncaughtException', (e) => {
  report('UNCAUGHT', ` ${e.name}: ${e.message}`);
  process.exit(0);
});
const timer = setTimeout(() => {
  report('HANG');
  process.exit(0);
}, 2000);
const reader = new wav.Reader();
reader.on('format', (f) => (format = f));
pipeline(
  Readable.from([cases[which]]),
  reader,
  new Writable({
    write(c, _e, cb) {
      out.push(c);
      cb();
    },
  }),
).then(
  () => {
    clearTimeout(timer);
    report('ended');
  },
  (e) => {
    clearTimeout(timer);
    report('rejected', ` ${e.name}: ${e.message}`);
  },
);
