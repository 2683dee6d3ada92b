/**
 * The gateway cluster (gateway/cluster.ts) with real worker processes: two workers on port 0 share one
 * port, every WebSocket connection is served (its stats record comes back through the primary), connections
 * spread across both pids, a killed worker is replaced, close() drains and ends every worker, and a primary
 * in its own process shuts down cleanly on SIGTERM.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';
import { encodeMulaw } from '../../lib/formats.js';
import {
  startGatewayCluster,
  type ClusterConnectionRecord,
  type ClusterEvent,
  type GatewayCluster,
} from '../../gateway/cluster.js';

/** 20 ms of a 440 Hz sine as 8 kHz µ-law. */
const CHUNK = Buffer.from(
  Array.from({ length: 160 }, (_, i) => encodeMulaw(Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / 8000)))),
);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A raw-PCM client: `chunks` × 20 ms of µ-law in real time; closes with 1000 unless `keepOpen`. */
async function session(port: number, chunks: number, keepOpen = false): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/pcm?rate=8000&channels=1&encoding=mulaw`);
  await once(ws, 'open');
  for (let i = 0; i < chunks; i++) {
    ws.send(CHUNK);
    await new Promise((r) => setTimeout(r, 20));
  }
  if (!keepOpen) {
    ws.close(1000);
    await once(ws, 'close');
  }
  return ws;
}

function start(
  t: { teardown(fn: () => unknown): void },
  workers: number,
  port = 0,
): {
  cluster: GatewayCluster;
  records: ClusterConnectionRecord[];
  events: ClusterEvent[];
} {
  const records: ClusterConnectionRecord[] = [];
  const events: ClusterEvent[] = [];
  const cluster = startGatewayCluster({
    workers,
    gateway: { port, host: '127.0.0.1', closeTimeoutMs: 2000 },
    log: (r) => records.push(r),
    onEvent: (e) => events.push(e),
    handleSignals: false,
  });
  t.teardown(() => cluster.close());
  return { cluster, records, events };
}

t.test('options are checked before any process starts', async (t) => {
  t.throws(() => startGatewayCluster({ workers: 0 }), { code: 'ERR_CLUSTER_OPTIONS', message: /positive integer/ });
  t.throws(() => startGatewayCluster({ workers: 1.5 }), { code: 'ERR_CLUSTER_OPTIONS' });
  t.throws(() => startGatewayCluster({ workers: 1, gateway: { sink: async () => ({}) } as never }), {
    code: 'ERR_CLUSTER_OPTIONS',
    message: /gateway.sink cannot be sent/,
  });
  t.throws(() => startGatewayCluster({ workers: 2, gateway: { room: { url: 'wss://x', token: 'tok' } } }), {
    code: 'ERR_CLUSTER_OPTIONS',
    message: /token names one participant/,
  });
  t.throws(() => startGatewayCluster({ workers: 1, gateway: { room: { name: 'a connected Room' } as never } }), {
    code: 'ERR_CLUSTER_OPTIONS',
    message: /not a connected Room/,
  });
  t.throws(
    () =>
      startGatewayCluster({
        workers: 1,
        gateway: { room: { url: 'wss://x', token: 't', signal: new AbortController().signal } },
      }),
    { code: 'ERR_CLUSTER_OPTIONS', message: /signal/ },
  );
});

t.test(
  'two workers on port 0: all served, spread across pids; a killed worker is replaced; close() drains',
  async (t) => {
    const { cluster, records, events } = start(t, 2);
    t.throws(() => startGatewayCluster({ workers: 1 }), { code: 'ERR_CLUSTER_OPTIONS', message: /already running/ });
    const t0 = Date.now();
    const address = await cluster.ready;
    t.comment(`ready after ${Date.now() - t0} ms`);
    t.ok(address.port > 0, `one shared port: ${address.port}`);
    t.equal(cluster.address?.port, address.port);
    const pids = cluster.pids;
    t.equal(pids.length, 2);
    t.not(pids[0], pids[1]);
    t.equal(events.filter((e) => e.event === 'worker.listening').length, 2);

    // every connection served, spread across both workers
    const n = 8;
    await Promise.all(Array.from({ length: n }, () => session(address.port, 10)));
    await until(() => records.length === n, 15000, `${n} connection records`);
    for (const r of records) {
      t.equal(r.error, null, `${r.id}: no error`);
      t.equal(r.protocol, 'pcm');
      t.equal(r.audioMs, 200, `${r.id}: 200 ms of audio reached the decoder`);
      t.ok(r.frames >= 19, `${r.id}: ${r.frames} frames reached the jitter buffer`);
      t.ok(pids.includes(r.pid), `${r.id} served by a cluster worker`);
    }
    const byPid = new Map<number, number>();
    for (const r of records) byPid.set(r.pid, (byPid.get(r.pid) ?? 0) + 1);
    t.equal(byPid.size, 2, `connections spread across both workers: ${JSON.stringify([...byPid])}`);
    for (const [pid, count] of byPid) t.ok(count >= 2, `worker ${pid} served ${count}`);

    // a worker dies: it is replaced, and the cluster keeps serving
    const [victim, survivor] = pids as [number, number];
    process.kill(victim, 'SIGKILL');
    await until(
      () => events.filter((e) => e.event === 'worker.listening').length === 3,
      20000,
      'the replacement listening',
    );
    t.equal(cluster.restarts, 1);
    t.equal(cluster.pids.length, 2);
    t.notOk(cluster.pids.includes(victim), 'the dead worker is gone');
    t.match(
      events.find((e) => e.event === 'worker.exit'),
      { event: 'worker.exit', pid: victim, signal: 'SIGKILL' },
    );
    t.match(
      events.find((e) => e.event === 'worker.restart'),
      { event: 'worker.restart', delayMs: 100 },
    );
    t.comment(`replacement listening ${Date.now() - t0} ms after start`);
    const replacement = cluster.pids.find((p) => p !== survivor)!;
    records.length = 0;
    await Promise.all(Array.from({ length: 4 }, () => session(address.port, 5)));
    await until(() => records.length === 4, 15000, '4 records');
    t.ok(
      records.every((r) => r.error === null && r.audioMs === 100),
      'all served after the restart',
    );
    t.same(new Set(records.map((r) => r.pid)), new Set([survivor, replacement]), 'by the survivor and the replacement');

    // close with a connection still open: it gets 1001 (going away) once its audio drained, and its record
    const open = await session(address.port, 5, true);
    const closed = once(open, 'close');
    const live = cluster.pids;
    t.comment(`closing ${Date.now() - t0} ms after start`);
    await cluster.close();
    t.comment(`closed ${Date.now() - t0} ms after start`);
    const [code] = (await closed) as [number];
    t.equal(code, 1001, 'the open connection was closed with 1001');
    await until(() => records.length === 5, 5000, 'the drained connection record');
    t.equal(records[4]!.close.by, 'gateway');
    t.equal(records[4]!.audioMs, 100);
    t.ok(
      live.every((p) => !alive(p)),
      'every worker process has exited',
    );
    t.same(cluster.pids, []);
    await cluster.close(); // idempotent
  },
);

t.test('workers killed again and again: the port keeps accepting, restarts stay short', async (t) => {
  // a fixed port: with port 0, the primary binds a new random port each time every worker has died
  const free = createServer().listen(0, '127.0.0.1');
  await once(free, 'listening');
  const port = (free.address() as { port: number }).port;
  free.close();
  const { cluster, events } = start(t, 2, port);
  await cluster.ready;
  let stop = false;
  let t0 = Date.now();
  let probes = 0;
  const failed: string[] = [];
  const prober = (async () => {
    while (!stop) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/pcm?rate=8000`, { handshakeTimeout: 2000 });
      const ok = await new Promise<string>((resolve) => {
        ws.once('open', () => resolve('open'));
        ws.once('unexpected-response', (_q, res) => resolve(`HTTP ${res.statusCode}`));
        ws.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
        ws.once('close', () => resolve('closed'));
      });
      probes++;
      if (ok !== 'open') failed.push(`${ok}@${Date.now() - t0}`);
      ws.terminate();
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  // eight deaths a second apart, as a crash a request could cause would kill them: only workers that serve
  // (listening), alternating slots; once both at once
  const exited = new Set<number>();
  const serving = () =>
    events
      .filter((e): e is Extract<ClusterEvent, { event: 'worker.listening' }> => e.event === 'worker.listening')
      .map((e) => e.pid)
      .filter((p) => !exited.has(p));
  t0 = Date.now();
  for (let i = 0; i < 6; i++) {
    await until(() => serving().length === 2, 15_000, 'both workers serving');
    const pids = serving();
    for (const p of i === 3 ? pids : pids.slice(0, 1)) {
      exited.add(p);
      process.kill(p, 'SIGKILL');
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  await until(() => cluster.pids.length === 2, 10_000, 'both slots serving again');
  await new Promise((r) => setTimeout(r, 500));
  stop = true;
  await prober;
  const delays = events
    .filter((e): e is Extract<ClusterEvent, { event: 'worker.restart' }> => e.event === 'worker.restart')
    .map((e) => e.delayMs);
  t.comment(`${probes} probes, ${failed.length} failed (${failed.join(', ')}); restart delays ${delays.join(' ')} ms`);
  t.equal(delays.length, exited.size, `every death restarted (${exited.size} killed)`);
  t.ok(
    delays.every((d) => d <= 2000),
    'no restart waits more than 2 s',
  );
  t.ok(delays.includes(0), 'a slot whose death left no worker restarts at once');
  // a probe can fail only while no worker listens: after both died at once, for one worker start-up (here
  // under the TypeScript loader, ~1-3 s; the compiled CLI starts a worker in ~0.4 s), or in a killed worker's hands
  const refusedAt = failed.filter((f) => f.startsWith('ECONNREFUSED')).map((f) => Number(f.split('@')[1]));
  const stretch = refusedAt.length ? Math.max(...refusedAt) - Math.min(...refusedAt) : 0;
  t.ok(stretch < 6000, `the port was closed for one stretch only (${stretch} ms, after both died at once)`);
  t.ok(failed.length - refusedAt.length <= exited.size, 'other failures: only handshakes a dying worker held');
  // the share is a property of this loop, which kills a worker every ~1.5 s while a start takes 1-3 s under the
  // TypeScript loader: about half the probes land in the one closed stretch (45-60 of 91-105 seen here on a
  // loaded machine; the compiled CLI, bench/attack.mjs: 60 of 60). The bar is that the port never stays shut.
  t.ok(failed.length <= probes * 0.6, `the port kept accepting: ${probes - failed.length} of ${probes} probes`);
});

t.test('a worker that cannot listen fails `ready` and the cluster closes', async (t) => {
  const blocker = createServer();
  blocker.listen(0, '127.0.0.1');
  await once(blocker, 'listening');
  t.teardown(() => blocker.close());
  const port = (blocker.address() as { port: number }).port;
  const events: ClusterEvent[] = [];
  const cluster = startGatewayCluster({
    workers: 1,
    gateway: { port, host: '127.0.0.1' },
    onEvent: (e) => events.push(e),
    handleSignals: false,
  });
  await t.rejects(cluster.ready, { code: 'ERR_CLUSTER_START', message: /before listening/ });
  await cluster.close();
  t.same(cluster.pids, []);
  t.notOk(
    events.some((e) => e.event === 'worker.restart'),
    'no restart loop on a start failure',
  );
});

t.test('close() before ready: the loading worker still gets the shutdown and exits', async (t) => {
  const events: ClusterEvent[] = [];
  const cluster = startGatewayCluster({
    workers: 1,
    gateway: { port: 0 },
    onEvent: (e) => events.push(e),
    handleSignals: false,
  });
  const [pid] = cluster.pids as [number];
  const started = Date.now();
  await cluster.close();
  await t.rejects(cluster.ready, { code: 'ERR_CLUSTER_CLOSED' });
  t.ok(Date.now() - started < 8000, 'no wait for the kill timeout');
  t.notOk(alive(pid));
  t.match(events, [{ event: 'worker.exit', pid, code: 0 }]);
});

t.test('a primary in its own process shuts down cleanly on SIGTERM', async (t) => {
  const dir = t.testdir({});
  const script = join(dir, 'primary.mjs');
  const cluster = pathToFileURL(join(import.meta.dirname, '../../gateway/cluster.ts')).href;
  writeFileSync(
    script,
    `import { startGatewayCluster } from ${JSON.stringify(cluster)};
const c = startGatewayCluster({ workers: 1, gateway: { port: 0, host: '127.0.0.1', closeTimeoutMs: 2000 }, onEvent: () => {} });
const a = await c.ready;
console.log(JSON.stringify({ port: a.port, pids: c.pids }));
`,
  );
  // the same loader flags as this test (tap's TypeScript import hook), passed on to the workers by node:cluster
  const child = spawn(process.execPath, [...process.execArgv, script], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  await until(() => out.includes('\n'), 20000, 'the primary to be ready');
  const { port, pids } = JSON.parse(out.split('\n')[0]!) as { port: number; pids: number[] };
  t.equal(pids.length, 1);

  const ws = await session(port, 5, true);
  const closed = once(ws, 'close');
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code, signal] = (await exited) as [number | null, string | null];
  t.equal(code, 0, 'the primary exits 0');
  t.equal(signal, null);
  const lines = out
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => JSON.parse(l) as ClusterConnectionRecord);
  t.equal(lines.length, 1, 'the open connection was drained and logged on stdout');
  t.ok(pids.includes(lines[0]!.pid));
  t.equal(((await closed) as [number])[0], 1001);
  t.ok(
    pids.every((p) => !alive(p)),
    'no worker left behind',
  );
});
