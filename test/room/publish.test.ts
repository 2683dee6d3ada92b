/**
 * connect()/publish() without a LiveKit server: every failure class against real local endpoints (a closed
 * port, an HTTP server answering 401/404, a WebSocket server that never answers), timed.
 */
import t, { type Test } from 'tap';
import http from 'node:http';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import {
  dispose,
  TrackSource,
  type LocalAudioTrack,
  type LocalTrackPublication,
  type TrackPublishOptions,
} from '@livekit/rtc-node';
import { TokenVerifier } from 'livekit-server-sdk';
import { connect, mintToken, publish, type ConnectOptions, type PublishTarget } from '../../room/publish.js';
import { ConfigError, ConnectionError } from '../../lib/errors.js';
import { VirtualClock } from '../../lib/clock.js';
import { silentFrame } from '../../lib/frames.js';
import publishCommand, { runPublish } from '../../bin/commands/publish.js';
import { DEFAULT_QUEUE_SIZE_MS } from '../../sinks/LiveKitSink.js';

t.teardown(() => dispose());

/** A JWT-shaped token (the server here never checks the signature). */
function fakeJwt(claims: Record<string, unknown>): string {
  const part = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}.sig`;
}
const TOKEN = fakeJwt({ sub: 'x', exp: Math.floor(Date.now() / 1000) + 3600 });

/** An HTTP server answering every request (WebSocket upgrades included) with `status`; records auth headers. */
async function httpServer(status: number, body: string) {
  const auth: string[] = [];
  const server = http.createServer((req, res) => {
    auth.push(req.headers.authorization ?? '');
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(body);
  });
  server.on('upgrade', (req, socket) => {
    auth.push(req.headers.authorization ?? '');
    socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, auth };
}

async function fails(t: Test, opts: ConnectOptions, code: string, maxMs: number, re?: RegExp) {
  const t0 = performance.now();
  const err = await connect(opts).then(
    () => undefined,
    (e: unknown) => e,
  );
  const ms = performance.now() - t0;
  t.type(err, ConnectionError, `${code}: a ConnectionError`);
  t.equal((err as ConnectionError).code, code, `${code}: ${(err as Error).message}`);
  if (re) t.match((err as Error).message, re);
  t.ok(ms < maxMs, `${code} in ${ms.toFixed(0)} ms (< ${maxMs})`);
  return err as ConnectionError;
}

t.test('a bad URL is refused before any network use', async (t) => {
  await fails(t, { url: '', token: TOKEN }, 'ERR_CONNECT_URL', 500, /required/);
  await fails(t, { url: 'not a url', token: TOKEN }, 'ERR_CONNECT_URL', 500, /not a URL/);
  await fails(t, { url: 'ftp://127.0.0.1:7880', token: TOKEN }, 'ERR_CONNECT_URL', 500, /scheme ftp:/);
  await fails(t, { url: 42 as unknown as string, token: TOKEN }, 'ERR_CONNECT_URL', 500);
});

t.test('a token that cannot be right is refused locally', async (t) => {
  const url = 'ws://127.0.0.1:1';
  await fails(t, { url, token: '' }, 'ERR_CONNECT_AUTH', 500, /token is required/);
  await fails(t, { url, token: 'not-a-jwt' }, 'ERR_CONNECT_AUTH', 500, /not a JWT/);
  await fails(t, { url, token: 'a.%%%.c' }, 'ERR_CONNECT_AUTH', 500, /not a JWT/);
  await fails(t, { url, token: fakeJwt({ exp: 1_600_000_000 }) }, 'ERR_CONNECT_AUTH', 500, /expired at 2020-09-13/);
});

t.test('bad options are ConfigErrors', async (t) => {
  await t.rejects(connect({ url: 'ws://x', token: TOKEN, timeoutMs: 0 }), ConfigError);
  await t.rejects(connect({ url: 'ws://x', apiKey: 'k', apiSecret: '', roomName: 'r', identity: 'i' }), {
    code: 'ERR_CONNECT_OPTIONS',
    message: /apiSecret/,
  });
  await t.rejects(mintToken({ apiKey: 'k', apiSecret: 's', roomName: 'r', identity: '' }), ConfigError);
});

t.test('nothing listening: ERR_CONNECT_REFUSED, fast', async (t) => {
  await fails(t, { url: 'ws://127.0.0.1:1', token: TOKEN }, 'ERR_CONNECT_REFUSED', 5000, /Connection refused/);
});

t.test('a server answering 401: ERR_CONNECT_AUTH, fast; the token travels as a Bearer header', async (t) => {
  const srv = await httpServer(401, 'invalid token');
  await fails(t, { url: srv.url, token: TOKEN }, 'ERR_CONNECT_AUTH', 5000, /401/);
  t.ok(srv.auth.length >= 1);
  t.equal(srv.auth[0], `Bearer ${TOKEN}`);
  // http:// is accepted (rtc-node switches it to ws://)
  await fails(t, { url: srv.url.replace('ws:', 'http:'), token: TOKEN }, 'ERR_CONNECT_AUTH', 5000);
});

t.test('minted tokens carry join + publish for the room and identity', async (t) => {
  const srv = await httpServer(401, 'invalid token');
  const creds = {
    apiKey: 'devkey',
    apiSecret: 'a-secret-of-at-least-32-characters!!',
    roomName: 'room-1',
    identity: 'bot',
  };
  await fails(t, { url: srv.url, ...creds, participantName: 'Bot' }, 'ERR_CONNECT_AUTH', 5000);
  const jwt = srv.auth[0]!.replace(/^Bearer /, '');
  const claims = await new TokenVerifier(creds.apiKey, creds.apiSecret).verify(jwt);
  t.equal(claims.sub, 'bot');
  t.equal(claims.name, 'Bot');
  t.match(claims.video, { roomJoin: true, room: 'room-1', canPublish: true, canSubscribe: false });
  t.ok(Number(claims.exp) - Math.floor(Date.now() / 1000) > 3500, 'ttl 1 h');
});

t.test('a server that is not LiveKit (404): ERR_CONNECT_FAILED with the server answer', async (t) => {
  const srv = await httpServer(404, 'no such page');
  await fails(t, { url: srv.url, token: TOKEN }, 'ERR_CONNECT_FAILED', 5000, /404/);
});

t.test('an unresolvable host: ERR_CONNECT_DNS', async (t) => {
  await fails(t, { url: 'wss://no-such-host.invalid', token: TOKEN }, 'ERR_CONNECT_DNS', 5000);
});

t.test('a server that accepts and never answers: ERR_CONNECT_TIMEOUT at timeoutMs', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise<void>((r) => wss.close(() => r()));
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const t0 = performance.now();
  const err = await fails(t, { url, token: TOKEN, timeoutMs: 400 }, 'ERR_CONNECT_TIMEOUT', 2000, /400 ms/);
  t.ok(performance.now() - t0 >= 390, 'not before the deadline');
  t.ok(err);
  // the same on a virtual clock: the deadline is the clock's
  const clock = new VirtualClock();
  const p = connect({ url, token: TOKEN, timeoutMs: 10_000, clock });
  await new Promise((r) => setTimeout(r, 20));
  clock.advance(10_000);
  await t.rejects(p, { code: 'ERR_CONNECT_TIMEOUT' });
});

t.test('an abort signal ends the attempt: ERR_CONNECT_ABORTED', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise<void>((r) => wss.close(() => r()));
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  await fails(t, { url, token: TOKEN, signal: ac.signal }, 'ERR_CONNECT_ABORTED', 2000);
  await fails(t, { url, token: TOKEN, signal: AbortSignal.abort() }, 'ERR_CONNECT_ABORTED', 500);
});

/**
 * publish() against a stand-in for the server side of a Room (there is no LiveKit server here): the
 * AudioSource, track and sink are the real native ones.
 */
function fakeRoom(fail?: Error) {
  const calls: { published: { track: LocalAudioTrack; options: TrackPublishOptions }[]; unpublished: string[] } = {
    published: [],
    unpublished: [],
  };
  const room: PublishTarget = {
    isConnected: true,
    localParticipant: {
      async publishTrack(track, options) {
        if (fail) throw fail;
        calls.published.push({ track, options });
        return { sid: 'TR_1', track } as unknown as LocalTrackPublication;
      },
      async unpublishTrack(sid) {
        calls.unpublished.push(sid);
      },
    },
  };
  return { room, calls };
}

t.test('publish: bad options are ConfigErrors before anything native exists', async (t) => {
  const { room } = fakeRoom();
  await t.rejects(publish(room, { queueSizeMs: 15 }), { code: 'ERR_PUBLISH_OPTIONS', message: /multiple of 10/ });
  await t.rejects(publish(room, { sampleRate: 0 }), { code: 'ERR_PUBLISH_OPTIONS', message: /sampleRate/ });
  await t.rejects(publish(room, { channels: 1.5 }), { code: 'ERR_PUBLISH_OPTIONS', message: /channels/ });
});

t.test('publish needs a connected room', async (t) => {
  await t.rejects(publish({ isConnected: false }), { code: 'ERR_NOT_CONNECTED' });
  await t.rejects(publish({ isConnected: true }), { code: 'ERR_NOT_CONNECTED' });
});

t.test('publish: a microphone track, the sink plays, unpublished once the sink ends', async (t) => {
  const { room, calls } = fakeRoom();
  const sink = await publish(room, {
    sampleRate: 16000,
    channels: 1,
    queueSizeMs: 100,
    name: 'call',
    publishOptions: { dtx: false },
  });
  t.equal(calls.published.length, 1);
  t.equal(calls.published[0]!.options.source, TrackSource.SOURCE_MICROPHONE);
  t.equal(calls.published[0]!.options.dtx, false);
  t.equal(sink.track.name, 'call');
  t.equal(sink.publication.sid, 'TR_1');
  t.equal(sink.source.sampleRate, 16000);
  for (let i = 0; i < 5; i++) sink.write(silentFrame(16000, 1, 160));
  sink.end();
  await new Promise((r) => sink.once('close', r));
  await sink.unpublish();
  t.same(calls.unpublished, ['TR_1']);
  await sink.unpublish();
  t.same(calls.unpublished, ['TR_1'], 'idempotent');
});

t.test('publish: defaults, and unpublish() while frames are queued stops the sink', async (t) => {
  const { room, calls } = fakeRoom();
  const sink = await publish(room, { unpublishOnEnd: false });
  t.equal(sink.source.sampleRate, 48000);
  t.equal(sink.source.numChannels, 1);
  t.equal(sink.source.queueSize, DEFAULT_QUEUE_SIZE_MS, 'LiveKitSink’s default, not rtc-node’s 1000 ms');
  t.equal(sink.track.name, 'audio');
  sink.write(silentFrame(48000, 1, 480));
  await sink.unpublish();
  t.ok(sink.destroyed);
  t.same(calls.unpublished, ['TR_1']);
});

t.test('publish: a refused publication is ERR_PUBLISH and frees the native objects', async (t) => {
  const { room } = fakeRoom(new Error('permission denied'));
  await t.rejects(publish(room), { code: 'ERR_PUBLISH', message: /permission denied/ });
});

// ---- the CLI ---------------------------------------------------------------------------------------------

const CLI = fileURLToPath(new URL('../../bin/livekit-audio.ts', import.meta.url));
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('LIVEKIT_')));

/** Run the CLI as a process (through tap's TypeScript loader), without any LIVEKIT_* variables. */
function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [...process.execArgv, CLI, ...args], {
    env: { ...cleanEnv, ...env, NODE_ENV: 'production' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A 100 ms 16 kHz mono silent WAV. */
function tinyWav(): string {
  const dir = mkdtempSync(join(tmpdir(), 'publish-test-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const data = Buffer.alloc(3200);
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
  const file = join(dir, 'tiny.wav');
  writeFileSync(file, Buffer.concat([h, data]));
  return file;
}

/** Collects what runPublish writes to stderr. */
function stderr() {
  const lines: string[] = [];
  return { lines, err: { write: (s: string) => lines.push(s), isTTY: false } };
}

t.test('CLI: publish --help explains, exit 0', async (t) => {
  const r = cli(['publish', '--help']);
  t.equal(r.code, 0);
  t.match(r.out, /livekit-audio publish <file\|-> --url URL --token TOKEN/);
  t.match(r.out, /LIVEKIT_API_KEY/);
  t.match(r.out, /Exit codes/);
  t.equal(publishCommand.usage, r.out.trimEnd());
});

t.test('CLI: missing URL or credentials → a clear message, exit 2', async (t) => {
  const wav = tinyWav();
  let r = cli(['publish', wav]);
  t.equal(r.code, 2);
  t.match(r.err, /no LiveKit URL: pass --url wss:\/\/… or set LIVEKIT_URL/);
  r = cli(['publish', wav], { LIVEKIT_URL: 'ws://127.0.0.1:1' });
  t.equal(r.code, 2);
  t.match(r.err, /no credentials: pass --token/);
  r = cli(['publish', wav, '--url', 'ws://127.0.0.1:1', '--api-key', 'k', '--api-secret', 's']);
  t.equal(r.code, 2);
  t.match(r.err, /pass --room NAME/);
  r = cli(['publish']);
  t.equal(r.code, 2);
  t.match(r.err, /which file\?/);
});

t.test('runPublish: bad invocations → exit 2', async (t) => {
  const wav = tinyWav();
  const env = { LIVEKIT_URL: 'ws://127.0.0.1:1', LIVEKIT_TOKEN: TOKEN };
  for (const [args, re] of [
    [[wav, 'other.wav'], /one file at a time/],
    [[wav, '--channels', '3'], /--channels must be 1 or 2/],
    [[wav, '--queue-ms', 'lots'], /--queue-ms must be a non-negative integer/],
    [[wav, '--bogus'], /Unknown option '--bogus'/],
    [[wav, '--url', 'not a url'], /not a URL.*ERR_CONNECT_URL/],
  ] as const) {
    const e = stderr();
    t.equal(await runPublish([...args], { env, err: e.err }), 2, args.join(' '));
    t.match(e.lines.join(''), re);
  }
  // a missing file is an input error (exit 3, the same in loopback: test/bin/exitCodes.test.ts)
  const e = stderr();
  t.equal(await runPublish(['/no/such/file.wav'], { env, err: e.err }), 3);
  t.match(e.lines.join(''), /cannot read '\/no\/such\/file.wav'/);
});

t.test('runPublish: a refused connection or token → exit 1 with the code, fast', async (t) => {
  const wav = tinyWav();
  let e = stderr();
  let t0 = performance.now();
  t.equal(await runPublish([wav, '--url', 'ws://127.0.0.1:1', '--token', TOKEN], { env: {}, err: e.err }), 1);
  t.match(e.lines.join(''), /ERR_CONNECT_REFUSED/);
  t.ok(performance.now() - t0 < 5000);
  const srv = await httpServer(401, 'invalid token');
  e = stderr();
  t0 = performance.now();
  const env = {
    LIVEKIT_URL: srv.url,
    LIVEKIT_API_KEY: 'k',
    LIVEKIT_API_SECRET: 'a-secret-of-at-least-32-characters!!',
  };
  t.equal(await runPublish([wav, '--room', 'r', '--quiet'], { env, err: e.err }), 1);
  t.match(e.lines.join(''), /the server refused the token.*ERR_CONNECT_AUTH/);
  t.ok(performance.now() - t0 < 5000);
});

t.test('runPublish: Ctrl-C while connecting → exit 130', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    return new Promise<void>((r) => wss.close(() => r()));
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 200);
  const e = stderr();
  t.equal(
    await runPublish([tinyWav(), '--url', url, '--token', TOKEN], { env: {}, err: e.err, signal: ac.signal }),
    130,
  );
  t.match(e.lines.join(''), /interrupted/);
});

t.test('runPublish end to end against a stand-in room: WAV with a progress bar, MP3 quietly', async (t) => {
  const rooms: ReturnType<typeof fakeRoom>[] = [];
  const io = (isTTY: boolean) => {
    const e = { lines: [] as string[], err: { write: (s: string) => e.lines.push(s), isTTY } };
    return {
      e,
      io: {
        env: {},
        err: e.err,
        connect: async () => {
          const r = fakeRoom();
          rooms.push(r);
          return Object.assign(r.room, { name: 'test-room', disconnect: async () => undefined });
        },
      },
    };
  };
  const wav = io(true);
  t.equal(await runPublish([tinyWav(), '--url', 'ws://x', '--token', TOKEN, '--name', 'w'], wav.io), 0);
  const out = wav.e.lines.join('');
  t.match(out, /publishing 'w' in room 'test-room'/);
  t.match(out, /\[#{30}\] 100% 0\.1 s \/ 0\.1 s/, 'the bar ends full');
  t.match(out, /done: 0\.1 s published/);
  t.same(rooms[0]!.calls.unpublished, ['TR_1']);

  const mp3 = io(false);
  const file = fileURLToPath(new URL('../fixtures/compressed/tone.mp3', import.meta.url));
  t.equal(await runPublish([file, '--url', 'ws://x', '--token', TOKEN, '--quiet', '--channels', '2'], mp3.io), 0);
  t.match(mp3.e.lines.join(''), /publishing 'tone.mp3'.*done: 0\.3 s published/s);
  t.equal(rooms[1]!.calls.published[0]!.track.name, 'tone.mp3');
  t.same(rooms[1]!.calls.unpublished, ['TR_1']);
});
