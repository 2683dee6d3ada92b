/**
 * Connect to a LiveKit room and publish one audio track whose sink is a LiveKitSink.
 *
 *   const room = await connect({ url, token });     // or { url, apiKey, apiSecret, roomName, identity }
 *   const sink = await publish(room, { sampleRate: 48000, channels: 1 });
 *   await pipeline(file, decodeWav(), resample({ sampleRate: 48000, channels: 1 }), rechunk(), sink);
 *   await room.disconnect();
 *
 * rtc-node's Room.connect has its own timeouts (measured here: ~10 s when a server accepts the WebSocket and
 * never answers, ~16 s when it accepts TCP and never answers) and cannot be cancelled. `connect` races it
 * against `timeoutMs`, checks the URL and the token's shape before calling native code, and turns the native
 * error strings into ConnectionErrors with stable codes. A connect that completes after we gave up is
 * disconnected so no room leaks.
 */
import { quietRtcNodeDebugLog } from '../lib/rtcLog.js';
import {
  AudioSource,
  LocalAudioTrack,
  Room,
  TrackPublishOptions,
  TrackSource,
  type LocalTrackPublication,
  type RoomOptions,
} from '@livekit/rtc-node';
import { lazyRequire } from '../lib/lazyRequire.js';
import { realClock, type Clock } from '../lib/clock.js';
import { ConfigError, ConnectionError, type ErrorCode } from '../lib/errors.js';
import { isNativeQueueMs } from '../lib/formats.js';
import { DEFAULT_QUEUE_SIZE_MS, LiveKitSink } from '../sinks/LiveKitSink.js';

/** livekit-server-sdk, loaded when a token is first minted. */
const serverSdk = lazyRequire<typeof import('livekit-server-sdk')>('livekit-server-sdk');

/** Credentials: a ready token, or an API key/secret from which a join+publish token is minted. */
export type ConnectCredentials =
  | { url: string; token: string }
  | {
      url: string;
      apiKey: string;
      apiSecret: string;
      roomName: string;
      identity: string;
      participantName?: string;
      /** The minted token may subscribe (to hear the room: RoomAudio). Default false: a publisher needs none. */
      canSubscribe?: boolean;
    };

export type ConnectOptions = ConnectCredentials & {
  /** Give up after this long with ERR_CONNECT_TIMEOUT. Default 5000 ms. */
  timeoutMs?: number;
  /** Passed to Room.connect (autoSubscribe defaults to false here: a publisher needs no remote media). */
  roomOptions?: Partial<RoomOptions>;
  /** Abort the attempt (e.g. on Ctrl-C): rejects with ERR_CONNECT_ABORTED. */
  signal?: AbortSignal;
  clock?: Clock;
};

export const DEFAULT_CONNECT_TIMEOUT_MS = 5000;

/** Connect to a LiveKit room; every failure is a ConnectionError with a code from the table in docs/publishing.md. */
export async function connect(opts: ConnectOptions): Promise<Room> {
  quietRtcNodeDebugLog();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw new ConfigError('ERR_CONNECT_OPTIONS', `timeoutMs must be > 0, got ${timeoutMs}`);
  const url = checkUrl(opts.url);
  const token = 'token' in opts ? checkToken(opts.token) : await mintToken(opts);
  if (opts.signal?.aborted) throw aborted();

  const room = new Room();
  const clock = opts.clock ?? realClock;
  const attempt = room.connect(url, token, { autoSubscribe: false, dynacast: false, ...opts.roomOptions });
  let gaveUp = false;
  let timer: ReturnType<Clock['setTimeout']> | undefined;
  let onAbort: (() => void) | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = clock.setTimeout(
      () =>
        reject(
          new ConnectionError(
            'ERR_CONNECT_TIMEOUT',
            `no answer from ${url} within ${timeoutMs} ms (is it a LiveKit server? is it reachable?)`,
          ),
        ),
      timeoutMs,
    );
    onAbort = () => reject(aborted());
    opts.signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    await Promise.race([attempt, deadline]);
    return room;
  } catch (err) {
    if (err instanceof ConnectionError) {
      gaveUp = true;
      throw err;
    }
    throw classify(url, err);
  } finally {
    if (timer) clock.clearTimeout(timer);
    if (onAbort) opts.signal?.removeEventListener('abort', onAbort);
    if (gaveUp) {
      // The native attempt keeps running; if it ever succeeds, leave the room again.
      attempt.then(
        () => room.disconnect(),
        () => undefined,
      );
    }
  }
}

/** Where credentials may come from: explicit values first, then the environment. */
export interface CredentialSources {
  url?: string;
  token?: string;
  apiKey?: string;
  apiSecret?: string;
  roomName?: string;
  identity?: string;
}

/**
 * Pick connect credentials from explicit values, then LIVEKIT_URL / LIVEKIT_TOKEN / LIVEKIT_API_KEY /
 * LIVEKIT_API_SECRET. A token wins over a key pair. Throws ConfigError (ERR_CONNECT_OPTIONS) naming what
 * is missing. `identity` defaults to `livekit-audio-<random>`.
 */
export function resolveCredentials(
  given: CredentialSources,
  env: Record<string, string | undefined> = process.env,
): ConnectCredentials {
  const pick = (v: string | undefined, name: string) => (v !== undefined && v !== '' ? v : env[name] || undefined);
  const url = pick(given.url, 'LIVEKIT_URL');
  if (url === undefined) {
    throw new ConfigError('ERR_CONNECT_OPTIONS', 'no LiveKit URL: pass --url wss://… or set LIVEKIT_URL');
  }
  const token = pick(given.token, 'LIVEKIT_TOKEN');
  if (token !== undefined) return { url, token };
  const apiKey = pick(given.apiKey, 'LIVEKIT_API_KEY');
  const apiSecret = pick(given.apiSecret, 'LIVEKIT_API_SECRET');
  if (apiKey === undefined || apiSecret === undefined) {
    throw new ConfigError(
      'ERR_CONNECT_OPTIONS',
      'no credentials: pass --token (or LIVEKIT_TOKEN), or --api-key and --api-secret ' +
        '(or LIVEKIT_API_KEY and LIVEKIT_API_SECRET) with --room',
    );
  }
  if (!given.roomName) {
    throw new ConfigError('ERR_CONNECT_OPTIONS', 'an API key needs a room to mint a token for: pass --room NAME');
  }
  const identity = given.identity || `livekit-audio-${Math.random().toString(16).slice(2, 8)}`;
  return { url, apiKey, apiSecret, roomName: given.roomName, identity };
}

/** Mint a token that may join `roomName` and publish, as `identity` (ttl 1 h unless given). */
export async function mintToken(opts: {
  apiKey: string;
  apiSecret: string;
  roomName: string;
  identity: string;
  participantName?: string;
  ttl?: number | string;
  canSubscribe?: boolean;
}): Promise<string> {
  for (const k of ['apiKey', 'apiSecret', 'roomName', 'identity'] as const) {
    if (typeof opts[k] !== 'string' || opts[k] === '') {
      throw new ConfigError('ERR_CONNECT_OPTIONS', `${k} must be a non-empty string to mint a token`);
    }
  }
  const { AccessToken } = serverSdk();
  const at = new AccessToken(opts.apiKey, opts.apiSecret, {
    identity: opts.identity,
    name: opts.participantName,
    ttl: opts.ttl ?? '1h',
  });
  at.addGrant({ roomJoin: true, room: opts.roomName, canPublish: true, canSubscribe: opts.canSubscribe === true });
  return at.toJwt();
}

function checkUrl(url: unknown): string {
  if (typeof url !== 'string' || url === '') {
    throw new ConnectionError('ERR_CONNECT_URL', 'a LiveKit URL is required (e.g. wss://my-project.livekit.cloud)');
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConnectionError('ERR_CONNECT_URL', `'${url}' is not a URL (expected ws://host:port or wss://host)`);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(parsed.protocol)) {
    throw new ConnectionError(
      'ERR_CONNECT_URL',
      `'${url}' has scheme ${parsed.protocol} — a LiveKit URL starts with wss:// (or ws:// for a local server)`,
    );
  }
  return url;
}

/** A JWT has three base64url parts; an expired one is refused before any network round trip. */
function checkToken(token: unknown): string {
  if (typeof token !== 'string' || token === '') {
    throw new ConnectionError('ERR_CONNECT_AUTH', 'a token is required (or apiKey/apiSecret/roomName/identity)');
  }
  const parts = token.split('.');
  let claims: { exp?: unknown } | undefined;
  try {
    claims = parts.length === 3 ? JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) : undefined;
  } catch {
    claims = undefined;
  }
  if (claims === undefined || typeof claims !== 'object' || claims === null) {
    throw new ConnectionError('ERR_CONNECT_AUTH', 'the token is not a JWT (expected three base64url parts)');
  }
  if (typeof claims.exp === 'number' && claims.exp * 1000 < Date.now()) {
    throw new ConnectionError('ERR_CONNECT_AUTH', `the token expired at ${new Date(claims.exp * 1000).toISOString()}`);
  }
  return token;
}

/** rtc-node reports failures as ConnectError strings from the Rust SDK; map the ones measured to codes. */
function classify(url: string, err: unknown): ConnectionError {
  const msg = err instanceof Error ? err.message : String(err);
  const rules: [RegExp, ErrorCode, string][] = [
    [/\b40[13]\b|unauthori[sz]ed|invalid token|forbidden/i, 'ERR_CONNECT_AUTH', 'the server refused the token'],
    [/refused/i, 'ERR_CONNECT_REFUSED', `nothing accepts connections at ${url}`],
    [/lookup address|name or service|dns/i, 'ERR_CONNECT_DNS', `the host of ${url} does not resolve`],
    [/timed out|timeout|JoinResponse/i, 'ERR_CONNECT_TIMEOUT', `${url} did not complete the LiveKit handshake`],
    [/parse the url|scheme/i, 'ERR_CONNECT_URL', `'${url}' is not a usable LiveKit URL`],
  ];
  for (const [re, code, what] of rules) {
    if (re.test(msg)) return new ConnectionError(code, `${what}: ${msg}`, { cause: err });
  }
  return new ConnectionError('ERR_CONNECT_FAILED', `could not connect to ${url}: ${msg}`, { cause: err });
}

function aborted(): ConnectionError {
  return new ConnectionError('ERR_CONNECT_ABORTED', 'the connection attempt was aborted');
}

/** What `publish` needs from a room: a connected local participant. (A Room satisfies it.) */
export interface PublishTarget {
  readonly isConnected: boolean;
  readonly localParticipant?: {
    publishTrack(track: LocalAudioTrack, options: TrackPublishOptions): Promise<LocalTrackPublication>;
    unpublishTrack(trackSid: string, stopOnUnpublish?: boolean): Promise<void>;
  };
}

export interface PublishOptions {
  /** Rate of the frames the sink will take. Default 48000. */
  sampleRate?: number;
  /** Default 1. */
  channels?: number;
  /** Native queue of the AudioSource (ms, multiple of 10; 0 = direct mode). Default: LiveKitSink's default. */
  queueSizeMs?: number;
  /** Track name seen by other participants. Default 'audio'. */
  name?: string;
  /** Extra TrackPublishOptions (dtx, red, audioEncoding...). `source` is microphone unless given. */
  publishOptions?: Partial<TrackPublishOptions>;
  /** Unpublish the track and close the source once the sink finishes or is destroyed. Default true. */
  unpublishOnEnd?: boolean;
}

/** The sink of a published track: write AudioFrames, it plays them into the room. */
export type PublishedSink = LiveKitSink & {
  readonly track: LocalAudioTrack;
  readonly publication: LocalTrackPublication;
  /** Wait for queued audio to play out, unpublish, close track and source. Idempotent. */
  unpublish(): Promise<void>;
};

/** Publish one audio track in `room` and return the LiveKitSink that feeds it. */
export async function publish(room: PublishTarget, opts: PublishOptions = {}): Promise<PublishedSink> {
  const participant = room.localParticipant;
  if (!room.isConnected || participant === undefined) {
    throw new ConnectionError('ERR_NOT_CONNECTED', 'publish() needs a connected room (await connect(...) first)');
  }
  const sampleRate = opts.sampleRate ?? 48000;
  const channels = opts.channels ?? 1;
  // rtc-node's own default queue is 1000 ms: far too much latency for anything live
  const queueSizeMs = opts.queueSizeMs ?? DEFAULT_QUEUE_SIZE_MS;
  for (const [name, v] of [
    ['sampleRate', sampleRate],
    ['channels', channels],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) {
      throw new ConfigError('ERR_PUBLISH_OPTIONS', `${name} must be a positive integer, got ${v}`);
    }
  }
  if (!isNativeQueueMs(queueSizeMs)) {
    throw new ConfigError('ERR_PUBLISH_OPTIONS', `queueSizeMs must be 0 or a multiple of 10, got ${queueSizeMs}`);
  }
  const source = new AudioSource(sampleRate, channels, queueSizeMs);
  const sink = new LiveKitSink({ source });
  const track = LocalAudioTrack.createAudioTrack(opts.name ?? 'audio', source);
  let publication: LocalTrackPublication;
  try {
    publication = await participant.publishTrack(
      track,
      new TrackPublishOptions({ source: TrackSource.SOURCE_MICROPHONE, ...opts.publishOptions }),
    );
  } catch (err) {
    sink.destroy();
    await track.close(true);
    throw new ConnectionError('ERR_PUBLISH', `could not publish the track: ${(err as Error)?.message ?? err}`, {
      cause: err,
    });
  }

  let done: Promise<void> | undefined;
  const unpublish = (): Promise<void> =>
    (done ??= (async () => {
      if (!sink.destroyed && !sink.writableFinished) sink.destroy();
      await source.waitForPlayout();
      if (room.isConnected && publication.sid) await participant.unpublishTrack(publication.sid, false);
      await track.close(true);
    })());
  const published = Object.assign(sink, { track, publication, unpublish }) as PublishedSink;
  if (opts.unpublishOnEnd ?? true) sink.once('close', () => void unpublish().catch(() => undefined));
  return published;
}
