/**
 * The WebSocket gateway: realtime audio from WebSocket clients (Twilio Media Streams, raw PCM) into LiveKit,
 * one published track per connection.
 *
 *   const gw = createGateway({ port: 8080, room: { url, token } });   // no room: the local loopback
 *   await gw.listen();
 *   ...
 *   await gw.close();
 *
 * Routing by path: `…/twilio` is a Twilio Media Stream, `…/pcm` raw PCM, anything else decides on its first
 * message. Everything a client sends is untrusted: the upgrade is checked in this order — a parsable target
 * (else 400), room for the call (503), the secret or Twilio signature (401, gateway/auth.ts), a valid
 * format (400) — before any per-call resource exists. Each call then has deadlines (gateway/connection.ts).
 * Limits and their defaults: docs/security.md.
 */
import http from 'node:http';
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import type { WebSocketServer } from 'ws';
import { lazyRequire } from '../lib/lazyRequire.js';
import type { Room } from '@livekit/rtc-node';
import type { Registry } from 'prom-client';
import { realClock, type Clock } from '../lib/clock.js';
import { ConfigError } from '../lib/errors.js';
import { loadSpeex } from '../lib/speex.js';
import { connect, type ConnectOptions, type PublishTarget } from '../room/publish.js';
import type { JitterBufferOptions } from '../transforms/jitterBuffer.js';
import {
  GatewayConnection,
  type CallDeadlines,
  type ConnectionInfo,
  type ConnectionOptions,
  type ConnectionRecord,
  type SinkFactory,
} from './connection.js';
import { secretDigest } from './auth.js';
import { defaultLogger, type GatewayLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { httpRoutes, type HttpRoutesContext } from './http.js';
import { callRoomSink, hearing, loopbackSink, roomPerCallNames, roomSink, type ListenTo } from './callSinks.js';
import { Admission, defaultMaxCalls } from './admission.js';
import { handleUpgrade, type UpgradeContext } from './upgradeHandler.js';
import { openFilesLimit } from '../lib/openFilesLimit.js';

/** ws, loaded when the first gateway is created. */
const ws = lazyRequire<typeof import('ws')>('ws');

export interface GatewayOptions {
  /** TCP port; 0 picks a free one (see `address`). Default 8080. */
  port?: number;
  /** Bind address. Default 127.0.0.1: expose it on purpose (0.0.0.0) and behind TLS. */
  host?: string;
  /** Shared secret clients must present (see above). Default: none. */
  secret?: string;
  /** Largest WebSocket message accepted; bigger ones close the connection with 1009. Default 65536. */
  maxMessageBytes?: number;
  /**
   * Where tracks are published: connect options (the gateway connects in listen() and disconnects in close()),
   * or a connected Room. Default: none — each connection plays into a local loopback (see outDir).
   */
  room?: ConnectOptions | PublishTarget;
  /** Loopback mode: record what each connection received to `<outDir>/<connection id>.wav`. Default: no files. */
  outDir?: string;
  /**
   * Loopback mode: each call hears its own audio back through the whole path — caller → jitter buffer →
   * LiveKitSink → local track → LiveKitSource → encoder → caller. An echo test that needs no server. Default false.
   */
  echo?: boolean;
  /**
   * Room mode: what each caller hears back — `{ identity }` one participant's audio (the agent's, say), or 'mix'
   * (every remote participant's). Default: 'mix' with roomPerCall, else nothing (one-way: in one shared room the
   * callers would hear each other).
   */
  listenTo?: ListenTo;
  /**
   * Room mode with API key and secret: each call joins a room of its own, so LiveKit's agent dispatch can pick each
   * one up. Room name from the caller's `room` custom parameter (letters, digits, `_.-`, ≤ 64) or `call-<id>`;
   * identity `caller-<id>`. A function chooses both instead. Default false (every call in `room.roomName`).
   */
  roomPerCall?: boolean | ((call: ConnectionInfo) => { roomName: string; identity: string });
  /** The way back's pacing and marks (gateway/playback.ts): maxAheadFrames (default 2), markEveryMs (1000). */
  playback?: ConnectionOptions['playback'];
  /** Advanced: build each connection's sink yourself (overrides room/outDir). */
  sink?: SinkFactory;
  /**
   * Rate of the published tracks, Hz, or 'caller' (the default): each call's own rate when it has whole 10 ms
   * frames (8000 for Twilio), else 48000. WebRTC converts to Opus's 48 kHz natively (gateway/chain.ts).
   */
  sampleRate?: number | 'caller';
  /** Channels of the published tracks. Default 1. */
  channels?: number;
  /**
   * Native queue of each published AudioSource, ms: 0 (direct mode, the default) or a multiple of 10. See
   * GATEWAY_QUEUE_SIZE_MS for why.
   */
  queueSizeMs?: number;
  /** Options for each connection's jitter buffer. */
  jitter?: Partial<JitterBufferOptions>;
  /**
   * Structured log (pino or anything pino-compatible): one line per call opened, per call closed (with its stats
   * record) and per refused upgrade (with its reason), and errors. Default: pino, JSON lines on stdout
   * (docs/operations.md).
   */
  logger?: GatewayLogger;
  /** Receives each connection's stats record when it ends. Default: the logger's "call closed" line. */
  log?: (record: ConnectionRecord) => void;
  /** Serve Prometheus metrics on GET /metrics (gateway/metrics.ts). Default true. */
  metrics?: boolean;
  /** How long close() lets connections drain before cutting them. Default 3000 ms. */
  closeTimeoutMs?: number;
  /**
   * Most calls open at once; more are refused at the upgrade with HTTP 503. Default: the measured capacity of
   * one process (150), lowered to what the open-files limit allows (admission.ts).
   */
  maxCalls?: number;
  /** Most calls open at once from one remote address (503 beyond). Default 64; see docs/security.md. */
  maxCallsPerIp?: number;
  /** How long a client has to send a whole upgrade request. Default 10000 ms. */
  handshakeTimeoutMs?: number;
  /** A Twilio stream without the secret at the upgrade must show it in `start` within this. Default 5000 ms. */
  authTimeoutMs?: number;
  /** A call must send its first audio within this of connecting. Default 10000 ms. */
  firstAudioTimeoutMs?: number;
  /** A call that sends nothing for this long is closed. Default 15000 ms. */
  idleTimeoutMs?: number;
  /** A call is closed after this long, whatever it does. Default 4 h. */
  maxCallDurationMs?: number;
  /**
   * Twilio auth token: `/twilio` upgrades must carry a valid `X-Twilio-Signature` (which also stands for the
   * secret). Default: env TWILIO_AUTH_TOKEN is not read here; the CLI reads it.
   */
  twilioAuthToken?: string;
  /** The base URL Twilio connects to (`wss://gw.example.com`), when a proxy changes it. Default wss://<Host>. */
  publicUrl?: string;
  /** Operational warnings (a low open-files limit, an unexpected error in a call). Default: a line on stderr. */
  warn?: (message: string) => void;
  clock?: Clock;
}

/** Counters since the gateway was created. */
export interface GatewayStats {
  active: number;
  accepted: number;
  refused: Record<'badRequest' | 'capacity' | 'perIp' | 'unauthorized' | 'shuttingDown', number>;
  /** Calls closed because the gateway itself failed unexpectedly (1011). */
  failed: number;
  /** The call cap in force and the open-files limit read at start. */
  maxCalls: number;
  openFiles: number | undefined;
}

/**
 * A running gateway. Events: 'call' (a call opened: { id, remote, path, protocol }), 'close' (a call ended: its
 * ConnectionRecord), 'refused' (an upgrade refused: { reason, status, remote, detail }).
 */
export interface Gateway extends EventEmitter {
  /** Connect to the room (if configured), bind, and resolve with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Refuse new connections, close open ones with 1001 (their audio drains), unpublish, disconnect. */
  close(): Promise<void>;
  /**
   * Graceful shutdown (SIGTERM): refuse new calls (503; /readyz says draining), let the open ones finish for up to
   * `graceMs` (default 30000), then close() — the rest get the protocol's close (1001).
   */
  drain(graceMs?: number): Promise<void>;
  /** True from drain() or close() on. */
  readonly draining: boolean;
  /** The Prometheus registry behind GET /metrics (undefined with `metrics: false`). */
  readonly metrics: Registry | undefined;
  readonly address: AddressInfo | undefined;
  /** Open connections by id. */
  readonly connections: ReadonlyMap<string, GatewayConnection>;
  /** The room the gateway connected to (room given as connect options), once listening. */
  readonly room: Room | undefined;
  readonly stats: GatewayStats;
}

/** Limit defaults (docs/security.md). */
export const GATEWAY_LIMITS = {
  maxCallsPerIp: 64,
  handshakeTimeoutMs: 10_000,
  authTimeoutMs: 5000,
  firstAudioTimeoutMs: 10_000,
  idleTimeoutMs: 15_000,
  maxCallDurationMs: 4 * 3600_000,
} as const;

/**
 * The gateway's default native queue: none (direct mode). Each call already has a jitter buffer, which is
 * where its delay is decided; a native queue behind it only adds its length to the latency, and in buffered
 * mode rtc-node runs one native ticker thread per source (figures: docs/gateway.md, docs/benchmarks.md). A
 * stalled event loop is caught up from the shared pacer's slots instead of from a native queue.
 */
export const GATEWAY_QUEUE_SIZE_MS = 0;

/** The options checked and completed (ConfigError ERR_GATEWAY_OPTIONS), with the open-files warnings given. */
function resolveGatewayOptions(opts: GatewayOptions) {
  const port = opts.port ?? 8080;
  const maxPayload = opts.maxMessageBytes ?? 65536;
  const sampleRate = opts.sampleRate ?? 'caller';
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new ConfigError('ERR_GATEWAY_OPTIONS', `port must be an integer in 0..65535, got ${port}`);
  }
  if (!Number.isInteger(maxPayload) || maxPayload < 1024) {
    throw new ConfigError('ERR_GATEWAY_OPTIONS', `maxMessageBytes must be an integer ≥ 1024, got ${maxPayload}`);
  }
  if (sampleRate !== 'caller' && !(Number.isInteger(sampleRate) && sampleRate >= 100 && sampleRate % 100 === 0)) {
    throw new ConfigError(
      'ERR_GATEWAY_OPTIONS',
      `sampleRate must be 'caller' or a positive multiple of 100 Hz (whole 10 ms frames), got ${String(sampleRate)}`,
    );
  }
  if (opts.secret !== undefined && opts.secret.length < 8) {
    throw new ConfigError('ERR_GATEWAY_OPTIONS', 'secret must be at least 8 characters');
  }
  // every option is checked (the first bad one is reported) before any open-files warning is given
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`livekit-audio gateway: ${m}\n`));
  const cap = defaultMaxCalls(openFilesLimit());
  const maxCalls = positiveInt('maxCalls', opts.maxCalls ?? cap.maxCalls);
  const maxCallsPerIp = positiveInt('maxCallsPerIp', opts.maxCallsPerIp ?? GATEWAY_LIMITS.maxCallsPerIp);
  const handshakeTimeoutMs = positiveInt(
    'handshakeTimeoutMs',
    opts.handshakeTimeoutMs ?? GATEWAY_LIMITS.handshakeTimeoutMs,
  );
  const authTimeoutMs = positiveInt('authTimeoutMs', opts.authTimeoutMs ?? GATEWAY_LIMITS.authTimeoutMs);
  const deadlines: CallDeadlines = {
    firstAudioMs: positiveInt('firstAudioTimeoutMs', opts.firstAudioTimeoutMs ?? GATEWAY_LIMITS.firstAudioTimeoutMs),
    idleMs: positiveInt('idleTimeoutMs', opts.idleTimeoutMs ?? GATEWAY_LIMITS.idleTimeoutMs),
    maxDurationMs: positiveInt('maxCallDurationMs', opts.maxCallDurationMs ?? GATEWAY_LIMITS.maxCallDurationMs),
  };
  if (opts.twilioAuthToken !== undefined && opts.twilioAuthToken.length === 0) {
    throw new ConfigError('ERR_GATEWAY_OPTIONS', 'twilioAuthToken must not be empty');
  }
  if (cap.limitedByOpenFiles && opts.maxCalls === undefined) {
    warn(
      `the open-files limit (${cap.openFiles}) holds only ${cap.maxCalls} calls: maxCalls is ${cap.maxCalls}. ` +
        'Raise it (ulimit -n, LimitNOFILE=) to carry more.',
    );
  } else if (
    cap.openFiles !== undefined &&
    opts.maxCalls !== undefined &&
    opts.maxCalls > defaultMaxCalls(cap.openFiles).maxCalls
  ) {
    warn(`maxCalls ${opts.maxCalls} is more than the open-files limit (${cap.openFiles}) safely holds`);
  }
  return {
    port,
    host: opts.host ?? '127.0.0.1',
    maxPayload,
    sampleRate,
    channels: opts.channels ?? 1,
    queueSizeMs: opts.queueSizeMs ?? GATEWAY_QUEUE_SIZE_MS,
    clock: opts.clock ?? realClock,
    warn,
    secret: opts.secret === undefined ? undefined : secretDigest(opts.secret),
    maxCalls,
    openFiles: cap.openFiles,
    maxCallsPerIp,
    handshakeTimeoutMs,
    authTimeoutMs,
    deadlines,
  };
}

type ResolvedOptions = ReturnType<typeof resolveGatewayOptions>;

export function createGateway(opts: GatewayOptions = {}): Gateway {
  const o = resolveGatewayOptions(opts);
  const logger = opts.logger ?? defaultLogger();
  const log =
    opts.log ?? ((r: ConnectionRecord) => (r.error ? logger.warn(r, 'call closed') : logger.info(r, 'call closed')));
  const events = new EventEmitter();
  const admission = new Admission(o.maxCalls, o.maxCallsPerIp);
  const stats: GatewayStats = {
    active: 0,
    accepted: 0,
    refused: { badRequest: 0, capacity: 0, perIp: 0, unauthorized: 0, shuttingDown: 0 },
    failed: 0,
    maxCalls: o.maxCalls,
    openFiles: o.openFiles,
  };
  const unexpected = (id: string, err: unknown) => {
    stats.failed++;
    metrics?.failed();
    logger.error({ id, err: String((err as Error)?.stack ?? err).slice(0, 2000) }, 'call failed unexpectedly');
    o.warn(`call ${id} failed unexpectedly and was closed: ${String((err as Error)?.stack ?? err).slice(0, 500)}`);
  };

  const connections = new Map<string, GatewayConnection>();
  const pending = new Set<Promise<unknown>>();
  let room: Room | undefined;
  let target: PublishTarget | undefined = opts.room && !isConnectOptions(opts.room) ? opts.room : undefined;
  let seq = 0;
  let closing = false;
  const prefix = randomBytes(3).toString('hex');

  const perCall = roomPerCallNames(opts.roomPerCall, opts.room);
  const listenTo: ListenTo = opts.listenTo ?? (perCall ? 'mix' : 'none');
  const sinkFactory: SinkFactory =
    opts.sink ??
    (async (info) => {
      if (perCall)
        return callRoomSink(info, { ...(opts.room as ConnectOptions), ...perCall(info) }, o.queueSizeMs, listenTo);
      if (target) return roomSink(info, target, o.queueSizeMs, listenTo);
      return loopbackSink(info, o.queueSizeMs, opts.outDir, opts.echo === true);
    });

  const metrics =
    opts.metrics === false
      ? undefined
      : createMetrics(
          () => admission.active,
          () => closing,
        );
  const { wss, server } = createServers(o, {
    metrics: metrics?.registry,
    notReady: () =>
      !server.listening ? 'starting' : closing ? 'draining' : admission.active >= o.maxCalls ? 'capacity' : undefined,
  });

  const upgrades: UpgradeContext = {
    wss,
    admission,
    refused: stats.refused,
    secret: o.secret,
    twilioAuthToken: opts.twilioAuthToken,
    publicUrl: opts.publicUrl,
    authTimeoutMs: o.authTimeoutMs,
    call: {
      sink: sinkFactory,
      sampleRate: o.sampleRate,
      channels: o.channels,
      jitter: opts.jitter,
      playback: opts.playback,
      clock: o.clock,
      deadlines: o.deadlines,
    },
    isClosing: () => closing,
    onRefused(refusal) {
      metrics?.refused(refusal.reason);
      logger.info(refusal, 'upgrade refused');
      events.emit('refused', refusal);
    },
    nextId: () => `${prefix}-${++seq}`,
    opened(id, conn, release, info) {
      stats.accepted++;
      connections.set(id, conn);
      // a throwing logger or 'call'/'close' listener is the app's defect: counted and logged, never our crash
      const report = (what: string, fn: () => void) => {
        try {
          fn();
        } catch (err) {
          unexpected(`${id} (${what})`, err);
        }
      };
      report('call event', () => {
        metrics?.opened(info.protocol);
        logger.info({ id, ...info }, 'call opened');
        events.emit('call', { id, ...info });
      });
      const done = conn.done.then((record) => {
        connections.delete(id);
        release();
        report('close event', () => {
          metrics?.closed(record);
          log(record);
          events.emit('close', record);
        });
      });
      pending.add(done);
      void done.finally(() => pending.delete(done));
    },
    unexpected,
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    try {
      handleUpgrade(upgrades, req, socket, head);
    } catch (err) {
      // a defect here must cost one request, not the process
      unexpected('upgrade', err);
      socket.destroy();
    }
  });

  const gateway = {
    async listen() {
      // the resamplers' WASM engine: loaded once here, so the first call's audio does not wait for it
      await loadSpeex();
      if (opts.room && isConnectOptions(opts.room) && !perCall) {
        room = await connect(hearing(opts.room, listenTo));
        target = room;
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(o.port, o.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },

    async drain(graceMs = 30_000) {
      closing = true;
      logger.info({ active: connections.size, graceMs }, 'draining');
      const idle = Promise.all(pending);
      await new Promise<void>((resolve) => {
        const h = o.clock.setTimeout(resolve, graceMs);
        void idle.then(() => {
          o.clock.clearTimeout(h);
          resolve();
        });
      });
      await gateway.close();
    },

    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      for (const c of connections.values()) c.shutdown();
      const drained = Promise.all(pending);
      const cut = new Promise<boolean>((resolve) => {
        const h = o.clock.setTimeout(() => resolve(true), opts.closeTimeoutMs ?? 3000);
        void drained.then(() => {
          o.clock.clearTimeout(h);
          resolve(false);
        });
      });
      if (await cut) for (const ws of wss.clients) ws.terminate();
      await drained;
      await stopped;
      if (room) await room.disconnect();
    },

    get address() {
      return (server.address() as AddressInfo | null) ?? undefined;
    },
    connections,
    get room() {
      return room;
    },
    get stats() {
      return { ...stats, active: admission.active, refused: { ...stats.refused } };
    },
    get draining() {
      return closing;
    },
    metrics: metrics?.registry,
  };
  return Object.defineProperties(events, Object.getOwnPropertyDescriptors(gateway)) as Gateway;
}

/**
 * The HTTP server (a plain request gets 426; a malformed one 400) and the WebSocket server that takes the
 * upgrades handed to it; the upgrade handler itself is attached by createGateway.
 */
function createServers(
  o: Pick<ResolvedOptions, 'maxPayload' | 'handshakeTimeoutMs' | 'maxCalls'>,
  routes: HttpRoutesContext,
) {
  // closeTimeout (how long a close handshake may take before ws cuts the socket) is missing from @types/ws
  const wsOptions = { noServer: true, maxPayload: o.maxPayload, closeTimeout: 5000 };
  const wss = new (ws().WebSocketServer)(wsOptions as ConstructorParameters<typeof WebSocketServer>[0]);
  const server = http.createServer(
    // checked every second rather than Node's default 30 s, so a slow handshake really ends at the deadline
    { headersTimeout: o.handshakeTimeoutMs, requestTimeout: o.handshakeTimeoutMs, connectionsCheckingInterval: 1000 },
    httpRoutes(routes),
  );
  // a hard bound on sockets (each one a descriptor), whatever state they are in; refusals need a few spare
  server.maxConnections = o.maxCalls + 64;
  server.on('clientError', (_err, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
    else socket.destroy();
  });
  return { wss, server };
}

function isConnectOptions(x: ConnectOptions | PublishTarget): x is ConnectOptions {
  return typeof (x as ConnectOptions).url === 'string';
}

function positiveInt(name: string, v: number): number {
  if (!Number.isSafeInteger(v) || v < 1)
    throw new ConfigError('ERR_GATEWAY_OPTIONS', `${name} must be a positive integer, got ${String(v)}`);
  return v;
}
