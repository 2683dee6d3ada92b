/**
 * The gateway without real-time measurement: raw-PCM format parsing, and the server's refusals (upgrade
 * checks, the close code for each bad message class, max message size, secret), the CLI, against real `ws`
 * clients on 127.0.0.1 and the loopback default.
 */
import t from 'tap';
import net from 'node:net';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { dispose, type LocalTrackPublication } from '@livekit/rtc-node';
import { RawPcmParser, pcmFormat, pcmFormatFromQuery } from '../../gateway/protocols/rawPcm.js';
import { CloseCode, ProtocolError } from '../../gateway/protocols/protocol.js';
import { createGateway } from '../../gateway/server.js';
import type { ConnectionRecord } from '../../gateway/connection.js';
import { client, media, SID, START, startGateway, upgradeStatus } from '../helpers/gatewayClient.js';
import type { PublishTarget } from '../../room/publish.js';
import { ConfigError } from '../../lib/errors.js';
import { VirtualClock } from '../../lib/clock.js';
import gatewayCommand, { runGateway } from '../../bin/commands/gateway.js';

t.teardown(() => dispose());

t.test('raw PCM format from the URL query', (t) => {
  t.equal(pcmFormatFromQuery(new URLSearchParams('')), undefined, 'no rate: no format declared');
  t.same(pcmFormatFromQuery(new URLSearchParams('rate=16000')), { encoding: 's16le', sampleRate: 16000, channels: 1 });
  t.same(pcmFormatFromQuery(new URLSearchParams('sampleRate=8000&channels=2&encoding=mulaw')), {
    encoding: 'mulaw',
    sampleRate: 8000,
    channels: 2,
  });
  for (const q of [
    'rate=16000.5',
    'rate=7999',
    'rate=192001',
    'rate=abc',
    'rate=16000&channels=0',
    'rate=16000&channels=9',
    'rate=16000&encoding=opus',
    'rate=',
  ]) {
    t.throws(
      () => pcmFormatFromQuery(new URLSearchParams(q)),
      { closeCode: CloseCode.UNSUPPORTED_DATA, code: 'ERR_PCM_FORMAT' },
      q,
    );
  }
  t.end();
});

t.test('raw PCM format from a JSON declaration', (t) => {
  t.same(pcmFormat({ rate: 48000, channels: 2, encoding: 'f32le' }), {
    encoding: 'f32le',
    sampleRate: 48000,
    channels: 2,
  });
  t.throws(() => pcmFormat({}), { code: 'ERR_PCM_FORMAT', message: /sampleRate/ });
  t.throws(() => pcmFormat({ sampleRate: 16000, encoding: 42 }), {
    code: 'ERR_PCM_FORMAT',
    message: /encoding must be one of u8 s16le/,
  });
  t.end();
});

t.test('RawPcmParser: format first (query or JSON), then binary only', (t) => {
  const q = new RawPcmParser({ encoding: 's16le', sampleRate: 16000, channels: 1 });
  const bytes = Buffer.from([1, 2, 3]);
  t.same(q.handleMessage(bytes, true), { kind: 'audio', bytes });
  t.throws(() => q.handleMessage(Buffer.from('{"sampleRate":8000}'), false), {
    closeCode: CloseCode.UNSUPPORTED_DATA,
    code: 'ERR_PCM_TEXT',
  });

  const j = new RawPcmParser();
  t.equal(j.format, undefined);
  t.throws(() => j.handleMessage(bytes, true), { closeCode: CloseCode.POLICY_VIOLATION, code: 'ERR_PCM_NO_FORMAT' });
  t.same(j.handleMessage(Buffer.from('{"sampleRate":8000,"encoding":"alaw"}'), false), {
    kind: 'format',
    format: { encoding: 'alaw', sampleRate: 8000, channels: 1 },
  });
  t.same(j.format, { encoding: 'alaw', sampleRate: 8000, channels: 1 });

  for (const [text, closeCode, code] of [
    ['{"sampleRate":', CloseCode.INVALID_PAYLOAD, 'ERR_PCM_JSON'],
    ['[8000]', CloseCode.POLICY_VIOLATION, 'ERR_PCM_FORMAT'],
    ['"8000"', CloseCode.POLICY_VIOLATION, 'ERR_PCM_FORMAT'],
    ['{"sampleRate":1}', CloseCode.UNSUPPORTED_DATA, 'ERR_PCM_FORMAT'],
  ] as const) {
    t.throws(() => new RawPcmParser().handleMessage(Buffer.from(text), false), ProtocolError);
    t.throws(() => new RawPcmParser().handleMessage(Buffer.from(text), false), { closeCode, code }, text);
  }
  t.end();
});

// ---- the server --------------------------------------------------------------------------------------------

t.test('the server refuses each bad message class with its close code; others keep being served', async (t) => {
  const { url, gw, recordOf } = await startGateway(t, { maxMessageBytes: 4096 });
  const cases: [string, string, (ws: WebSocket) => void, number, RegExp, string][] = [
    [
      'binary on Twilio',
      '/twilio',
      (ws) => ws.send(Buffer.from([1, 2, 3])),
      1003,
      /binary message/,
      'ERR_TWILIO_BINARY',
    ],
    ['malformed JSON', '/twilio', (ws) => ws.send('{"event":'), 1007, /malformed JSON/, 'ERR_TWILIO_JSON'],
    [
      'unknown event',
      '/twilio',
      (ws) => ws.send('{"event":"hello"}'),
      1008,
      /unknown event "hello"/,
      'ERR_TWILIO_EVENT',
    ],
    [
      'media before start',
      '/twilio',
      (ws) => ws.send(JSON.stringify(media(1))),
      1008,
      /"media" before "start"/,
      'ERR_TWILIO_ORDER',
    ],
    [
      'bad base64',
      '/twilio',
      (ws) => {
        ws.send(JSON.stringify(START));
        ws.send(JSON.stringify(media(1, '%%%%')));
      },
      1007,
      /not base64/,
      'ERR_TWILIO_BASE64',
    ],
    [
      'unsupported media format',
      '/twilio',
      (ws) =>
        ws.send(
          JSON.stringify({
            ...START,
            start: { ...START.start, mediaFormat: { encoding: 'audio/x-alaw', sampleRate: 8000, channels: 1 } },
          }),
        ),
      1003,
      /audio\/x-mulaw/,
      'ERR_TWILIO_FORMAT',
    ],
    ['auto: malformed first message', '/', (ws) => ws.send('nope'), 1007, /malformed JSON/, 'ERR_GATEWAY_JSON'],
    [
      'auto: binary with no format',
      '/',
      (ws) => ws.send(Buffer.alloc(320)),
      1008,
      /audio before any format/,
      'ERR_PCM_NO_FORMAT',
    ],
    [
      'pcm: text after the format',
      '/pcm?rate=16000',
      (ws) => ws.send('{"sampleRate":16000}'),
      1003,
      /send audio as binary/,
      'ERR_PCM_TEXT',
    ],
    ['too big', '/twilio', (ws) => ws.send('x'.repeat(5000)), 1009, /^$/, 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'],
    [
      'invalid UTF-8',
      '/twilio',
      (ws) => ws.send(Buffer.from([0x7b, 0xff, 0x7d]), { binary: false }),
      1007,
      /^$/,
      'WS_ERR_INVALID_UTF8',
    ],
  ];
  // a good stream runs throughout
  const good = await client(`${url}/pcm?rate=16000&channels=1&encoding=s16le`);
  const tone = Buffer.alloc(640);
  for (let i = 0; i < 320; i++) tone.writeInt16LE(Math.round(8000 * Math.sin((2 * Math.PI * 500 * i) / 16000)), i * 2);
  let sent = 0;
  const feeder = setInterval(() => {
    good.ws.send(tone);
    sent++;
  }, 20);
  for (const [name, path, send, code, reason, errCode] of cases) {
    const c = await client(url + path);
    send(c.ws);
    const closed = await c.closed;
    t.equal(closed.code, code, `${name}: close code ${closed.code}`);
    t.match(closed.reason, reason, `${name}: reason '${closed.reason}'`);
    const rec = await recordOf(c.ws);
    t.equal(rec.error?.code, errCode, `${name}: logged error code`);
    t.equal(rec.close.code, code);
    t.equal(rec.close.by, 'gateway');
  }
  t.equal(good.ws.readyState, WebSocket.OPEN, 'the good stream is still open');
  const [conn] = gw.connections.values();
  t.equal(conn!.protocol, 'pcm');
  t.ok(conn!.bufferedMs > 0 && conn!.bufferedMs < 1000, `the connection holds ${conn!.bufferedMs.toFixed(1)} ms`);
  clearInterval(feeder);
  good.ws.close(1000, 'done');
  const rec = await recordOf(good.ws);
  t.equal(rec.error, null);
  t.same(rec.close, { code: 1000, reason: 'done', by: 'client' });
  t.equal(rec.protocol, 'pcm');
  t.equal(rec.bytes, sent * 640);
  t.equal(rec.audioMs, sent * 20);
  t.ok(rec.frames >= sent * 2 - 2, `${rec.frames} frames of 10 ms for ${sent} messages of 20 ms`);
  t.equal(rec.jitter?.state, 'ended');
  t.equal((rec.sink as { mode: string }).mode, 'direct', 'the gateway default: direct mode behind the jitter buffer');
  t.equal((rec.sink as { captureMethod: string }).captureMethod, 'ffi');
});

t.test('the upgrade: plain HTTP, bad query, shared secret', async (t) => {
  const { url } = await startGateway(t, { secret: 's3cret-value' });
  const res = await fetch(url.replace('ws:', 'http:'));
  t.equal(res.status, 426);
  t.match(await res.text(), /connect with a WebSocket/);

  t.equal(await upgradeStatus(`${url}/pcm?rate=16000`), 401, 'raw PCM without the secret');
  t.equal(await upgradeStatus(`${url}/pcm?rate=16000&secret=wrong`), 401, 'wrong secret in the query');
  t.equal(await upgradeStatus(`${url}/pcm?rate=16000`, { authorization: 'Bearer s3cret-valuX' }), 401);
  t.equal(
    await upgradeStatus(`${url}/twilio`, { 'x-gateway-secret': 'nope' }),
    401,
    'a wrong secret is never deferred',
  );
  t.equal(await upgradeStatus(`${url}/pcm?rate=16000&secret=s3cret-value`), 101, 'query');
  t.equal(await upgradeStatus(`${url}/pcm?rate=16000`, { authorization: 'Bearer s3cret-value' }), 101, 'bearer');
  t.equal(await upgradeStatus(`${url}/twilio`, { 'x-gateway-secret': 's3cret-value' }), 101, 'header');
  t.equal(await upgradeStatus(`${url}/pcm?rate=1&secret=s3cret-value`), 400, 'bad format in the query');
});

t.test('Twilio may show the secret in its start message instead', async (t) => {
  const { url, recordOf } = await startGateway(t, { secret: 's3cret-value' });
  const start = (secret: string) =>
    JSON.stringify({ ...START, start: { ...START.start, customParameters: { secret } } });

  const wrong = await client(`${url}/twilio`);
  wrong.ws.send(start('guess-guess'));
  t.same(await wrong.closed, { code: 1008, reason: 'missing or wrong secret in customParameters' });
  t.equal((await recordOf(wrong.ws)).error?.code, 'ERR_GATEWAY_SECRET');

  const pcm = await client(`${url}/`);
  pcm.ws.send('{"sampleRate":16000}');
  t.same(await pcm.closed, { code: 1008, reason: 'raw PCM must present the secret when it connects' });

  const right = await client(`${url}/twilio`);
  right.ws.send(start('s3cret-value'));
  for (let i = 1; i <= 5; i++) right.ws.send(JSON.stringify(media(i)));
  right.ws.send(JSON.stringify({ event: 'stop', sequenceNumber: '7', streamSid: SID }));
  right.ws.close();
  const rec = await recordOf(right.ws);
  t.equal(rec.error, null);
  t.equal(rec.streamSid, SID);
  t.equal(rec.audioMs, 100);
  t.equal(rec.twilio?.media, 5);
});

t.test('Twilio without the secret must start within 5 s', async (t) => {
  const clock = new VirtualClock();
  const { url } = await startGateway(t, { secret: 's3cret-value', clock });
  const c = await client(`${url}/twilio`);
  c.ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  await new Promise((r) => setTimeout(r, 50));
  clock.advance(4999);
  t.equal(c.ws.readyState, WebSocket.OPEN);
  clock.advance(1);
  t.same(await c.closed, { code: 1008, reason: 'no Twilio "start" with the secret in its customParameters' });
});

t.test('Twilio details: other tracks and late chunks are skipped and counted; marks and dtmf counted', async (t) => {
  const { url, recordOf } = await startGateway(t);
  const c = await client(`${url}/`); // auto-detected from the first message
  c.ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  c.ws.send(JSON.stringify(START));
  c.ws.send(JSON.stringify(media(1)));
  c.ws.send(JSON.stringify({ ...media(2), media: { ...media(2).media, track: 'outbound' } }));
  c.ws.send(JSON.stringify(media(3)));
  c.ws.send(JSON.stringify(media(3)));
  c.ws.send(JSON.stringify({ event: 'mark', streamSid: SID, mark: { name: 'm' } }));
  c.ws.send(JSON.stringify({ event: 'dtmf', streamSid: SID, dtmf: { digit: '5' } }));
  c.ws.send(JSON.stringify({ event: 'stop', streamSid: SID }));
  const rec = await recordOf(c.ws);
  t.equal(rec.protocol, 'twilio');
  t.equal(rec.audioMs, 40, 'chunks 1 and 3');
  t.match(rec.twilio, { media: 4, lateChunks: 1, marks: 1, dtmf: 1, otherTrack: 1, missingChunks: 0 });
  t.same(rec.close, { code: 1000, reason: 'stream stopped', by: 'gateway' });
  t.same(await c.closed, { code: 1000, reason: 'stream stopped' });
});

t.test('audio that cannot be decoded, and a sink that cannot be made, close with 1007 / 1011', async (t) => {
  const { url, recordOf } = await startGateway(t);
  // 3 bytes of s16le: the stream ends inside a sample
  const c = await client(`${url}/pcm?rate=16000`);
  c.ws.send(Buffer.from([1, 2, 3]));
  c.ws.close(1000);
  const rec = await recordOf(c.ws);
  t.equal(rec.error?.code, 'ERR_PCM_PARTIAL_FRAME');

  const failing = await startGateway(t, {
    sink: async () => {
      throw new Error('no room today');
    },
  });
  const d = await client(`${failing.url}/pcm?rate=16000`);
  t.same(await d.closed, { code: 1011, reason: 'no room today' });
  t.equal((await failing.recordOf(d.ws)).error?.message, 'no room today');
});

t.test(
  'publishing into a room: one track per connection, named by connection id, unpublished at the end',
  async (t) => {
    const published: string[] = [];
    const unpublished: string[] = [];
    const room: PublishTarget = {
      isConnected: true,
      localParticipant: {
        async publishTrack(track) {
          published.push(track.name!);
          return { sid: `TR_${published.length}`, track } as unknown as LocalTrackPublication;
        },
        async unpublishTrack(sid) {
          unpublished.push(sid);
        },
      },
    };
    const { url, gw, recordOf } = await startGateway(t, { room });
    t.equal(gw.room, undefined, 'a given room is not the gateway’s to disconnect');
    const a = await client(`${url}/pcm?rate=8000&encoding=mulaw`);
    const b = await client(`${url}/pcm?rate=8000&encoding=mulaw`);
    t.equal(gw.connections.size, 2);
    a.ws.send(Buffer.alloc(160, 0xff));
    b.ws.send(Buffer.alloc(160, 0xff));
    a.ws.close();
    b.ws.close();
    const ra = await recordOf(a.ws);
    const rb = await recordOf(b.ws);
    t.same(published.sort(), [ra.id, rb.id].sort());
    t.same(unpublished.sort(), ['TR_1', 'TR_2']);
    t.equal(gw.connections.size, 0);
  },
);

t.test('close(): open connections get 1001 and drain; a client that never answers is cut', async (t) => {
  const { url, gw, recordOf } = await startGateway(t, { closeTimeoutMs: 300 });
  const c = await client(`${url}/pcm?rate=16000`);
  c.ws.send(Buffer.alloc(640));
  // a raw socket that upgrades and then ignores everything (no close reply)
  const port = Number(new URL(url).port);
  const raw = net.connect(port, '127.0.0.1');
  raw.on('error', () => undefined);
  raw.write(
    'GET /pcm?rate=16000 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
  raw.pause();
  await new Promise((r) => setTimeout(r, 100));
  t.equal(gw.connections.size, 2);
  const t0 = performance.now();
  await gw.close();
  t.ok(performance.now() - t0 < 2000, 'bounded');
  t.same(await c.closed, { code: 1001, reason: 'gateway shutting down' });
  const rec = await recordOf(c.ws);
  t.same(rec.close, { code: 1001, reason: 'gateway shutting down', by: 'gateway' });
  t.equal(gw.connections.size, 0);
  t.equal(await upgradeStatus(url), -1, 'nothing listens any more');
  raw.destroy();
});

t.test('createGateway options and listen failures', async (t) => {
  t.throws(() => createGateway({ port: 70000 }), ConfigError);
  t.throws(() => createGateway({ maxMessageBytes: 10 }), { code: 'ERR_GATEWAY_OPTIONS' });
  t.throws(() => createGateway({ secret: 'short' }), { message: /at least 8/ });
  t.throws(() => createGateway({ sampleRate: 22050 }), { code: 'ERR_GATEWAY_OPTIONS', message: /10 ms/ });
  t.throws(() => createGateway({ sampleRate: 'input' as never }), { code: 'ERR_GATEWAY_OPTIONS' });
  const { gw } = await startGateway(t);
  const other = createGateway({ port: gw.address!.port });
  await t.rejects(other.listen(), { code: 'EADDRINUSE' });
  await other.close();
  const unreachable = createGateway({ port: 0, room: { url: 'ws://127.0.0.1:1', token: 'a.e30.c' } });
  await t.rejects(unreachable.listen(), { code: 'ERR_CONNECT_REFUSED' });
  await unreachable.close();
});

// ---- the CLI ---------------------------------------------------------------------------------------------

const CLI = fileURLToPath(new URL('../../bin/livekit-audio.ts', import.meta.url));

t.test('CLI: gateway --help', async (t) => {
  const r = spawnSync(process.execPath, [...process.execArgv, CLI, 'gateway', '--help'], {
    encoding: 'utf8',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  t.equal(r.status, 0);
  t.equal(r.stdout.trimEnd(), gatewayCommand.usage);
  t.match(r.stdout, /--secret S/);
  t.match(r.stdout, /Default 127\.0\.0\.1/);
});

t.test('runGateway: bad options → exit 2; runs, logs one JSON line per connection, stops on the signal', async (t) => {
  const lines: string[] = [];
  const errs: string[] = [];
  const io = (signal?: AbortSignal, onListening?: (a: { port: number }) => void) => ({
    env: {},
    out: (l: string) => lines.push(l),
    err: (l: string) => errs.push(l),
    signal,
    onListening,
  });
  t.equal(await runGateway(['--port', 'x'], io()), 2);
  t.match(errs.pop(), /--port must be a non-negative integer/);
  t.equal(await runGateway(['extra'], io()), 2);
  t.equal(await runGateway(['--secret', 'short'], io()), 2);
  t.equal(await runGateway(['--url', 'ws://127.0.0.1:1'], io()), 2);
  t.match(errs.pop(), /no credentials/);
  t.equal(await runGateway(['--port', '0', '--url', 'ws://127.0.0.1:1', '--token', 'a.e30.c'], io()), 1);
  t.match(errs.pop(), /ERR_CONNECT_REFUSED/);

  const ac = new AbortController();
  const listening = deferred<{ port: number }>();
  const exit = runGateway(['--port', '0', '--max-message-bytes', '2048'], io(ac.signal, listening.resolve));
  const { port } = await listening.promise;
  t.match(errs.pop(), new RegExp(`listening on ws://127.0.0.1:${port} — loopback mode`));
  const c = await client(`ws://127.0.0.1:${port}/pcm?rate=16000`);
  c.ws.send(Buffer.alloc(3000));
  t.equal((await c.closed).code, 1009);
  ac.abort();
  t.equal(await exit, 0);
  const logged = lines.map((l) => JSON.parse(l) as { msg: string; level: number });
  t.same(
    logged.map((l) => l.msg),
    ['call opened', 'call closed'],
    'one pino line when the call opens, one when it closes',
  );
  const rec = logged[1] as unknown as ConnectionRecord & { level: number };
  t.equal(rec.event, 'gateway.connection');
  t.equal(rec.level, 40, 'a call closed by an error is a warning');
  t.equal(rec.close.code, 1009);
});

function deferred<T>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
