/**
 * `--json`: one JSON document on stdout and nothing else — the report when the run completes, the failure
 * (command, ok, exitCode, error) otherwise. Publish against a stand-in room; the loopback's report (a real-time
 * run) is checked in test/realtime/loopbackCli.test.ts.
 */
import t, { type Test } from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dispose } from '@livekit/rtc-node';
import { runLoopback } from '../../bin/commands/loopback.js';
import { runPublish, type PublishJson, type PublishIo } from '../../bin/commands/publish.js';
import { failureJson, toJson, wantsJson, type JsonFailure } from '../../bin/commands/jsonReport.js';
import { InputFileError } from '../../bin/commands/inputFile.js';
import { ConnectionError } from '../../lib/errors.js';

t.teardown(() => dispose());

const dir = mkdtempSync(join(tmpdir(), 'json-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const TOKEN = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.sig';

/** `ms` of a 16 kHz mono WAV of a quiet square wave. */
function wav(ms: number): string {
  const n = (16000 * ms) / 1000;
  const data = Buffer.alloc(n * 2);
  for (let i = 0; i < n; i++) data.writeInt16LE(i % 40 < 20 ? 1000 : -1000, i * 2);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(16000, 24);
  h.writeUInt32LE(32000, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  const file = join(dir, `tone-${ms}.wav`);
  writeFileSync(file, Buffer.concat([h, data]));
  return file;
}

/** A stand-in room: publishTrack/unpublishTrack recorded, nothing sent anywhere. */
const standInRoom: NonNullable<PublishIo['connect']> = async () => ({
  name: 'json-room',
  isConnected: true,
  disconnect: async () => undefined,
  localParticipant: {
    publishTrack: async (track) => ({ sid: 'TR_1', track }) as never,
    unpublishTrack: async () => undefined,
  },
});

function capture(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    io: { out: { write: (s: string) => out.push(s) }, err: { write: (s: string) => err.push(s), isTTY } },
  };
}

/** stdout holds exactly one line of JSON: parse it. */
function onlyJson(t: Test, out: string[]): unknown {
  const text = out.join('');
  t.equal(text.split('\n').length, 2, 'one line, newline-terminated');
  t.ok(text.endsWith('\n'));
  return JSON.parse(text);
}

t.test('publish --json: the report of a played-out file, and the progress line stays on stderr', async (t) => {
  const c = capture(true);
  const file = wav(300);
  const code = await runPublish([file, '--url', 'ws://x', '--token', TOKEN, '--json', '--name', 'tone'], {
    ...c.io,
    env: {},
    connect: standInRoom,
  });
  t.equal(code, 0, c.err.join(''));
  const r = onlyJson(t, c.out) as PublishJson;
  t.match(r, {
    command: 'publish',
    ok: true,
    exitCode: 0,
    file,
    name: 'tone',
    room: 'json-room',
    track: { sampleRate: 48000, channels: 1, mode: 'direct', queueSizeMs: 0 },
    totalMs: 300,
    publishedMs: 300,
  });
  t.equal(r.sink.samplesCaptured, 14400, '300 ms at 48 kHz');
  t.equal(r.sink.framesCaptured, 30);
  t.ok(r.wallMs >= 250 && r.wallMs < 5000, `played at real time: ${r.wallMs} ms`);
  t.same(Object.keys(r), [
    'command',
    'ok',
    'exitCode',
    'file',
    'name',
    'room',
    'track',
    'totalMs',
    'publishedMs',
    'wallMs',
    'sink',
  ]);
  const err = c.err.join('');
  t.match(err, /\r\[#{30}\] 100% 0\.3 s \/ 0\.3 s {2}underruns \d+\n/, 'a TTY got the progress line');
  t.match(err, /done: 0\.3 s published/);
});

t.test('--json failures: command, ok false, exitCode, error with its code', async (t) => {
  const expect = async (
    what: string,
    run: (io: ReturnType<typeof capture>['io']) => Promise<number>,
    code: number,
    error: { code: string | null; message: RegExp },
  ) => {
    const c = capture();
    t.equal(await run(c.io), code, what);
    const r = onlyJson(t, c.out) as JsonFailure;
    t.equal(r.ok, false, what);
    t.equal(r.exitCode, code, what);
    t.equal(r.error.code, error.code, what);
    t.match(r.error.message, error.message, what);
    t.same(Object.keys(r), ['command', 'ok', 'exitCode', 'error']);
    t.ok(c.err.join('').length > 0, 'the human line still goes to stderr');
    return r;
  };
  const signal = new AbortController().signal;
  const lb = (args: string[]) => (io: ReturnType<typeof capture>['io']) =>
    runLoopback([...args, '--json', '--out', join(dir, 'out')], { ...io, signal });
  const pub = (args: string[]) => (io: ReturnType<typeof capture>['io']) =>
    runPublish([...args, '--json'], { ...io, env: {}, connect: standInRoom });
  let r = await expect('loopback, bad flag', lb(['--rate', '22050']), 2, {
    code: 'ERR_LOOPBACK_ARGS',
    message: /--rate must be a multiple of 100/,
  });
  t.equal(r.command, 'loopback');
  await expect('loopback, missing file', lb([join(dir, 'nope.wav')]), 3, { code: 'ENOENT', message: /cannot read/ });
  r = await expect('publish, missing file', pub([join(dir, 'nope.wav'), '--url', 'ws://x', '--token', TOKEN]), 3, {
    code: 'ENOENT',
    message: /cannot read/,
  });
  t.equal(r.command, 'publish');
  await expect('publish, unknown flag', pub(['--bogus']), 2, { code: null, message: /Unknown option '--bogus'/ });
  await expect('publish, no URL', pub([wav(100)]), 2, { code: 'ERR_CONNECT_OPTIONS', message: /no LiveKit URL/ });
  const refused = (io: ReturnType<typeof capture>['io']) =>
    runPublish([wav(100), '--url', 'ws://127.0.0.1:1', '--token', TOKEN, '--json'], { ...io, env: {} });
  await expect('publish, connection refused', refused, 1, { code: 'ERR_CONNECT_REFUSED', message: /nothing accepts/ });
  const ac = new AbortController();
  ac.abort();
  const interrupted = (io: ReturnType<typeof capture>['io']) =>
    runPublish([wav(100), '--url', 'ws://127.0.0.1:1', '--token', TOKEN, '--json'], {
      ...io,
      env: {},
      signal: ac.signal,
    });
  await expect('publish, interrupted', interrupted, 130, { code: null, message: /^interrupted$/ });
});

t.test('the helpers: Infinity spelled out, error codes, --json spotted before parsing', async (t) => {
  t.equal(toJson({ snrDb: Infinity, n: 1 }), '{"snrDb":"Infinity","n":1}');
  t.same(failureJson('publish', 1, new ConnectionError('ERR_CONNECT_AUTH', 'no')), {
    command: 'publish',
    ok: false,
    exitCode: 1,
    error: { message: 'no', code: 'ERR_CONNECT_AUTH' },
  });
  t.equal(failureJson('loopback', 3, new InputFileError('a.wav', 'EACCES')).error.code, 'EACCES');
  t.equal(failureJson('loopback', 1, 'text').error.message, 'text');
  t.equal(wantsJson(['a.wav', '--json']), true);
  t.equal(wantsJson(['a.wav', '--jsonx']), false);
});
