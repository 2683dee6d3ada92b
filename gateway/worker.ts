/**
 * A cluster worker (gateway/cluster.ts forks this file): one gateway with the options the primary put in the
 * environment, running until the primary says stop, a signal comes, or the primary goes away. Each ended
 * connection's record goes to the primary.
 */
import { pino } from 'pino';
import cluster from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { ClusterGatewayOptions } from './cluster.js';
import { MSG_HELLO, MSG_RECORD, MSG_SHUTDOWN, OPTIONS_ENV, SLOT_ENV } from './clusterMessages.js';

/** Worker side: run one gateway with the options from the primary until told (or signalled) to stop. */
async function runWorker(): Promise<void> {
  // listen for "stop" first: a shutdown sent while this worker is still loading must not be lost
  let stopRequested = false;
  let stop = () => {
    stopRequested = true;
  };
  process.on('message', (msg: { type?: string }) => {
    if (msg?.type === MSG_SHUTDOWN) stop();
  });
  process.on('SIGTERM', () => stop());
  process.on('SIGINT', () => stop());
  // the primary died without telling us (killed -9): do not linger as an orphan
  process.on('disconnect', () => stop());
  process.send!({ type: MSG_HELLO });

  const [{ createGateway }, { dispose }] = await Promise.all([import('./server.js'), import('@livekit/rtc-node')]);
  const opts = JSON.parse(process.env[OPTIONS_ENV]!) as ClusterGatewayOptions;
  const slot = process.env[SLOT_ENV] ?? '0';
  const room =
    opts.room && 'identity' in opts.room ? { ...opts.room, identity: `${opts.room.identity}-${slot}` } : opts.room;
  const sent = new Set<Promise<void>>();
  const gw = createGateway({
    ...opts,
    room,
    // stdout carries the primary's record lines; a worker's own lines (call opened, upgrade refused) go to stderr
    logger: pino({ name: 'livekit-audio-gateway', base: { pid: process.pid, worker: slot } }, process.stderr),
    log: (record) => {
      const p = new Promise<void>((resolve) =>
        process.send!({ type: MSG_RECORD, record }, undefined, {}, () => resolve()),
      );
      sent.add(p);
      void p.then(() => sent.delete(p));
    },
  });
  let stopping: Promise<void> | undefined;
  stop = () => {
    stopping ??= (async () => {
      await gw.close();
      await Promise.all(sent); // the last records reach the primary before we exit
      await dispose();
      process.exit(0);
    })();
  };
  if (stopRequested) return stop();
  try {
    await gw.listen();
  } catch (err) {
    process.stderr.write(`livekit-audio cluster worker ${process.pid}: ${(err as Error).message}\n`);
    process.exit(2);
  }
}

// only as the worker's main module: importing this file elsewhere starts nothing
if (cluster.isWorker && process.env[OPTIONS_ENV] !== undefined && process.argv[1] === fileURLToPath(import.meta.url)) {
  void runWorker();
}
