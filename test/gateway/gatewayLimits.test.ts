/**
 * The gateway's defences, in process against real clients on 127.0.0.1: request targets the URL parser rejects,
 * authentication on every route (secret, deferred Twilio secret, Twilio signature), the call caps, and the
 * per-call deadlines on virtual time. After each attack a good call must still be served.
 */
import t from 'tap';
import net from 'node:net';
import { dispose } from '@livekit/rtc-node';
import { WebSocket } from 'ws';
import { VirtualClock } from '../../lib/clock.js';
import { ConfigError } from '../../lib/errors.js';
import { Admission, defaultMaxCalls, FDS_PER_CALL, RESERVED_FDS } from '../../gateway/admission.js';
import { twilioSignature, validTwilioSignature } from '../../gateway/auth.js';
import { createGateway } from '../../gateway/server.js';
import { parseUpgradeTarget } from '../../gateway/upgrade.js';
import { openFilesLimit } from '../../lib/openFilesLimit.js';
import { client, media, SID, START, startGateway, upgradeStatus } from '../helpers/gatewayClient.js';

t.teardown(() => dispose());

/** Send a raw upgrade request; resolves with the status line, or how the socket ended. */
function rawRequest(port: number, requestLine: string, headers = 'Host: x\r\n'): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (r: string) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(3000, () => done('timeout'));
    s.on('error', () => done('reset'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done(got.split('\r\n')[0]!);
    });
    s.on('close', () => done(got ? got.split('\r\n')[0]! : 'closed'));
    const upgrade =
      'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n';
    s.write(`${requestLine}\r\n${headers}${upgrade}\r\n`);
  });
}

/** A raw-PCM call that sends `ms` of 8 kHz s16le at once and closes; resolves with its record's frames. */
async function goodCall(
  url: string,
  recordOf: (ws: WebSocket) => Promise<{ frames: number; error: unknown }>,
  query = '',
) {
  const c = await client(`${url}/pcm?rate=8000${query}`);
  c.ws.send(Buffer.alloc(8 * 2 * 100)); // 100 ms
  c.ws.close(1000);
  return recordOf(c.ws);
}

t.test('request targets: parsed by hand, never thrown', (t) => {
  // `//…` is an origin-form path like any other (new URL would read an authority in it and throw)
  for (const odd of ['//[', '//a:99999', '//%zz', '//@']) t.notOk('error' in parseUpgradeTarget(odd), `${odd}: a path`);
  for (const bad of ['http://x:1:2/', 'x', '*', '/'.repeat(9000)]) {
    t.ok('error' in parseUpgradeTarget(bad), `${bad.slice(0, 20)}: refused`);
  }
  const r = parseUpgradeTarget('//[?rate=8000&secret=%zz');
  t.ok(!('error' in r) && r.pathname === '//[' && r.query.get('rate') === '8000' && r.query.get('secret') === '%zz');
  const abs = parseUpgradeTarget('http://h:1/twilio?a=1');
  t.ok(!('error' in abs) && abs.pathname === '/twilio' && abs.raw === '/twilio?a=1');
  t.end();
});

t.test('hostile upgrade targets get 400 or a refusal, and the gateway keeps serving', async (t) => {
  const { gw, url, recordOf } = await startGateway(t);
  const port = gw.address!.port;
  const cases: [string, RegExp][] = [
    // odd paths are routed by their first message, like `/`
    ['GET //[ HTTP/1.1', /^HTTP\/1\.1 101/],
    ['GET //a:99999 HTTP/1.1', /^HTTP\/1\.1 101/],
    ['GET //%zz HTTP/1.1', /^HTTP\/1\.1 101/],
    ['GET //@ HTTP/1.1', /^HTTP\/1\.1 101/],
    ['GET http://x:1:2/ HTTP/1.1', /^HTTP\/1\.1 400/],
    ['GET nopath HTTP/1.1', /^HTTP\/1\.1 400/],
    [`GET /${'a'.repeat(9000)} HTTP/1.1`, /^HTTP\/1\.1 400/],
    ['GET /pcm?rate=8000&channels=%ff HTTP/1.1', /^HTTP\/1\.1 400/],
    ['GET /\u0000 HTTP/1.1', /^HTTP\/1\.1 400/],
    ['GARBAGE', /^HTTP\/1\.1 400/],
  ];
  for (const [line, want] of cases) t.match(await rawRequest(port, line), want, JSON.stringify(line.slice(0, 30)));
  const rec = await goodCall(url, recordOf as never);
  t.equal(rec.frames, 10, 'a good call afterwards is served whole');
  t.equal(gw.stats.failed, 0, 'no unexpected failure');
  t.equal(gw.stats.refused.badRequest, 3, "bad targets and formats counted (the rest Node's HTTP parser answers)");
});

t.test('the secret on every route: no route opens without it', async (t) => {
  const { url, gw } = await startGateway(t, { secret: 's3cret-value' });
  for (const path of ['/?sampleRate=8000', '/?rate=8000', '/pcm', '/pcm?rate=8000', '/x/pcm?rate=16000&channels=2']) {
    t.equal(await upgradeStatus(`${url}${path}`), 401, `${path} without the secret`);
  }
  t.equal(await upgradeStatus(`${url}/?sampleRate=8000&secret=s3cret-value`), 101, 'with it');
  t.equal(gw.stats.refused.unauthorized, 5);
  t.equal(gw.connections.size <= 1, true, 'no call object for a refused upgrade');
});

t.test('Twilio signature: required on /twilio when an auth token is set, and it stands for the secret', async (t) => {
  const token = 'twilio-auth-token-0123456789';
  const { url, gw } = await startGateway(t, {
    secret: 's3cret-value',
    twilioAuthToken: token,
    publicUrl: 'wss://gw.example.com',
  });
  const sign = (target: string) => twilioSignature(token, `wss://gw.example.com${target}`);
  t.equal(await upgradeStatus(`${url}/twilio`), 401, 'no signature');
  t.equal(
    await upgradeStatus(`${url}/twilio`, { 'x-twilio-signature': sign('/other') }),
    401,
    'signature of another URL',
  );
  t.equal(await upgradeStatus(`${url}/twilio`, { 'x-twilio-signature': 'x'.repeat(300) }), 401, 'oversized');
  t.equal(
    await upgradeStatus(`${url}/twilio`, { 'x-twilio-signature': sign('/twilio') }),
    101,
    'valid: no secret needed',
  );
  t.equal(
    await upgradeStatus(`${url}/pcm?rate=8000`, { 'x-twilio-signature': sign('/pcm?rate=8000') }),
    401,
    'only for /twilio',
  );
  t.equal(gw.stats.refused.unauthorized, 4);
  // base64(HMAC-SHA1(token, URL)), as `openssl dgst -sha1 -hmac 12345 -binary | base64` computes it
  t.equal(twilioSignature('12345', 'https://mycompany.com/myapp.php?foo=1&bar=2'), 'zYQTYrRWXE7LtzbG4PfP7/bkkGo=');
  t.notOk(validTwilioSignature({ host: 'h' }, '/twilio', token), 'no header');
});

t.test('call caps: 503 beyond maxCalls and per address, and room again once a call ends', async (t) => {
  const { url, gw, recordOf } = await startGateway(t, { maxCalls: 2, maxCallsPerIp: 1 });
  const a = await client(`${url}/pcm?rate=8000`, {}, '127.0.0.1');
  t.equal(await upgradeStatus(`${url}/pcm?rate=8000`, {}, '127.0.0.1'), 503, 'second call from one address');
  const b = await client(`${url}/pcm?rate=8000`, {}, '127.0.0.2');
  t.equal(await upgradeStatus(`${url}/pcm?rate=8000`, {}, '127.0.0.3'), 503, 'third call: at capacity');
  t.same(gw.stats.refused, { badRequest: 0, capacity: 1, perIp: 1, unauthorized: 0, shuttingDown: 0 });
  t.equal(gw.stats.active, 2);
  a.ws.close(1000);
  await recordOf(a.ws);
  t.equal(gw.stats.active, 1);
  const c = await client(`${url}/pcm?rate=8000`, {}, '127.0.0.3');
  t.equal(c.ws.readyState, WebSocket.OPEN, 'admitted once a call has ended');
  b.ws.close(1000);
  c.ws.close(1000);
  await Promise.all([recordOf(b.ws), recordOf(c.ws)]);
});

t.test('deadlines: first audio, idle, longest call (virtual time)', async (t) => {
  const clock = new VirtualClock();
  const { url } = await startGateway(t, {
    clock,
    firstAudioTimeoutMs: 10_000,
    idleTimeoutMs: 15_000,
    maxCallDurationMs: 60_000,
  });
  const settle = () => new Promise((r) => setTimeout(r, 30));

  const startOnly = await client(`${url}/twilio`);
  startOnly.ws.send(JSON.stringify(START));
  const silent = await client(`${url}/`);
  const talker = await client(`${url}/twilio`);
  talker.ws.send(JSON.stringify(START));
  talker.ws.send(JSON.stringify(media(1)));
  await settle();
  clock.advance(9_999);
  await settle();
  t.equal(startOnly.ws.readyState, WebSocket.OPEN, 'not before the deadline');
  clock.advance(1);
  t.same(await startOnly.closed, { code: 1008, reason: 'no audio within 10000 ms' }, 'a start with no media');
  t.same(await silent.closed, { code: 1008, reason: 'no audio within 10000 ms' }, 'a socket that says nothing');
  t.equal(talker.ws.readyState, WebSocket.OPEN, 'a call with audio stays');

  // the talker keeps talking every 10 virtual seconds: never idle, until it is the longest call allowed
  for (let i = 2; i <= 5; i++) {
    talker.ws.send(JSON.stringify(media(i)));
    await settle();
    clock.advance(10_000);
    await settle();
  }
  t.equal(talker.ws.readyState, WebSocket.OPEN, 'not idle while it talks (50 s)');
  talker.ws.send(JSON.stringify(media(6)));
  await settle();
  clock.advance(10_000);
  t.same(await talker.closed, { code: 1008, reason: 'call longer than 60000 ms' });

  const idle = await client(`${url}/twilio`);
  idle.ws.send(JSON.stringify(START));
  idle.ws.send(JSON.stringify(media(1)));
  await settle();
  clock.advance(14_999);
  await settle();
  t.equal(idle.ws.readyState, WebSocket.OPEN);
  clock.advance(1);
  t.same(await idle.closed, { code: 1008, reason: 'nothing received for 15000 ms' });
  t.ok(SID);
});

t.test('an unexpected throw in one call closes that call with 1011 and is counted; the others play on', async (t) => {
  let calls = 0;
  const warnings: string[] = [];
  const { url, gw, recordOf } = await startGateway(t, {
    warn: (m) => warnings.push(m),
    sink: async () => {
      if (++calls === 1) throw new TypeError('a defect in a sink factory');
      const { Writable } = await import('node:stream');
      return {
        sink: new Writable({ objectMode: true, highWaterMark: 1, write: (_f, _e, cb) => cb() }),
        close: async () => undefined,
      };
    },
  });
  const bad = await client(`${url}/pcm?rate=8000`);
  bad.ws.send(Buffer.alloc(160));
  t.equal((await bad.closed).code, 1011);
  const rec = await goodCall(url, recordOf as never);
  t.equal(rec.frames, 10, 'the next call is served');
  t.equal(gw.stats.accepted, 2);
});

t.test('options: limits are checked; the open-files limit sets the default cap', (t) => {
  for (const bad of [
    { maxCalls: 0 },
    { maxCallsPerIp: -1 },
    { idleTimeoutMs: 1.5 },
    { maxCallDurationMs: NaN },
    { twilioAuthToken: '' },
  ]) {
    t.throws(() => createGateway(bad), ConfigError, JSON.stringify(bad));
  }
  t.same(defaultMaxCalls(undefined), { maxCalls: 150, openFiles: undefined, limitedByOpenFiles: false });
  t.same(defaultMaxCalls(1024), { maxCalls: 150, openFiles: 1024, limitedByOpenFiles: false }, '1024 holds 150 calls');
  t.same(defaultMaxCalls(512), {
    maxCalls: Math.floor((512 - RESERVED_FDS) / FDS_PER_CALL),
    openFiles: 512,
    limitedByOpenFiles: true,
  });
  t.same(defaultMaxCalls(65536).maxCalls, 150);
  t.equal(
    openFilesLimit(
      'Limit Soft Hard Units\nMax open files            1024                 4096                 files\n',
    ),
    1024,
  );
  t.equal(openFilesLimit('Max open files unlimited unlimited files\n'), undefined);
  t.equal(openFilesLimit(''), undefined);
  t.type(openFilesLimit(), 'number', 'read on this machine');
  const warnings: string[] = [];
  createGateway({ maxCalls: 100_000, warn: (m) => warnings.push(m) });
  t.match(warnings[0] ?? '', /more than the open-files limit/);
  const adm = new Admission(1, 1);
  const release = adm.admit('a');
  release();
  release();
  t.equal(adm.active, 0, 'release is idempotent');
  t.end();
});
