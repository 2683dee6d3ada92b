/**
 * One table of exit codes for every command (bin/commands/exitCodes.ts): the classification of errors, and
 * the same code from `loopback` and `publish` for the same mistake — through the functions and the binary.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dispose } from '@livekit/rtc-node';
import { EXIT, exitCodeFor, InputFileError, checkInputFile } from '../../bin/commands/command.js';
import { runLoopback } from '../../bin/commands/loopback.js';
import { runPublish } from '../../bin/commands/publish.js';
import {
  AudioPipelineError,
  BufferOverflowError,
  ConfigError,
  ConnectionError,
  InvalidAudioError,
  UnsupportedFormatError,
} from '../../lib/errors.js';

t.teardown(() => dispose());

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = t.testdir({ 'not-audio.wav': 'this is not a WAV file at all', 'a-directory.wav': {} });
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig';
const publishEnv = { LIVEKIT_URL: 'ws://127.0.0.1:1', LIVEKIT_TOKEN: TOKEN };

/** Run one command in-process; its exit code and what it wrote. */
async function run(command: 'loopback' | 'publish', args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => err.push(s), isTTY: false } };
  const code =
    command === 'loopback'
      ? await runLoopback([...args, '--out', join(dir, 'out')], { ...io, signal: new AbortController().signal })
      : await runPublish(args, {
          ...io,
          env: publishEnv,
          // never reached for these cases: they fail before connecting
          connect: () => Promise.reject(new Error('connect should not be called')),
        });
  return { code, out: out.join(''), err: err.join('') };
}

t.test('the table', async (t) => {
  t.same(EXIT, { ok: 0, failed: 1, usage: 2, input: 3, interrupted: 130 });
});

t.test('exitCodeFor: decoder and file errors are input, option errors usage, the rest a failed run', async (t) => {
  t.equal(exitCodeFor(new InputFileError('x.wav', 'ENOENT')), 3);
  t.equal(exitCodeFor(new InvalidAudioError('ERR_WAV_NOT_RIFF', 'x')), 3);
  t.equal(exitCodeFor(new UnsupportedFormatError('ERR_WAV_UNSUPPORTED', 'x')), 3);
  t.equal(exitCodeFor(new InvalidAudioError('ERR_DECODE_FAILED', 'x')), 3);
  t.equal(exitCodeFor(new BufferOverflowError('ERR_DECODE_TOO_LARGE', 'x')), 3);
  t.equal(exitCodeFor(new AudioPipelineError('ERR_DECODE_UNAVAILABLE', 'x')), 3);
  t.equal(exitCodeFor(new ConfigError('ERR_WAV_SINK_OPTIONS', 'x')), 2, 'the WAV sink is ours, not the input');
  t.equal(exitCodeFor(new ConfigError('ERR_LOOPBACK_ARGS', 'x')), 2);
  t.equal(exitCodeFor(new ConnectionError('ERR_CONNECT_URL', 'x')), 2);
  t.equal(exitCodeFor(new ConnectionError('ERR_CONNECT_REFUSED', 'x')), 1);
  t.equal(exitCodeFor(new ConnectionError('ERR_CONNECT_AUTH', 'x')), 1);
  t.equal(exitCodeFor(new InvalidAudioError('ERR_PCM_PARTIAL_FRAME', 'x')), 1, 'not a decoder of the input file');
  t.equal(exitCodeFor(new Error('boom')), 1);
  t.equal(exitCodeFor('a string'), 1);
});

t.test('checkInputFile: a missing file, a directory, and a readable file', async (t) => {
  await t.rejects(checkInputFile(join(dir, 'nope.wav')), { name: 'InputFileError', code: 'ENOENT' });
  await t.rejects(checkInputFile(join(dir, 'a-directory.wav')), { code: 'ENOTFILE', message: /cannot read/ });
  await t.resolves(checkInputFile(join(dir, 'not-audio.wav')));
});

t.test('loopback and publish: the same code for the same mistake', async (t) => {
  const cases: [string, string[], number, RegExp][] = [
    ['a missing file', [join(dir, 'nope.wav')], EXIT.input, /cannot read '.*nope\.wav' \(ENOENT\)/],
    ['a directory', [join(dir, 'a-directory.wav')], EXIT.input, /cannot read .*\(ENOTFILE\)/],
    ['an unknown flag', [join(dir, 'not-audio.wav'), '--bogus'], EXIT.usage, /Unknown option '--bogus'/],
    ['a bad number', [join(dir, 'not-audio.wav'), '--channels', '3'], EXIT.usage, /--channels must be 1 or 2/],
    ['two files', [join(dir, 'not-audio.wav'), join(dir, 'x.wav')], EXIT.usage, /one file at a time/],
  ];
  for (const [what, args, code, re] of cases) {
    for (const command of ['loopback', 'publish'] as const) {
      const r = await run(command, args);
      t.equal(r.code, code, `${command}, ${what}: ${r.err.trim()}`);
      t.match(r.err, re);
      t.equal(r.out, '', 'nothing on stdout without --json');
    }
  }
});

t.test('an undecodable file is an input error too (exit 3), found while decoding', async (t) => {
  const r = await run('loopback', [join(dir, 'not-audio.wav')]);
  t.equal(r.code, EXIT.input, r.err);
  t.match(r.err, /ERR_WAV_NOT_RIFF/);
  const p = await runPublish([join(dir, 'not-audio.wav'), '--quiet'], {
    env: publishEnv,
    err: { write: () => true },
    connect: async () => ({
      name: 'room',
      isConnected: true,
      disconnect: async () => undefined,
      localParticipant: {
        publishTrack: async (track) => ({ sid: 'TR_1', track }) as never,
        unpublishTrack: async () => undefined,
      },
    }),
  });
  t.equal(p, EXIT.input);
});

t.test('the binary exits with the same codes (through the TypeScript loader)', async (t) => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, ['--import=@tapjs/typescript/import', 'bin/livekit-audio.ts', ...args], {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1', LIVEKIT_URL: '', LIVEKIT_TOKEN: '' },
    });
  const missing = join(dir, 'nope.mp3');
  const loopback = cli(['loopback', missing, '--out', join(dir, 'bin-out')]);
  const publish = cli(['publish', missing, '--url', 'ws://127.0.0.1:1', '--token', TOKEN]);
  t.equal(loopback.status, 3, loopback.stderr);
  t.equal(publish.status, 3, publish.stderr);
  t.equal(cli(['publish', missing]).status, 2, 'no URL: usage before the file is looked at');
  t.equal(cli(['no-such-command']).status, 2);
  const bare = cli([]);
  t.equal(bare.status, 2, 'no command');
  t.equal(bare.stdout, '', 'the help goes to stderr then');
  t.match(bare.stderr, /Exit codes: 0 ok, 1 the run failed, 2 bad invocation, 3 input file/);
});
