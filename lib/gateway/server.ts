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
 * message. The shared secret (if set) is checked at the HTTP upgrade — `Authorization: Bearer S`,
 * `X-Gateway-Secret: S` or `?secret=S` — in constant time; a wrong or missing one gets HTTP 401 and no socket.
 * Twilio cannot add headers or query strings to a stream URL, so a Twilio stream that presents no secret
 * at the upgrade may present it as the `secret` custom parameter of its `start` message instead.
 */
import http from 'node:http';
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Room } from '@livekit/rtc-node';
import { realClock, type Clock } from '../clock.js';
import { ConfigError } from '../errors.js';
import { loadSpeex } from '../speex.js';
import { connect, publish, type ConnectOptions, type PublishTarget } from '../publish.js';
import { createLoopback } from '../loopback.js';
import { WavFileSink } from '../../sinks/WavFileSink.js';
import type { AudioFrame } from '../frames.js';
import type { JitterBufferOptions } from '../../transforms/jitterBuffer.js';
import { GatewayConnection, type ConnectionRecord, type ConnectionSink, type SinkFactory } from './connection.js';
import { pcmFormatFromQuery } from './rawPcm.js';
import type { TwilioStart } from './twilio.js';

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
  /** Advanced: build each connection's sink yourself (overrides room/outDir). */
  sink?: SinkFactory;
  /**
   * Rate of the published tracks, Hz, or 'caller' (the default): each call's own rate when it has whole 10 ms
   * frames (8000 for Twilio), else 48000. WebRTC converts to Opus's 48 kHz natively (lib/gateway/chain.ts).
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
  /** Receives each connection's stats record when it ends. Default: one JSON line on stdout. */
  log?: (record: ConnectionRecord) => void;
  /** How long close() lets connections drain before cutting them. Default 3000 ms. */
  closeTimeoutMs?: number;
  clock?: Clock;
}

export interface Gateway {
  /** Connect to the room (if configured), bind, and resolve with the bound address. */
  listen(): Promise<AddressInfo>;
  /** Refuse new connections, close open ones with 1001 (their audio drains), unpublish, disconnect. */
  close(): Promise<void>;
  readonly address: AddressInfo | undefined;
  /** Open connections by id. */
  readonly connections: ReadonlyMap<string, GatewayConnection>;
  /** The room the gateway connected to (room given as connect options), once listening. */
  readonly room: Room | undefined;
}

const SECRET_DEADLINE_MS = 5000;
/** Loopback mode: how long after playout the last frames are awaited before the loopback closes. */
const LOOPBACK_TAIL_MS = 50;

/**
 * The gateway's default native queue: none (direct mode). Each call already has a jitter buffer, which is
 * where its delay is decided; a native queue behind it only adds its length to the latency, and in buffered
 * mode rtc-node runs one native ticker thread per source. Measured at 50 calls (bench, docs/scaling.md):
 * buffered 100 ms — 21.4 ms CPU per call-second and 436 ms latency; direct — 9.6 ms and 77 ms. A stalled
 * event loop is caught up from the shared pacer's slots instead of from a native queue.
 */
export const GATEWAY_QUEUE_SIZE_MS = 0;

export function createGateway(opts: GatewayOptions = {}): Gateway {
  const port = opts.port ?? 8080;
  const host = opts.host ?? '127.0.0.1';
  const maxPayload = opts.maxMessageBytes ?? 65536;
  const sampleRate = opts.sampleRate ?? 'caller';
  const channels = opts.channels ?? 1;
  const queueSizeMs = opts.queueSizeMs ?? GATEWAY_QUEUE_SIZE_MS;
  const clock = opts.clock ?? realClock;
  const log = opts.log ?? ((r: ConnectionRecord) => process.stdout.write(JSON.stringify(r) + '\n'));
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
  const secretDigest = opts.secret === undefined ? undefined : digest(opts.secret);

  const connections = new Map<string, GatewayConnection>();
  const pending = new Set<Promise<unknown>>();
  let room: Room | undefined;
  let target: PublishTarget | undefined = opts.room && !isConnectOptions(opts.room) ? opts.room : undefined;
  let seq = 0;
  let closing = false;
  const prefix = randomBytes(3).toString('hex');

  const sinkFactory: SinkFactory =
    opts.sink ??
    (async (info) => {
      if (target) {
        const { sampleRate, channels } = info;
        const sink = await publish(target, { sampleRate, channels, queueSizeMs, name: info.id, unpublishOnEnd: false });
        return { sink, close: () => sink.unpublish() };
      }
      return loopbackSink(info.id, info.sampleRate, info.channels, queueSizeMs, opts.outDir);
    });

  // closeTimeout (how long a close handshake may take before ws cuts the socket) is missing from @types/ws
  const wsOptions = { noServer: true, maxPayload, closeTimeout: 5000 };
  const wss = new WebSocketServer(wsOptions as ConstructorParameters<typeof WebSocketServer>[0]);
  const server = http.createServer((_req, res) => {
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('livekit-audio gateway: connect with a WebSocket (paths /twilio, /pcm?rate=&channels=&encoding=)\n');
  });

  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    // http drops its own socket error handler on upgrade: a client reset while we refuse must not crash us
    socket.on('error', () => socket.destroy());
    const url = new URL(req.url ?? '/', 'http://gateway');
    const presented = presentedSecret(req, url);
    const mode = url.pathname.endsWith('/twilio') ? 'twilio' : url.pathname.endsWith('/pcm') ? 'pcm' : 'auto';
    // without a secret at the upgrade only a (possible) Twilio stream may proceed, to show it in `start`
    const deferSecret =
      secretDigest !== undefined && presented === undefined && mode !== 'pcm' && !url.searchParams.has('rate');
    if (closing || (secretDigest && !deferSecret && !matches(presented, secretDigest))) {
      const status = closing ? '503 Service Unavailable' : '401 Unauthorized';
      socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\ncontent-length: 0\r\n\r\n`);
      return;
    }
    let format;
    try {
      format = mode === 'twilio' ? undefined : pcmFormatFromQuery(url.searchParams);
    } catch (err) {
      const msg = (err as Error).message;
      const length = Buffer.byteLength(msg);
      socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: ${length}\r\n\r\n${msg}`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const id = `${prefix}-${++seq}`;
      const conn = new GatewayConnection(ws, req, {
        id,
        mode,
        format,
        sink: sinkFactory,
        sampleRate,
        channels,
        jitter: opts.jitter,
        clock,
        ...(deferSecret && {
          authorizeStart: (start: TwilioStart) =>
            matches(stringOrUndefined(start.customParameters.secret), secretDigest),
          authDeadlineMs: SECRET_DEADLINE_MS,
        }),
      });
      connections.set(id, conn);
      const done = conn.done.then((record) => {
        connections.delete(id);
        log(record);
      });
      pending.add(done);
      void done.finally(() => pending.delete(done));
    });
  });

  return {
    async listen() {
      // the resamplers' WASM engine: loaded once here, so the first call's audio does not wait for it
      await loadSpeex();
      if (opts.room && isConnectOptions(opts.room)) {
        room = await connect(opts.room);
        target = room;
      }
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      return server.address() as AddressInfo;
    },

    async close() {
      closing = true;
      const stopped = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      for (const c of connections.values()) c.shutdown();
      const drained = Promise.all(pending);
      const cut = new Promise<boolean>((resolve) => {
        const h = clock.setTimeout(() => resolve(true), opts.closeTimeoutMs ?? 3000);
        void drained.then(() => {
          clock.clearTimeout(h);
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
  };
}

/**
 * The loopback default: play into a local AudioSource → track → AudioStream, and (with outDir) write what comes
 * back to a WAV file. Nothing is kept in memory: a call can last hours.
 */
async function loopbackSink(
  id: string,
  sampleRate: number,
  channels: number,
  queueSizeMs: number,
  outDir: string | undefined,
): Promise<ConnectionSink> {
  let wav: WavFileSink | undefined;
  let wavError: Error | undefined;
  if (outDir !== undefined) {
    await mkdir(outDir, { recursive: true });
    wav = new WavFileSink({ path: path.join(outDir, `${id}.wav`), sampleRate, channels });
    wav.on('error', (err) => (wavError ??= err));
  }
  const lb = createLoopback({
    sampleRate,
    channels,
    queueSizeMs,
    record: false,
    ...(wav && { onFrame: (frame: AudioFrame) => void wav.write(frame) }),
  });
  return {
    sink: lb.sink,
    async close() {
      // the source has played out; its last frames reach the AudioStream a tick or two later
      await new Promise((r) => setTimeout(r, LOOPBACK_TAIL_MS));
      await lb.close();
      if (wav) {
        wav.end();
        await finished(wav).catch(() => undefined);
      }
      if (wavError) throw wavError;
    },
  };
}

function isConnectOptions(x: ConnectOptions | PublishTarget): x is ConnectOptions {
  return typeof (x as ConnectOptions).url === 'string';
}

function presentedSecret(req: http.IncomingMessage, url: URL): string | undefined {
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) return auth.slice(7);
  const header = req.headers['x-gateway-secret'];
  if (typeof header === 'string') return header;
  return url.searchParams.get('secret') ?? undefined;
}

/** SHA-256 both sides so the comparison takes the same time whatever the lengths. */
function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

function matches(presented: string | undefined, expected: Buffer): boolean {
  return presented !== undefined && timingSafeEqual(digest(presented), expected);
}

function stringOrUndefined(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}
