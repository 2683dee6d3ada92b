/**
 * Running the gateway: /healthz, /readyz (capacity, draining), Prometheus /metrics, the injected logger's lines
 * (call opened / closed, upgrade refused with its reason), the 'call' / 'close' / 'refused' events, and drain():
 * new calls refused while the open ones finish, or are closed with 1001 when the grace period ends. The CLI drains
 * on SIGTERM.
 */
import t, { type Test } from 'tap';
import { dispose } from '@livekit/rtc-node';
import { createGateway, type GatewayOptions } from '../../gateway/server.js';
import type { ConnectionRecord } from '../../gateway/connection.js';
import type { GatewayLogger } from '../../gateway/logger.js';
import { createMetrics } from '../../gateway/metrics.js';
import { idleJitterStats } from '../../lib/jitter/core.js';
import { runGateway } from '../../bin/commands/gateway.js';
import { client, upgradeStatus } from '../helpers/gatewayClient.js';

t.teardown(() => dispose());

type Line = { level: 'info' | 'warn' | 'error'; msg: string; obj: Record<string, unknown> };

async function start(t: Test, opts: GatewayOptions = {}) {
  const lines: Line[] = [];
  const logger: GatewayLogger = {
    info: (obj, msg) => lines.push({ level: 'info', msg, obj: obj as Record<string, unknown> }),
    warn: (obj, msg) => lines.push({ level: 'warn', msg, obj: obj as Record<string, unknown> }),
    error: (obj, msg) => lines.push({ level: 'error', msg, obj: obj as Record<string, unknown> }),
  };
  const gw = createGateway({ port: 0, logger, ...opts });
  const { port } = await gw.listen();
  t.teardown(() => gw.close());
  const http = `http://127.0.0.1:${port}`;
  const get = async (path: string) => {
    const res = await fetch(http + path);
    return { status: res.status, type: res.headers.get('content-type'), text: await res.text() };
  };
  return { gw, lines, get, url: `ws://127.0.0.1:${port}` };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

t.test('healthz and readyz: alive; ready until at capacity', async (t) => {
  const { get, url } = await start(t, { maxCalls: 1 });
  t.same(await get('/healthz'), { status: 200, type: 'application/json', text: '{"status":"ok"}\n' });
  t.same(JSON.parse((await get('/readyz')).text), { ready: true });
  const c = await client(`${url}/pcm?rate=16000`);
  const full = await get('/readyz');
  t.equal(full.status, 503);
  t.same(JSON.parse(full.text), { ready: false, reason: 'capacity' });
  c.ws.close();
  await c.closed;
  await sleep(100);
  t.equal((await get('/readyz')).status, 200, 'ready again once the call ended');
  t.equal((await get('/other')).status, 426, 'any other path: use a WebSocket');
});

t.test('metrics: Prometheus text with calls, refusals and the process', async (t) => {
  const { get, url } = await start(t, { secret: 'metrics-secret' });
  t.equal(await upgradeStatus(`${url}/pcm?rate=16000`), 401);
  const c = await client(`${url}/pcm?rate=16000&secret=metrics-secret`);
  c.ws.send(Buffer.alloc(640));
  await sleep(50);
  const during = await get('/metrics');
  t.equal(during.status, 200);
  t.match(during.type, /^text\/plain/);
  t.match(during.text, /^livekit_audio_gateway_calls_active 1$/m);
  t.match(during.text, /^livekit_audio_gateway_calls_total\{protocol="pcm"\} 1$/m);
  t.match(during.text, /^livekit_audio_gateway_upgrades_refused_total\{reason="unauthorized"\} 1$/m);
  t.match(during.text, /^livekit_audio_nodejs_eventloop_lag_p99_seconds /m, "Node's event-loop delay");
  c.ws.close();
  await c.closed;
  await sleep(150);
  const after = (await get('/metrics')).text;
  t.match(after, /^livekit_audio_gateway_calls_active 0$/m);
  t.match(after, /^livekit_audio_gateway_calls_ended_total\{protocol="pcm",by="client",error="no"\} 1$/m);
  t.match(after, /^livekit_audio_gateway_jitter_delay_ms_count 1$/m);
});

t.test("metrics: concealed seconds at the jitter buffer's own rate, not the caller's", async (t) => {
  const metrics = createMetrics(
    () => 0,
    () => false,
  );
  // a 22050 Hz caller: its jitter buffer runs at the track's 48 kHz (gateway/chain.ts), 12000 samples = 250 ms
  const jitter = { ...idleJitterStats(60), concealedSamples: 12000, concealedMs: 250 };
  metrics.closed({
    protocol: 'pcm',
    close: { by: 'client' },
    error: null,
    format: { sampleRate: 22050 },
    sink: null,
    jitter,
    playback: null,
  } as unknown as ConnectionRecord);
  const text = await metrics.registry.metrics();
  t.match(text, /^livekit_audio_gateway_concealed_seconds_total 0\.25$/m, 'was 12000 / 22050 = 0.544');
});

t.test('metrics: false leaves /metrics out', async (t) => {
  const { get, gw } = await start(t, { metrics: false });
  t.equal((await get('/metrics')).status, 426);
  t.equal(gw.metrics, undefined);
});

t.test('the logger gets one line per call opened and closed and per refusal; the events too', async (t) => {
  const { gw, lines, url } = await start(t, { secret: 'logger-secret' });
  const calls: unknown[] = [];
  const closes: ConnectionRecord[] = [];
  const refusals: unknown[] = [];
  gw.on('call', (c) => calls.push(c));
  gw.on('close', (r: ConnectionRecord) => closes.push(r));
  gw.on('refused', (r) => refusals.push(r));
  t.equal(await upgradeStatus(`${url}/twilio?secret=wrong`), 401);
  t.equal(await upgradeStatus(`${url}/pcm?rate=7&secret=logger-secret`), 400);
  const c = await client(`${url}/pcm?rate=8000&secret=logger-secret`);
  c.ws.close();
  await c.closed;
  await sleep(150);
  t.match(refusals, [
    { reason: 'unauthorized', status: 401, remote: /^127\.0\.0\.1:\d+$/ },
    { reason: 'badRequest', status: 400, detail: /sampleRate/ },
  ]);
  t.match(calls, [{ id: String, remote: /^127\.0\.0\.1:\d+$/, path: '/pcm', protocol: 'pcm' }]);
  t.equal(closes.length, 1);
  t.same(
    lines.map((l) => `${l.level} ${l.msg}`),
    ['info upgrade refused', 'info upgrade refused', 'info call opened', 'info call closed'],
  );
  t.match(lines[3]!.obj, { event: 'gateway.connection', protocol: 'pcm', close: { by: 'client' } });
});

t.test('drain: new calls refused, the open one finishes on its own, then the gateway closes', async (t) => {
  const { gw, get, url } = await start(t);
  const c = await client(`${url}/pcm?rate=8000`);
  const closes: ConnectionRecord[] = [];
  gw.on('close', (r: ConnectionRecord) => closes.push(r));
  const t0 = performance.now();
  const drained = gw.drain(5000);
  t.ok(gw.draining);
  t.equal(await upgradeStatus(`${url}/pcm?rate=8000`), 503, 'no new call');
  const ready = await get('/readyz');
  t.same([ready.status, JSON.parse(ready.text)], [503, { ready: false, reason: 'draining' }]);
  c.ws.send(Buffer.alloc(320));
  await sleep(200);
  c.ws.close(1000);
  await drained;
  const took = performance.now() - t0;
  t.ok(took < 2000, `drained in ${Math.round(took)} ms, as soon as the call ended (grace 5000)`);
  t.equal(closes[0]?.close.by, 'client');
  t.equal(gw.stats.refused.shuttingDown, 1);
});

t.test('drain: a call still open when the grace period ends is closed with 1001', async (t) => {
  const { gw, url } = await start(t);
  const c = await client(`${url}/pcm?rate=8000`);
  const t0 = performance.now();
  await gw.drain(300);
  const took = performance.now() - t0;
  t.same(await c.closed, { code: 1001, reason: 'gateway shutting down' });
  t.ok(took >= 290, `the grace period was given (${Math.round(took)} ms)`);
});

t.test('livekit-audio gateway drains on SIGTERM', async (t) => {
  const ac = new AbortController();
  const errs: string[] = [];
  let port = 0;
  let listening!: () => void;
  const ready = new Promise<void>((r) => (listening = r));
  const run = runGateway(['--port', '0', '--drain-ms', '2000'], {
    signal: ac.signal,
    out: () => undefined,
    err: (l) => errs.push(l),
    onListening: (a) => {
      port = a.port;
      listening();
    },
  });
  await ready;
  const c = await client(`ws://127.0.0.1:${port}/pcm?rate=8000`);
  ac.abort('SIGTERM');
  await sleep(100);
  t.equal(await upgradeStatus(`ws://127.0.0.1:${port}/pcm?rate=8000`), 503, 'draining: no new call');
  c.ws.close();
  t.equal(await run, 0);
  t.match(errs.join('\n'), /draining 1 calls \(up to 2000 ms\)/);
});

t.test("a throwing 'call' or 'close' listener is counted as a failure; the gateway and the call go on", async (t) => {
  const { gw, url, lines } = await start(t);
  gw.on('call', () => {
    throw new Error('listener defect');
  });
  gw.on('close', () => {
    throw new Error('listener defect');
  });
  const c = await client(`${url}/pcm?rate=8000`);
  c.ws.send(Buffer.alloc(320));
  await sleep(50);
  c.ws.close();
  await c.closed;
  await sleep(150);
  t.equal(gw.stats.failed, 2, 'both counted');
  t.equal(lines.filter((l) => l.level === 'error').length, 2, 'both logged as errors');
  t.equal(await upgradeStatus(`${url}/pcm?rate=8000`), 101, 'still serving');
});
