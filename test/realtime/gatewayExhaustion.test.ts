/**
 * Resource exhaustion, as an attacker without a secret would try it: the gateway CLI runs in a child process
 * whose open-files limit is 256 (ulimit -n), one honest caller streams 20 ms of µ-law every 20 ms for 3 s, and
 * meanwhile many more streams connect and send `start` (the cheapest message that used to cost a whole call)
 * than the descriptors could hold. Before the cap, the process aborted natively when descriptors ran out.
 * The gateway must: derive its cap from the limit (warning that it did), refuse the rest with HTTP 503, stay
 * alive, and let the honest caller play with no sink underrun and no concealment.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import type { ConnectionRecord } from '../../gateway/connection.js';
import { defaultMaxCalls } from '../../gateway/admission.js';
import { int16ToMulaw } from '../../lib/formats.js';
import { START, SID, media } from '../helpers/gatewayClient.js';

const NOFILE = 256;
const FLOOD = 80;
const root = fileURLToPath(new URL('../..', import.meta.url));
const cli = fileURLToPath(new URL('../../bin/livekit-audio.ts', import.meta.url));

t.test('at an open-files limit of 256: the cap holds, extras get 503, the honest call plays clean', async (t) => {
  const child = spawn(
    'bash',
    [
      '-c',
      `ulimit -n ${NOFILE} && exec "$0" "$@"`,
      process.execPath,
      '--import=@tapjs/typescript/import',
      cli,
      'gateway',
      '--port',
      '0',
    ],
    {
      cwd: root,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let exit: { code: number | null; signal: string | null } | undefined;
  child.on('exit', (code, signal) => (exit = { code, signal }));
  t.teardown(() => {
    if (!exit) child.kill('SIGKILL');
  });
  const records: ConnectionRecord[] = [];
  let out = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d;
    for (let i; (i = out.indexOf('\n')) >= 0; out = out.slice(i + 1))
      records.push(JSON.parse(out.slice(0, i)) as ConnectionRecord);
  });
  let stderr = '';
  const port = await new Promise<number>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      stderr += d;
      const m = /listening on ws:\/\/[^:]+:(\d+)/.exec(stderr);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', () => reject(new Error(`gateway exited: ${stderr}`)));
  });
  const cap = defaultMaxCalls(NOFILE).maxCalls;
  t.match(stderr, new RegExp(`open-files limit \\(${NOFILE}\\) holds only ${cap} calls`), 'it warns at start');

  const url = `ws://127.0.0.1:${port}/twilio`;
  const open = (u: string) =>
    new Promise<{ ws: WebSocket; status: number }>((resolve) => {
      const ws = new WebSocket(u);
      ws.on('error', () => undefined);
      ws.once('open', () => resolve({ ws, status: 101 }));
      ws.once('unexpected-response', (_q, res) => resolve({ ws, status: res.statusCode ?? 0 }));
    });

  const probe = await open(url);
  t.equal(probe.status, 101, 'the honest caller is in');
  probe.ws.send(JSON.stringify(START));
  const tone = new Int16Array(160);
  const talking = (async () => {
    const t0 = performance.now();
    for (let i = 1; i <= 150; i++) {
      for (let k = 0; k < 160; k++)
        tone[k] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * ((i - 1) * 160 + k)) / 8000));
      probe.ws.send(JSON.stringify(media(i, Buffer.from(int16ToMulaw(tone)).toString('base64'))));
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + i * 20 - performance.now())));
    }
    probe.ws.send(JSON.stringify({ event: 'stop', streamSid: SID, stop: {} }));
  })();

  const flood: { ws: WebSocket; status: number }[] = [];
  for (let i = 0; i < FLOOD; i++) {
    const c = await open(url);
    if (c.status === 101)
      c.ws.send(JSON.stringify({ ...START, streamSid: `MZf${i}`, start: { ...START.start, streamSid: `MZf${i}` } }));
    flood.push(c);
  }
  await talking;
  const accepted = flood.filter((c) => c.status === 101).length;
  t.equal(accepted, cap - 1, `the flood got the cap less the honest call (${cap - 1} of ${FLOOD})`);
  t.equal(flood.filter((c) => c.status === 503).length, FLOOD - accepted, 'the rest: 503');
  const deadline = Date.now() + 10_000;
  while (!records.some((r) => r.streamSid === SID) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  const rec = records.find((r) => r.streamSid === SID);
  t.ok(rec, 'the honest call ended with its record');
  t.equal(rec?.frames, 300, '3 s received');
  t.equal((rec?.sink as { underruns?: number } | null)?.underruns, 0, 'no sink underrun');
  t.equal(rec?.jitter?.concealmentEvents, 0, 'no concealment');
  t.equal(exit, undefined, 'the gateway is alive');
  for (const c of flood) c.ws.terminate();
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  t.same(exit, { code: 0, signal: null }, 'and shuts down cleanly');
});
