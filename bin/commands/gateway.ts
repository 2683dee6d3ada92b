/**
 * `livekit-audio gateway`: the WebSocket → LiveKit gateway (gateway/server.ts) as a process. Runs until
 * SIGINT/SIGTERM, then closes every connection (their audio drains), unpublishes and exits 0.
 */
import { parseArgs } from 'node:util';
import { dispose } from '@livekit/rtc-node';
import { pino } from 'pino';
import { availableParallelism } from 'node:os';
import { createGateway, GATEWAY_QUEUE_SIZE_MS, type Gateway, type GatewayOptions } from '../../gateway/server.js';
import { startGatewayCluster, type ClusterGatewayOptions } from '../../gateway/cluster.js';
import type { ConnectOptions } from '../../room/publish.js';
import { resolveCredentials } from '../../room/publish.js';
import { ConfigError, ConnectionError } from '../../lib/errors.js';
import { describeError, intArg, stopRequested, usageError, type Command } from './command.js';

const usage = `livekit-audio gateway — take realtime audio over WebSocket (Twilio Media Streams, raw PCM, Telnyx,
Vonage, Plivo, Exotel), publish one LiveKit track per connection, and carry the room's audio back.

Usage:
  livekit-audio gateway [--port 8080] [--host 127.0.0.1] [--secret S] [--max-message-bytes 65536]
                        [--url URL (--token T | --api-key K --api-secret S --room R [--identity I])]
                        [--out DIR] [--echo] [--listen-to IDENTITY|mix|none] [--room-per-call]
                        [--queue-ms N] [--track-rate N|caller] [--workers N|auto]

Clients:
  ws://HOST:PORT/twilio                               Twilio Media Streams (<Stream url="wss://…/twilio">)
  ws://HOST:PORT/pcm?rate=16000&channels=1&encoding=s16le   raw PCM in binary messages
  ws://HOST:PORT/  + first text message {"sampleRate":16000,"channels":1,"encoding":"s16le"}
  encodings: s16le s16be s24le s32le f32le f64le u8 mulaw alaw

Options:
  --port N               TCP port (0 = any free port). Default 8080.
  --host ADDR            Bind address. Default 127.0.0.1 (only this machine). Use 0.0.0.0 on purpose,
                         behind TLS (wss://) and with --secret.
  --secret S             Shared secret (≥ 8 chars): clients send "Authorization: Bearer S", "X-Gateway-Secret: S"
                         or ?secret=S; Twilio streams may send it as <Parameter name="secret" value="S"/>.
                         Default: env GATEWAY_SECRET, else none.
  --max-message-bytes N  Larger messages close the connection with 1009. Default 65536.
  --url, --token, --api-key, --api-secret, --room, --identity
                         The LiveKit room to publish in (env LIVEKIT_URL, LIVEKIT_TOKEN, LIVEKIT_API_KEY,
                         LIVEKIT_API_SECRET). With no URL at all, the gateway plays each connection into a
                         local loopback (no server needed) — a way to try it.
  --out DIR              Loopback mode: record each connection to DIR/<connection-id>.wav.
  --echo                 Loopback mode: each call hears its own audio back through the whole path (an echo
                         test: caller → jitter buffer → track → LiveKitSource → encoder → caller).
  --listen-to WHO        Room mode: what callers hear — a participant identity (the agent), mix (every remote
                         participant) or none. Default: mix with --room-per-call, else none.
  --room-per-call        Room mode with an API key/secret: each call joins its own room (the caller's "room"
                         custom parameter, else call-<id>) as caller-<id>, so agent dispatch picks it up.
  --queue-ms N           Native queue of each published source: 0 (direct mode) or a multiple of 10.
                         Default ${GATEWAY_QUEUE_SIZE_MS}: the jitter buffer holds each call's delay.
  --track-rate N|caller  Rate of the published tracks (a multiple of 100). Default caller: each call's own
                         rate (8000 for Twilio; 48000 when it has no whole 10 ms frame). WebRTC converts
                         to Opus's 48 kHz natively, so 48000 only adds resampling work on the main thread.
  --max-calls N          Calls open at once; more get HTTP 503. Default 150 per process (measured capacity),
                         fewer if the open-files limit cannot hold them (a warning says so).
  --max-calls-per-ip N   Calls open at once from one address. Default 64 (raise it behind a proxy or for Twilio).
  --first-audio-timeout-ms N  A call must send audio within N ms of connecting. Default 10000.
  --idle-timeout-ms N    A call that sends nothing for N ms is closed. Default 15000.
  --max-call-ms N        Longest call. Default 14400000 (4 h).
  --twilio-auth-token T  /twilio upgrades must carry a valid X-Twilio-Signature. Default: env TWILIO_AUTH_TOKEN.
  --public-url URL       The wss:// base URL Twilio connects to, when a proxy rewrites it (for the signature).
  --drain-ms N           On SIGTERM: refuse new calls (/readyz 503) and let open ones finish for up to N ms,
                         then close them (1001). SIGINT closes at once. Default 30000.
  --workers N|auto       Run N gateway processes on the same port (node:cluster; rtc-node cannot be shared
                         by worker threads, so processes are the unit of scale). auto = one per core.
                         Default: one process, no cluster.

HTTP: GET /healthz (alive), /readyz (503 while starting, draining or at capacity), /metrics (Prometheus).

Output: JSON log lines (pino) on stdout — "call opened", "call closed" (with the call's stats: bytes, frames,
durations, jitter-buffer, sink and way-back stats), "upgrade refused" (with its reason); status on stderr. Exit codes: 0 after SIGINT/SIGTERM, 1 on a runtime failure, 2 on bad options
or a failed connection to LiveKit.`;

export interface GatewayIo {
  /** Resolves (or aborts) to stop the gateway. Default: SIGINT or SIGTERM. */
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Called with the bound address once listening. */
  onListening?: (address: { address: string; port: number }) => void;
}

export async function runGateway(args: string[], io: GatewayIo = {}): Promise<number> {
  const env = io.env ?? process.env;
  const out = io.out ?? ((l: string) => process.stdout.write(l + '\n'));
  const err = io.err ?? ((l: string) => process.stderr.write(l + '\n'));
  let opts: GatewayOptions;
  let workers: number | undefined;
  let drainMs: number;
  let gw: Gateway;
  try {
    ({ opts, workers, drainMs } = parseGatewayArgs(args, env));
    if (workers !== undefined) return await runCluster(workers, opts, io, out, err);
    gw = createGateway({
      ...opts,
      logger: pino({ name: 'livekit-audio-gateway' }, { write: (s) => out(s.trimEnd()) }),
    });
  } catch (e) {
    err(usageError('gateway', e));
    return 2;
  }
  try {
    const address = await gw.listen();
    const where = gw.room
      ? `publishing to room '${gw.room.name}'`
      : `loopback mode (no LiveKit URL)${opts.echo ? ', echo' : ''}${opts.outDir ? `, recording to ${opts.outDir}/` : ''}`;
    err(`livekit-audio gateway: listening on ws://${address.address}:${address.port} — ${where}`);
    io.onListening?.(address);
  } catch (e) {
    err(`livekit-audio gateway: ${describeError(e)}`);
    await gw.close();
    return e instanceof ConfigError ||
      (e instanceof ConnectionError && e.code === 'ERR_CONNECT_URL') ||
      (e as NodeJS.ErrnoException).code === 'EADDRINUSE'
      ? 2
      : 1;
  }
  if ((await stopRequested(io.signal)) === 'SIGTERM') {
    // an orchestrator asks us to go: take no new calls, let the open ones finish (up to --drain-ms)
    err(`livekit-audio gateway: draining ${gw.connections.size} calls (up to ${drainMs} ms)`);
    await gw.drain(drainMs);
  } else {
    err('livekit-audio gateway: shutting down');
    await gw.close();
  }
  return 0;
}

/** `--workers`: one gateway per worker process behind node:cluster (gateway/cluster.ts). */
async function runCluster(
  workers: number,
  opts: GatewayOptions,
  io: GatewayIo,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  const cluster = startGatewayCluster({
    workers,
    gateway: opts as ClusterGatewayOptions & { room?: ConnectOptions },
    log: (record) => out(JSON.stringify(record)),
    handleSignals: false,
  });
  try {
    const address = await cluster.ready;
    err(`livekit-audio gateway: ${workers} worker processes listening on ws://${address.address}:${address.port}`);
    io.onListening?.(address);
  } catch (e) {
    err(`livekit-audio gateway: ${describeError(e)}`);
    await cluster.close();
    return 1;
  }
  await stopRequested(io.signal);
  err('livekit-audio gateway: shutting down the workers');
  await cluster.close();
  return 0;
}

function parseGatewayArgs(
  args: string[],
  env: Record<string, string | undefined>,
): { opts: GatewayOptions; workers: number | undefined; drainMs: number } {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      secret: { type: 'string' },
      'max-message-bytes': { type: 'string' },
      url: { type: 'string' },
      token: { type: 'string' },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
      room: { type: 'string' },
      identity: { type: 'string' },
      out: { type: 'string' },
      echo: { type: 'boolean' },
      'listen-to': { type: 'string' },
      'room-per-call': { type: 'boolean' },
      'queue-ms': { type: 'string' },
      'track-rate': { type: 'string' },
      workers: { type: 'string' },
      'max-calls': { type: 'string' },
      'max-calls-per-ip': { type: 'string' },
      'first-audio-timeout-ms': { type: 'string' },
      'idle-timeout-ms': { type: 'string' },
      'max-call-ms': { type: 'string' },
      'twilio-auth-token': { type: 'string' },
      'public-url': { type: 'string' },
      'drain-ms': { type: 'string' },
    },
  });
  if (positionals.length > 0) throw new Error(`unexpected argument '${positionals[0]}'`);
  const int = (name: string, v: string | undefined) => intArg(name, v, 'ERR_GATEWAY_ARGS');
  const wantsRoom = [values.url, values.token, values['api-key'], values['api-secret'], env.LIVEKIT_URL].some(
    (v) => v !== undefined && v !== '',
  );
  const workers = values.workers === 'auto' ? availableParallelism() : int('workers', values.workers);
  if (workers === 0) throw new Error('--workers must be at least 1 (or auto)');
  const opts: GatewayOptions = {
    port: int('port', values.port),
    host: values.host,
    secret: values.secret ?? (env.GATEWAY_SECRET || undefined),
    maxMessageBytes: int('max-message-bytes', values['max-message-bytes']),
    queueSizeMs: int('queue-ms', values['queue-ms']),
    sampleRate: values['track-rate'] === 'caller' ? 'caller' : int('track-rate', values['track-rate']),
    outDir: values.out,
    echo: values.echo,
    listenTo: listenToArg(values['listen-to']),
    roomPerCall: values['room-per-call'],
    maxCalls: int('max-calls', values['max-calls']),
    maxCallsPerIp: int('max-calls-per-ip', values['max-calls-per-ip']),
    firstAudioTimeoutMs: int('first-audio-timeout-ms', values['first-audio-timeout-ms']),
    idleTimeoutMs: int('idle-timeout-ms', values['idle-timeout-ms']),
    maxCallDurationMs: int('max-call-ms', values['max-call-ms']),
    twilioAuthToken: values['twilio-auth-token'] ?? (env.TWILIO_AUTH_TOKEN || undefined),
    publicUrl: values['public-url'],
    room: wantsRoom
      ? resolveCredentials(
          {
            url: values.url,
            token: values.token,
            apiKey: values['api-key'],
            apiSecret: values['api-secret'],
            roomName: values.room,
            identity: values.identity ?? 'livekit-audio-gateway',
          },
          env,
        )
      : undefined,
  };
  return { opts, workers, drainMs: int('drain-ms', values['drain-ms']) ?? 30_000 };
}

function listenToArg(v: string | undefined): GatewayOptions['listenTo'] {
  if (v === undefined || v === 'mix' || v === 'none') return v;
  if (v === '') throw new Error('--listen-to needs an identity, mix or none');
  return { identity: v };
}

const command: Command = {
  summary: 'WebSocket gateway: Twilio Media Streams / raw PCM → one LiveKit track per connection',
  usage,
  // rtc-node keeps the process alive until disposed (once, at the very end: it cannot be used after)
  run: (args) => runGateway(args).finally(() => dispose()),
};
export default command;
