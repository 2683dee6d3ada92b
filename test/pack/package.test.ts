/**
 * The package as a user meets it: `npm pack`, installed into an empty app, driven through the public API
 * and the CLI. Dependencies come from the npm cache that `npm ci` filled (--prefer-offline). The tarball is the
 * repo's built dist/ (`npm test` builds it before tap), packed with --ignore-scripts (test/helpers/packedApp.ts).
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, writeFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { installApp, packTarball, root } from '../helpers/packedApp.js';

const npm = (args: string[], cwd: string) =>
  execFileSync('npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 240_000 });
const packed = packTarball(t);

t.test('npm pack produces a tarball that installs and runs in an empty app', async (t) => {
  const files = packed.files;
  t.ok(files.includes('dist/index.js'), 'ships the compiled entry point');
  t.ok(files.includes('dist/index.d.ts'), 'ships type declarations');
  t.ok(files.includes('dist/bin/livekit-audio.js'), 'ships the CLI');
  t.notOk(
    files.some((f) => f.startsWith('test/') || f.startsWith('node_modules/')),
    'ships no tests',
  );

  // the tarball alone (its non-optional peer @livekit/rtc-node comes with it): the optional peers stay out
  const { dir: app, stderr } = installApp(t, packed.tarball);
  // npm 11 warns about packages with install-time scripts (a `prepare`): the package has none
  t.notMatch(stderr, /npm warn/i, `installs without a warning\n${stderr}`);

  writeFileSync(
    join(app, 'use.mjs'),
    `
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import { decodeWav, rechunk, resample, resamplerEngine, AudioFrame, AudioPipelineError, InvalidAudioError } from 'livekit-audio-pipeline';

// a 25 ms 48 kHz mono WAV → exact 10 ms frames
const n = 1200;
const wav = Buffer.alloc(44 + n * 2);
wav.write('RIFF', 0); wav.writeUInt32LE(36 + n * 2, 4); wav.write('WAVE', 8);
wav.write('fmt ', 12); wav.writeUInt32LE(16, 16); wav.writeUInt16LE(1, 20); wav.writeUInt16LE(1, 22);
wav.writeUInt32LE(48000, 24); wav.writeUInt32LE(96000, 28); wav.writeUInt16LE(2, 32); wav.writeUInt16LE(16, 34);
wav.write('data', 36); wav.writeUInt32LE(n * 2, 40);
for (let i = 0; i < n; i++) wav.writeInt16LE(i, 44 + 2 * i);
const sizes = [];
await pipeline(Readable.from([wav]), decodeWav(), rechunk(), new Writable({ objectMode: true,
  write(f, _e, cb) { sizes.push(f.samplesPerChannel); cb(); } }));
let bad;
try { await pipeline(Readable.from([Buffer.from('not a wav file at all, sorry')]), decodeWav(), new Writable({ objectMode: true, write(_f, _e, cb) { cb(); } })); }
catch (e) { bad = e; }
// 44.1 kHz stereo → 48 kHz mono through the polyphase kernel (its WASM ships inside the package)
const stereo = new Int16Array(2 * 4410).fill(1000);
let resampled = 0;
await pipeline(Readable.from([new AudioFrame(stereo, 44100, 2, 4410)]), resample({ sampleRate: 48000, channels: 1 }),
  new Writable({ objectMode: true, write(f, _e, cb) { resampled += f.samplesPerChannel; cb(); } }));
console.log(JSON.stringify({ resampled, engine: resamplerEngine(44100, 48000), sizes, badIsTyped: bad instanceof InvalidAudioError && bad instanceof AudioPipelineError, code: bad?.code }));
`,
  );
  const run = spawnSync('node', ['use.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  t.equal(run.status, 0, run.stderr);
  const out = JSON.parse(run.stdout.trim().split('\n').pop()!);
  t.same(out.sizes, [480, 480, 480], 'three exact 10 ms frames, the last padded');
  t.equal(out.engine, 'polyphase', 'the installed package resamples 44.1 → 48 kHz on the polyphase kernel');
  t.equal(out.resampled, 4800, '100 ms of 44.1 kHz stereo → exactly 4800 samples of 48 kHz mono');
  t.equal(out.badIsTyped, true, 'malformed input is a typed error from the installed package');

  // CommonJS: require() gets the CommonJS build, the same classes and errors
  writeFileSync(
    join(app, 'use.cjs'),
    `
const { Readable, Writable } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const lap = require('livekit-audio-pipeline');
(async () => {
  const sizes = [];
  const frame = new lap.AudioFrame(new Int16Array(1200).fill(7), 48000, 1, 1200);
  await pipeline(Readable.from([frame]), lap.rechunk(), new Writable({ objectMode: true,
    write(f, _e, cb) { sizes.push(f.samplesPerChannel); cb(); } }));
  let err;
  try { new lap.LiveKitSink({ sampleRate: 22050 }); } catch (e) { err = e; }
  // the gateway's ws and prom-client, and the token minter, load on first use in the CommonJS build too
  const gw = lap.createGateway({ port: 0, logger: { info() {}, warn() {}, error() {} } });
  await gw.listen();
  await gw.close();
  const jwt = await lap.mintToken({ apiKey: 'k', apiSecret: 's'.repeat(32), roomName: 'r', identity: 'me' });
  await require('@livekit/rtc-node').dispose();
  console.log(JSON.stringify({ sizes, typed: err instanceof lap.ConfigError, code: err && err.code,
    sink: typeof lap.LiveKitSink, direct: lap.DEFAULT_QUEUE_SIZE_MS === 0, jwt: jwt.split('.').length }));
})().catch((e) => { console.error(e); process.exit(1); });
`,
  );
  const cjs = spawnSync('node', ['use.cjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  t.equal(cjs.status, 0, cjs.stderr);
  t.same(
    JSON.parse(cjs.stdout.trim().split('\n').pop()!),
    { sizes: [480, 480, 480], typed: true, code: 'ERR_SINK_OPTIONS', sink: 'function', direct: true, jwt: 3 },
    'require() works: CommonJS build, typed errors, direct mode by default, a gateway, a token',
  );

  // the decoders are optional peers: not installed here, so a compressed file is a clear, typed error
  copyFileSync(join(root, 'test/fixtures/compressed/tone.mp3'), join(app, 'tone.mp3'));
  writeFileSync(
    join(app, 'mp3.mjs'),
    `
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { decodeFile } from 'livekit-audio-pipeline';
let samples = 0;
try {
  const dec = decodeFile('tone.mp3', { sampleRate: 48000 });
  await pipeline(dec, new Writable({ objectMode: true, write(f, _e, cb) { samples += f.samplesPerChannel; cb(); } }));
  console.log(JSON.stringify({ samples, decoder: dec.format.decoder }));
} catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message })); }
`,
  );
  const mp3 = spawnSync('node', ['mp3.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  t.equal(mp3.status, 0, mp3.stderr);
  const mp3Out = JSON.parse(mp3.stdout.trim().split('\n').pop()!);
  t.equal(mp3Out.code, 'ERR_DECODE_UNAVAILABLE', 'without the optional decoder: a typed error');
  t.match(mp3Out.message, /npm install mpg123-decoder\b/, 'that names the streaming decoder to install');
  // installed as the message says, the same file streams through it: 300 ms of tone, exactly
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', 'mpg123-decoder'], app);
  const streamed = spawnSync('node', ['mp3.mjs'], { cwd: app, encoding: 'utf8', timeout: 60_000 });
  t.same(
    JSON.parse(streamed.stdout.trim().split('\n').pop()!),
    { samples: 14400, decoder: 'streaming' },
    'with mpg123-decoder installed: decoded in-process, the gapless 300 ms',
  );

  // the public types compile in a consumer with skipLibCheck off, for import and require
  npm(['install', '--prefer-offline', '--no-audit', '--no-fund', '@types/node@20'], app);
  // one consumer per module format: rtc-node's own ESM and CommonJS declarations both declare a global, so a
  // program that includes both at once fails inside rtc-node, not in ours
  const consumer = `
import { createGateway, LiveKitSink, jitterBuffer, type GatewayOptions, type ErrorCode } from 'livekit-audio-pipeline';
const code: ErrorCode = 'ERR_SINK_OPTIONS';
const options: GatewayOptions = { port: 0 };
export const used = [createGateway, LiveKitSink, jitterBuffer, code, options];
`;
  for (const file of ['consumer.mts', 'consumer.cts']) {
    writeFileSync(join(app, file), consumer);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          module: 'nodenext',
          moduleResolution: 'nodenext',
          target: 'es2022',
          types: ['node'],
        },
        files: [file],
      }),
    );
    const tsc = spawnSync('node', [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], {
      cwd: app,
      encoding: 'utf8',
      timeout: 120_000,
    });
    t.equal(tsc.status, 0, `${file} type-checks in a consumer with skipLibCheck: false ${tsc.stdout}${tsc.stderr}`);
  }

  const help = spawnSync(join(app, 'node_modules/.bin/livekit-audio'), ['--help'], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /loopback/);
  t.match(help.stdout, /gateway/);
  t.ok(readdirSync(join(app, 'node_modules/livekit-audio-pipeline/dist')).length > 0);
});

t.test(
  'an isolated install (npm --install-strategy=linked, as pnpm lays it out): the gateway runs both ways',
  async (t) => {
    // what docs/recipes/twilio-two-way.mjs says to install, and nothing else
    const { dir: isolated } = installApp(t, packed.tarball, ['@livekit/rtc-node', 'ws'], {
      prefix: 'lap-linked-',
      npmArgs: ['--install-strategy=linked'],
    });
    copyFileSync(join(root, 'docs/recipes/twilio-two-way.mjs'), join(isolated, 'two-way.mjs'));
    const run = spawnSync('node', ['two-way.mjs'], {
      cwd: isolated,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, LIVEKIT_URL: '' },
    });
    t.equal(run.status, 0, `the recipe runs where only declared dependencies resolve\n${run.stderr.slice(0, 2000)}`);
    t.match(run.stdout, /ok: the call went both ways/);
  },
);
