#!/usr/bin/env node
/**
 * The gateway attacked from outside, as a stranger on the network would: the built CLI in a child process,
 * hostile clients over TCP and WebSocket, one honest caller as the probe. Prints one JSON object with the
 * figures docs/security.md quotes. It measures; it asserts nothing (the tests under test/ do).
 *
 *   npm run build && node bench/attack.mjs [--cli dist/bin/livekit-audio.js] [--only a,b] [--quick]
 *
 * Every target is 127.0.0.1; every loop is bounded in count and time.
 */
import { spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values: args } = parseArgs({
  options: {
    cli: { type: 'string', default: path.join(here, '..', 'dist', 'bin', 'livekit-audio.js') },
    only: { type: 'string' },
    quick: { type: 'boolean', default: false },
  },
});
const cliDir = path.dirname(path.resolve(args.cli));
// `ws` from the tree the CLI belongs to (the attack runs against other builds too)
const { WebSocket } = createRequire(path.join(cliDir, '..', '..', 'package.json'))('ws');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Start `livekit-audio gateway` with `extra` args; resolves once it listens, with its port and records. */
function startGateway(extra = [], { nofile } = {}) {
  const argv = [args.cli, 'gateway', '--port', '0', ...extra];
  const child = nofile
    ? spawn('bash', ['-c', `ulimit -n ${nofile} && exec "$0" "$@"`, process.execPath, ...argv], { stdio: 'pipe' })
    : spawn(process.execPath, argv, { stdio: 'pipe' });
  const gw = { child, port: 0, records: [], stderr: '', exit: undefined };
  child.on('exit', (code, signal) => (gw.exit = { code, signal }));
  let out = '';
  child.stdout.on('data', (d) => {
    out += d;
    for (let i; (i = out.indexOf('\n')) >= 0; out = out.slice(i + 1)) {
      try {
        gw.records.push(JSON.parse(out.slice(0, i)));
      } catch {
        /* not a record */
      }
    }
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not listen: ${gw.stderr}`)), 20_000);
    child.stderr.on('data', (d) => {
      gw.stderr += d;
      const m = /listening on ws:\/\/[^:]+:(\d+)/.exec(gw.stderr);
      if (m && !gw.port) {
        gw.port = Number(m[1]);
        clearTimeout(timer);
        resolve(gw);
      }
    });
    child.on('exit', () => reject(new Error(`gateway exited before listening: ${gw.stderr}`)));
  });
}

async function stopGateway(gw) {
  if (gw.exit) return gw.exit;
  gw.child.kill('SIGTERM');
  const t0 = Date.now();
  while (!gw.exit && Date.now() - t0 < 15_000) await sleep(50);
  if (!gw.exit) gw.child.kill('SIGKILL');
  return gw.exit;
}

/** One raw HTTP upgrade request; resolves with the status line (or how the socket ended). */
function rawUpgrade(port, target, headers = {}) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (r) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(5000, () => done('timeout'));
    s.on('error', (e) => done(`error ${e.code}`));
    s.on('data', (d) => {
      got += d;
      if (got.includes('\r\n')) done(got.split('\r\n')[0]);
    });
    s.on('close', () => done(got ? got.split('\r\n')[0] : 'closed'));
    const h = {
      Host: '127.0.0.1',
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version': '13',
      ...headers,
    };
    s.write(
      `GET ${target} HTTP/1.1\r\n${Object.entries(h)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\r\n')}\r\n\r\n`,
    );
  });
}

/** A WebSocket client; resolves once open (or with the refusal), and records how it closed. */
function openWs(url, headers, localAddress) {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers, ...(localAddress ? { localAddress } : {}) });
    const c = { ws, open: false, refused: undefined, closed: undefined, openedAt: 0 };
    ws.on('open', () => {
      c.open = true;
      c.openedAt = Date.now();
      resolve(c);
    });
    ws.on('unexpected-response', (_req, res) => {
      c.refused = res.statusCode;
      resolve(c);
    });
    ws.on('error', (e) => {
      c.refused ??= e.code ?? e.message;
      resolve(c);
    });
    ws.on('close', (code) => (c.closed = { code, atMs: Date.now() - c.openedAt }));
  });
}

const twilioStart = (sid) =>
  JSON.stringify({
    event: 'start',
    sequenceNumber: '1',
    streamSid: sid,
    start: {
      streamSid: sid,
      callSid: `CA${sid}`,
      tracks: ['inbound'],
      customParameters: {},
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  });

/** An honest Twilio caller: 20 ms of µ-law every 20 ms for `ms`; resolves with its gateway record. */
async function honestCaller(gw, ms) {
  // from another loopback address than the flood: the per-address cap must not be what lets it in
  const c = await openWs(`ws://127.0.0.1:${gw.port}/twilio`, undefined, '127.0.0.2');
  if (!c.open) return { refused: c.refused };
  const sid = `MZprobe${Date.now()}`;
  c.ws.send(JSON.stringify({ event: 'connected', protocol: 'Call', version: '1.0.0' }));
  c.ws.send(twilioStart(sid));
  const payload = Buffer.alloc(160, 0xff).toString('base64'); // µ-law silence... with a tone it would be the same
  const t0 = Date.now();
  for (let i = 1; Date.now() - t0 < ms && c.ws.readyState === 1; i++) {
    c.ws.send(
      JSON.stringify({
        event: 'media',
        streamSid: sid,
        media: { track: 'inbound', chunk: String(i), timestamp: String(i * 20), payload },
      }),
    );
    const next = t0 + i * 20;
    await sleep(Math.max(0, next - Date.now()));
  }
  c.ws.send(JSON.stringify({ event: 'stop', streamSid: sid, stop: {} }));
  const end = Date.now();
  while (Date.now() - end < 5000 && !gw.records.some((r) => r.streamSid === sid)) await sleep(50);
  const r = gw.records.find((x) => x.streamSid === sid);
  return r
    ? {
        closed: r.close,
        sinkUnderruns: r.sink?.underruns,
        sinkUnderrunMs: r.sink?.underrunMs,
        concealmentEvents: r.jitter?.concealmentEvents,
        concealedMs: r.jitter ? Math.round(r.jitter.concealedSamples / 8) : undefined,
      }
    : { closed: c.closed, record: 'none' };
}

const BAD_PATHS = ['//[', '//a:99999', '//%zz', '//@', 'http://x:1:2/'];

const attacks = {
  /** Each bad path against a fresh gateway: does the process live? */
  async badPaths() {
    const out = [];
    for (const p of BAD_PATHS) {
      const gw = await startGateway();
      const status = await rawUpgrade(gw.port, p);
      await sleep(300);
      out.push({ path: p, status, alive: gw.exit === undefined });
      await stopGateway(gw);
    }
    return { survived: out.filter((o) => o.alive).length, of: out.length, cases: out };
  },

  /** Secret mode: raw PCM declared in the query, no secret. */
  async secretBypass() {
    const gw = await startGateway(['--secret', 'attack-secret-123']);
    const status = await rawUpgrade(gw.port, '/?sampleRate=8000');
    const c = await openWs(`ws://127.0.0.1:${gw.port}/?sampleRate=8000`);
    await sleep(500);
    const alive = gw.exit === undefined;
    await stopGateway(gw);
    return { status, wsRefused: c.refused ?? null, wsOpened: c.open, alive };
  },

  /** N sockets upgrade and say nothing: how long do they stay open? */
  async silentSockets() {
    const n = args.quick ? 50 : 300;
    const waitMs = args.quick ? 20_000 : 45_000;
    const gw = await startGateway();
    const clients = [];
    for (let i = 0; i < n; i++) clients.push(await openWs(`ws://127.0.0.1:${gw.port}/`));
    const opened = clients.filter((c) => c.open).length;
    const t0 = Date.now();
    while (Date.now() - t0 < waitMs && clients.some((c) => c.open && !c.closed)) await sleep(250);
    const closedAt = clients.filter((c) => c.closed).map((c) => c.closed.atMs);
    const stillOpen = clients.filter((c) => c.open && !c.closed).length;
    for (const c of clients) c.ws.terminate();
    const alive = gw.exit === undefined;
    await stopGateway(gw);
    return {
      opened,
      refused: n - opened,
      stillOpenAfterMs: { ms: waitMs, count: stillOpen },
      closeCodes: countBy(clients.filter((c) => c.closed).map((c) => c.closed.code)),
      maxCloseMs: closedAt.length ? Math.max(...closedAt) : null,
      alive,
    };
  },

  /** N Twilio streams send `start` and then nothing, while one honest caller talks for 15 s. */
  async startFlood() {
    const n = args.quick ? 50 : 200;
    // the per-address cap (64) lifted, as behind a proxy: the flood meets the total cap
    const gw = await startGateway(['--max-calls-per-ip', '1000']);
    const flood = [];
    for (let i = 0; i < n; i++) {
      const c = await openWs(`ws://127.0.0.1:${gw.port}/twilio`);
      if (c.open) c.ws.send(twilioStart(`MZflood${i}`));
      flood.push(c);
    }
    // one flood call leaves: the probe takes its slot, with cap − 1 start-only calls beside it
    flood.find((c) => c.open)?.ws.terminate();
    await sleep(300);
    const probe = await honestCaller(gw, args.quick ? 8000 : 15_000);
    const accepted = flood.filter((c) => c.open).length;
    const closedByGateway = flood.filter((c) => c.closed).length;
    for (const c of flood) c.ws.terminate();
    const alive = gw.exit === undefined;
    await stopGateway(gw);
    return {
      flood: n,
      accepted,
      refused: countBy(flood.filter((c) => !c.open).map((c) => c.refused)),
      closedByGateway,
      probe,
      alive,
    };
  },

  /** At an open-files limit of 1024: more start-only calls than the descriptors allow. */
  async openFiles() {
    const n = args.quick ? 120 : 300;
    const gw = await startGateway(['--max-calls-per-ip', '1000'], { nofile: 1024 });
    const flood = [];
    for (let i = 0; i < n && gw.exit === undefined; i++) {
      const c = await openWs(`ws://127.0.0.1:${gw.port}/twilio`);
      if (c.open) c.ws.send(twilioStart(`MZfd${i}`));
      flood.push(c);
      if (i % 25 === 24) await sleep(100);
    }
    await sleep(1000);
    flood.find((c) => c.open)?.ws.terminate();
    await sleep(300);
    const probe = gw.exit === undefined ? await honestCaller(gw, 5000) : null;
    const accepted = flood.filter((c) => c.open).length;
    const exit = gw.exit ?? null;
    for (const c of flood) c.ws.terminate();
    await stopGateway(gw);
    return {
      nofile: 1024,
      tried: flood.length,
      accepted,
      refused: countBy(flood.filter((c) => !c.open).map((c) => c.refused)),
      exit,
      probe,
    };
  },

  /** --workers 2: ten bad-path requests in 10 s; is the port refusing at any moment? */
  async clusterCrashLoop() {
    const gw = await startGateway(['--workers', '2']);
    let probes = 0;
    let refused = 0;
    let stop = false;
    const prober = (async () => {
      while (!stop) {
        const s = await rawUpgrade(gw.port, '/pcm?rate=8000');
        probes++;
        if (!/^HTTP\/1\.1 101/.test(s)) refused++;
        await sleep(200);
      }
    })();
    for (let i = 0; i < 10; i++) {
      await rawUpgrade(gw.port, BAD_PATHS[i % BAD_PATHS.length]);
      await sleep(1000);
    }
    await sleep(2000);
    stop = true;
    await prober;
    const alive = gw.exit === undefined;
    await stopGateway(gw);
    return { probes, refusedOrFailed: refused, alive };
  },
};

function countBy(xs) {
  const m = {};
  for (const x of xs) m[String(x)] = (m[String(x)] ?? 0) + 1;
  return m;
}

const only = args.only?.split(',');
const result = { cli: path.relative(process.cwd(), args.cli), at: new Date().toISOString() };
for (const [name, run] of Object.entries(attacks)) {
  if (only && !only.includes(name)) continue;
  const t0 = Date.now();
  try {
    result[name] = { ...(await run()), seconds: Math.round((Date.now() - t0) / 100) / 10 };
  } catch (err) {
    result[name] = { error: String(err?.message ?? err).slice(0, 300) };
  }
  process.stderr.write(`${name}: ${JSON.stringify(result[name])}\n`);
}
process.stdout.write(JSON.stringify(result, null, 2) + '\n');
