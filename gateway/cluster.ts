/**
 * The gateway on every core: one worker process per core, each running `createGateway()` on the same port.
 *
 *   const c = startGatewayCluster({ workers: 2, gateway: { port: 8080, host: '0.0.0.0', secret } });
 *   const address = await c.ready;      // every worker listens
 *   ...
 *   await c.close();                    // or SIGTERM/SIGINT: connections drain, workers exit, then resolves
 *
 * Why processes: rtc-node's FFI delivers its callbacks to one isolate, so worker_threads cannot share it; one
 * process is bound by one event loop (docs/scaling.md has the per-process capacity). node:cluster shares the
 * listening socket: the primary accepts and hands connections to workers round-robin (SCHED_RR, the default
 * everywhere but Windows). With `port: 0` every worker gets the same random port (cluster semantics: the
 * primary binds once per address/port key), reported by `ready`.
 *
 * The primary runs no audio. It forks the workers, restarts one that dies, and relays each ended connection's stats record, tagged
 * with the worker's pid, to `log`. On close (or SIGTERM/SIGINT) it stops restarting and tells every worker
 * to close its gateway — connections get a 1001 close and their queued audio plays out — then waits for
 * them to exit; a worker still alive after `shutdownTimeoutMs` is killed.
 *
 * A worker is gateway/worker.ts run as the worker's main module, with its options in the environment (they must
 * be plain data: no sink factory, no clock, no connected Room). Publishing to a room, each worker joins as
 * its own participant: `<identity>-<slot>`, so a key pair is needed rather than a token (a token names one
 * participant).
 */
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../lib/errors.js';
import type { ConnectOptions } from '../room/publish.js';
import type { ConnectionRecord } from './connection.js';
import type { GatewayOptions } from './server.js';
import { MSG_HELLO, MSG_RECORD, MSG_SHUTDOWN, OPTIONS_ENV, SLOT_ENV, workerEntry } from './clusterMessages.js';

/** Gateway options a worker can receive: plain data only. */
export type ClusterGatewayOptions = Omit<GatewayOptions, 'sink' | 'log' | 'clock' | 'room'> & { room?: ConnectOptions };

export interface GatewayClusterOptions {
  /** Worker processes. Default: one per core (os.availableParallelism()). */
  workers?: number;
  /** Options for each worker's createGateway(). */
  gateway?: ClusterGatewayOptions;
  /** Each ended connection's record, with the pid of the worker that served it. Default: a JSON line on stdout. */
  log?: (record: ClusterConnectionRecord) => void;
  /** Lifecycle events (a worker started, exited, was restarted). Default: a line on stderr. */
  onEvent?: (event: ClusterEvent) => void;
  /** How long close() waits for workers to drain before killing them. Default the gateway's closeTimeoutMs + 5000. */
  shutdownTimeoutMs?: number;
  /** Close on SIGTERM and SIGINT (handlers removed on close). Default true. */
  handleSignals?: boolean;
}

export type ClusterConnectionRecord = ConnectionRecord & { pid: number };

export type ClusterEvent =
  | { event: 'worker.listening'; slot: number; pid: number }
  | { event: 'worker.exit'; slot: number; pid: number; code: number | null; signal: string | null }
  | { event: 'worker.restart'; slot: number; delayMs: number };

export interface GatewayCluster {
  /** Resolves with the shared address once every worker listens; rejects if a worker dies before it does. */
  readonly ready: Promise<AddressInfo>;
  readonly address: AddressInfo | undefined;
  /** Pids of the live workers. */
  readonly pids: number[];
  /** Workers restarted after dying. */
  readonly restarts: number;
  /** Stop restarting, let every worker close its gateway and exit (killed after shutdownTimeoutMs). */
  close(): Promise<void>;
}

/** A worker that dies within this long of its start counts towards its slot's crash backoff. */
const CRASH_WINDOW_MS = 30_000;
/**
 * Restart delays stay short: a long backoff would let whoever can crash workers keep the port closed (a client
 * once could: ten requests left it refusing for 36 s). The backoff is per slot, and a slot whose death left no
 * worker listening restarts at once — it only stops a crash loop from spinning a core.
 */
const MAX_RESTART_DELAY_MS = 2000;

let running: GatewayCluster | undefined;

export function startGatewayCluster(opts: GatewayClusterOptions = {}): GatewayCluster {
  if (!cluster.isPrimary)
    throw new ConfigError('ERR_CLUSTER_OPTIONS', 'startGatewayCluster runs in the primary process');
  if (running) throw new ConfigError('ERR_CLUSTER_OPTIONS', 'a gateway cluster is already running in this process');
  const count = opts.workers ?? os.availableParallelism();
  if (!Number.isInteger(count) || count < 1) {
    throw new ConfigError('ERR_CLUSTER_OPTIONS', `workers must be a positive integer, got ${opts.workers}`);
  }
  const gateway = checkGatewayOptions(opts.gateway ?? {}, count);
  const log = opts.log ?? ((r: ClusterConnectionRecord) => process.stdout.write(JSON.stringify(r) + '\n'));
  const onEvent =
    opts.onEvent ?? ((e: ClusterEvent) => process.stderr.write(`livekit-audio cluster: ${JSON.stringify(e)}\n`));
  const shutdownTimeoutMs = opts.shutdownTimeoutMs ?? (gateway.closeTimeoutMs ?? 3000) + 5000;

  const env = { [OPTIONS_ENV]: JSON.stringify(gateway) };
  cluster.setupPrimary({ exec: workerEntry() });

  const slots = new Map<number, Worker>(); // slot → live worker
  const startedAt = new Map<Worker, number>();
  const controllable = new WeakSet<Worker>();
  const shutdown = (w: Worker) => {
    try {
      w.send({ type: MSG_SHUTDOWN });
    } catch {
      w.process.kill('SIGTERM'); // its IPC channel is gone: it still handles SIGTERM
    }
  };
  const recentCrashes = new Map<number, number[]>(); // slot → start times of its recent early deaths
  let restarts = 0;
  let closing: Promise<void> | undefined;
  let address: AddressInfo | undefined;
  let listening = 0;
  const timers = new Set<NodeJS.Timeout>();
  let resolveReady!: (a: AddressInfo) => void;
  let rejectReady!: (e: Error) => void;
  const ready = new Promise<AddressInfo>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  ready.catch(() => undefined); // a caller who never awaits it must not get an unhandled rejection
  let isReady = false;

  const fork = (slot: number) => {
    const worker = cluster.fork({ ...env, [SLOT_ENV]: String(slot) });
    slots.set(slot, worker);
    startedAt.set(worker, Date.now());
    let listened = false;
    worker.on('listening', (a: { address: string; port: number; addressType: number | string }) => {
      listened = true;
      address ??= { address: a.address, port: a.port, family: a.addressType === 6 ? 'IPv6' : 'IPv4' };
      onEvent({ event: 'worker.listening', slot, pid: worker.process.pid! });
      if (!isReady && ++listening === count) {
        isReady = true;
        resolveReady(address);
      }
    });
    worker.on('message', (msg: { type?: string; record?: ConnectionRecord }) => {
      if (msg?.type === MSG_RECORD && msg.record) log({ ...msg.record, pid: worker.process.pid! });
      else if (msg?.type === MSG_HELLO) {
        controllable.add(worker);
        // IPC messages that arrive before the worker listens for them are lost: a shutdown waits for the hello
        if (closing) shutdown(worker);
      }
    });
    worker.on('exit', (code, signal) => {
      const pid = worker.process.pid!;
      const lived = Date.now() - (startedAt.get(worker) ?? 0);
      startedAt.delete(worker);
      if (slots.get(slot) === worker) slots.delete(slot);
      onEvent({ event: 'worker.exit', slot, pid, code, signal });
      if (closing) return;
      if (!listened && !isReady) {
        // it never served: a bad option or a taken port, which a restart would not fix
        rejectReady(
          new ConfigError(
            'ERR_CLUSTER_START',
            `gateway worker ${pid} exited (code ${code}, signal ${signal}) before listening`,
          ),
        );
        void close();
        return;
      }
      const now = Date.now();
      const crashes = (recentCrashes.get(slot) ?? []).filter((at) => at >= now - CRASH_WINDOW_MS);
      if (lived < CRASH_WINDOW_MS) crashes.push(now);
      recentCrashes.set(slot, crashes);
      const othersServing = [...slots.values()].some((w) => !w.isDead());
      const delayMs = othersServing ? Math.min(MAX_RESTART_DELAY_MS, 100 * 2 ** Math.max(0, crashes.length - 1)) : 0;
      onEvent({ event: 'worker.restart', slot, delayMs });
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (closing) return;
        restarts++;
        fork(slot);
      }, delayMs);
      timers.add(timer);
    });
  };

  const onSignal = () => void close();
  const handleSignals = opts.handleSignals ?? true;
  if (handleSignals) {
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }

  function close(): Promise<void> {
    return (closing ??= (async () => {
      if (handleSignals) {
        process.off('SIGTERM', onSignal);
        process.off('SIGINT', onSignal);
      }
      for (const t of timers) clearTimeout(t);
      timers.clear();
      if (!isReady)
        rejectReady(new ConfigError('ERR_CLUSTER_CLOSED', 'the gateway cluster was closed before it was ready'));
      const workers = [...slots.values()];
      await Promise.all(
        workers.map((w) =>
          workerGone(w, shutdownTimeoutMs, () => {
            if (controllable.has(w)) shutdown(w); // otherwise on its hello
          }),
        ),
      );
      running = undefined;
    })());
  }

  for (let slot = 0; slot < count; slot++) fork(slot);

  running = {
    ready,
    get address() {
      return address;
    },
    get pids() {
      return [...slots.values()].filter((w) => !w.isDead()).map((w) => w.process.pid!);
    },
    get restarts() {
      return restarts;
    },
    close,
  };
  return running;
}

/**
 * Resolves once `w` has exited AND its IPC channel is closed (records sent before exit are delivered), killing it
 * after `timeoutMs`; `tell` (asking it to shut down) runs once both are watched.
 */
function workerGone(w: Worker, timeoutMs: number, tell: () => void): Promise<void> {
  return new Promise<void>((resolve) => {
    let exited = w.isDead();
    let disconnected = !w.isConnected();
    if (exited && disconnected) return resolve();
    const kill = setTimeout(() => w.process.kill('SIGKILL'), timeoutMs);
    const check = () => {
      if (!exited || !disconnected) return;
      clearTimeout(kill);
      resolve();
    };
    w.once('exit', () => {
      exited = true;
      check();
    });
    w.once('disconnect', () => {
      disconnected = true;
      check();
    });
    tell();
  });
}

function checkGatewayOptions(g: ClusterGatewayOptions, workers: number): ClusterGatewayOptions {
  for (const key of ['sink', 'log', 'clock'] as const) {
    if ((g as Record<string, unknown>)[key] !== undefined) {
      throw new ConfigError(
        'ERR_CLUSTER_OPTIONS',
        `gateway.${key} cannot be sent to worker processes (plain data only)`,
      );
    }
  }
  if (typeof g.roomPerCall === 'function') {
    throw new ConfigError(
      'ERR_CLUSTER_OPTIONS',
      'gateway.roomPerCall cannot be a function in worker processes (true or false)',
    );
  }
  const room = g.room as (ConnectOptions & { token?: string }) | undefined;
  if (room !== undefined) {
    if (typeof room.url !== 'string') {
      throw new ConfigError(
        'ERR_CLUSTER_OPTIONS',
        'gateway.room must be connect options ({ url, ... }), not a connected Room',
      );
    }
    if (room.token !== undefined && workers > 1) {
      throw new ConfigError(
        'ERR_CLUSTER_OPTIONS',
        'a token names one participant, and every worker joins as its own: give apiKey/apiSecret/roomName/identity instead',
      );
    }
    if (room.signal !== undefined || room.clock !== undefined) {
      throw new ConfigError(
        'ERR_CLUSTER_OPTIONS',
        'gateway.room.signal and gateway.room.clock cannot be sent to workers',
      );
    }
  }
  return g;
}
