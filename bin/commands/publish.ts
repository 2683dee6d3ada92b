/**
 * `livekit-audio publish <file|->`: decode a file (or WAV on stdin), resample to 48 kHz, cut 10 ms frames and
 * publish them as one track; the sink's backpressure paces the file to real time. Exits when the audio has
 * played out (0), on Ctrl-C (130, the queued audio is cut), on a failure (1) or a bad invocation (2).
 */
import { createReadStream } from 'node:fs';
import { access } from 'node:fs/promises';
import { extname } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { dispose, type Room } from '@livekit/rtc-node';
import {
  connect,
  publish,
  resolveCredentials,
  type ConnectOptions,
  type PublishedSink,
  type PublishTarget,
} from '../../room/publish.js';
import { ConfigError, ConnectionError } from '../../lib/errors.js';
import { decodeWav, type WavFormatInfo } from '../../transforms/decodeWav.js';
import { decodeFile, type DecodedFileFormat } from '../../transforms/decodeFile.js';
import { resample } from '../../transforms/resample.js';
import { rechunk } from '../../transforms/rechunk.js';
import { DEFAULT_QUEUE_SIZE_MS } from '../../sinks/LiveKitSink.js';
import { describeError, intArg, interruptible, usageError, type Command } from './command.js';

const usage = `livekit-audio publish — play an audio file into a LiveKit room as one track, in real time.

Usage:
  livekit-audio publish <file|-> --url URL --token TOKEN
  livekit-audio publish <file|-> --url URL --api-key KEY --api-secret SECRET --room ROOM [--identity ID]

  <file>   a WAV file (any PCM/float/µ-law/A-law WAV), or MP3, FLAC, Ogg Vorbis, AAC/M4A by extension
  -        a WAV stream on stdin (e.g. \`sox in.flac -t wav - | livekit-audio publish - ...\`)

Options:
  --url URL            LiveKit server (wss://…). Default: env LIVEKIT_URL.
  --token TOKEN        Access token with roomJoin + canPublish. Default: env LIVEKIT_TOKEN.
  --api-key, --api-secret
                       Mint a token instead (env LIVEKIT_API_KEY, LIVEKIT_API_SECRET); needs --room.
  --room ROOM          Room to join when minting a token.
  --identity ID        Participant identity when minting a token. Default livekit-audio-<random>.
  --name NAME          Track name. Default: the file name.
  --channels 1|2       Published channels. Default 1 (stereo files are averaged).
  --queue-ms N         Native queue of the source, a multiple of 10 (0 = direct mode). Default ${DEFAULT_QUEUE_SIZE_MS}.
  --timeout-ms N       Give up connecting after N ms. Default 5000.
  --quiet              No progress output.

Progress goes to stderr: a bar on a terminal, a line every 10 s of audio otherwise.
Exit codes: 0 played out, 1 failure (connection refused, bad token, undecodable file), 2 bad invocation
(missing URL or credentials, missing file), 130 interrupted.`;

export interface PublishIo {
  env?: Record<string, string | undefined>;
  stdin?: Readable;
  /** stderr writer; `isTTY` turns the progress bar on. */
  err?: { write(s: string): unknown; isTTY?: boolean };
  /** Abort = Ctrl-C. Default: SIGINT. */
  signal?: AbortSignal;
  /** How to join the room. Default room/publish.ts `connect`. */
  connect?: (opts: ConnectOptions) => Promise<PublishTarget & Pick<Room, 'name' | 'disconnect'>>;
}

interface PublishArgs {
  file: string;
  connect: ConnectOptions;
  name: string;
  channels: number;
  queueSizeMs: number | undefined;
  quiet: boolean;
}

export async function runPublish(args: string[], io: PublishIo = {}): Promise<number> {
  const err = io.err ?? process.stderr;
  const say = (s: string) => err.write(`livekit-audio publish: ${s}\n`);
  let a: PublishArgs;
  try {
    a = parsePublishArgs(args, io.env ?? process.env);
    if (a.file !== '-')
      await access(a.file).catch(() => {
        throw new ConfigError('ERR_PUBLISH_FILE', `cannot read '${a.file}'`);
      });
  } catch (e) {
    err.write(`${usageError('publish', e)}\n`);
    return 2;
  }

  const interrupt = interruptible(io.signal);
  const abort = { signal: interrupt.signal };
  let room: (PublishTarget & Pick<Room, 'name' | 'disconnect'>) | undefined;
  let sink: PublishedSink | undefined;
  let stopProgress = () => {};
  try {
    room = await (io.connect ?? connect)({ ...a.connect, signal: abort.signal });
    sink = await publish(room, { sampleRate: 48000, channels: a.channels, queueSizeMs: a.queueSizeMs, name: a.name });
    // WAV streams through our parser; compressed files are decoded whole (at 48 kHz) by node-web-audio-api
    const stages: (Readable | Transform)[] =
      a.file === '-'
        ? [io.stdin ?? process.stdin, decodeWav()]
        : extname(a.file).toLowerCase() === '.wav'
          ? [createReadStream(a.file, { highWaterMark: 16 * 1024 }), decodeWav()]
          : [decodeFile(a.file, { sampleRate: 48000, channels: a.channels })];
    if (!a.quiet) stopProgress = progress(stages[stages.length - 1]!, sink, err);
    say(`publishing '${a.name}' in room '${room.name}'`);
    await pipeline([...stages, resample({ sampleRate: 48000, channels: a.channels }), rechunk(), sink], {
      signal: abort.signal,
    });
    stopProgress();
    await sink.unpublish();
    say(`done: ${(sink.stats.msCaptured / 1000).toFixed(1)} s published`);
    return 0;
  } catch (e) {
    stopProgress();
    if (abort.signal.aborted) {
      say('interrupted');
      return 130;
    }
    say(describeError(e));
    return e instanceof ConfigError || (e instanceof ConnectionError && e.code === 'ERR_CONNECT_URL') ? 2 : 1;
  } finally {
    interrupt.release();
    await sink?.unpublish().catch(() => undefined);
    await room?.disconnect().catch(() => undefined);
  }
}

function parsePublishArgs(args: string[], env: Record<string, string | undefined>): PublishArgs {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      token: { type: 'string' },
      'api-key': { type: 'string' },
      'api-secret': { type: 'string' },
      room: { type: 'string' },
      identity: { type: 'string' },
      name: { type: 'string' },
      channels: { type: 'string' },
      'queue-ms': { type: 'string' },
      'timeout-ms': { type: 'string' },
      quiet: { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) {
    const what = positionals.length === 0 ? 'which file? (or - for stdin)' : 'one file at a time';
    throw new ConfigError('ERR_PUBLISH_ARGS', what);
  }
  const file = positionals[0]!;
  const int = (name: string, v: string | undefined) => intArg(name, v, 'ERR_PUBLISH_ARGS');
  const channels = int('channels', values.channels) ?? 1;
  if (channels !== 1 && channels !== 2) throw new ConfigError('ERR_PUBLISH_ARGS', '--channels must be 1 or 2');
  const creds = resolveCredentials(
    {
      url: values.url,
      token: values.token,
      apiKey: values['api-key'],
      apiSecret: values['api-secret'],
      roomName: values.room,
      identity: values.identity,
    },
    env,
  );
  return {
    file,
    connect: { ...creds, timeoutMs: int('timeout-ms', values['timeout-ms']) },
    name: values.name ?? (file === '-' ? 'stdin' : file.replace(/^.*[\\/]/, '')),
    channels,
    queueSizeMs: int('queue-ms', values['queue-ms']),
    quiet: values.quiet ?? false,
  };
}

/** Progress from the sink's stats: a redrawn bar on a TTY, a line per 10 s of audio otherwise. */
function progress(decoder: Readable, sink: PublishedSink, err: NonNullable<PublishIo['err']>): () => void {
  let totalMs: number | undefined;
  decoder.once('format', (f: WavFormatInfo | DecodedFileFormat) => {
    if ('dataBytes' in f && f.dataBytes !== undefined) totalMs = (f.dataBytes / f.blockAlign / f.sampleRate) * 1000;
    else if ('durationMs' in f) totalMs = f.durationMs;
  });
  let lastLine = 0;
  const tick = () => {
    const ms = sink.stats.msCaptured;
    if (err.isTTY) {
      const frac = totalMs ? Math.min(1, ms / totalMs) : 0;
      const filled = '#'.repeat(Math.round(frac * 30)).padEnd(30, '-');
      const bar = totalMs ? `[${filled}] ${(frac * 100).toFixed(0).padStart(3)}% ` : '';
      err.write(`\r${bar}${(ms / 1000).toFixed(1)} s${totalMs ? ` / ${(totalMs / 1000).toFixed(1)} s` : ''}   `);
    } else if (ms - lastLine >= 10_000) {
      lastLine = ms - (ms % 10_000);
      err.write(`livekit-audio publish: ${(ms / 1000).toFixed(0)} s published\n`);
    }
  };
  const timer = setInterval(tick, 250);
  return () => {
    clearInterval(timer);
    if (err.isTTY) {
      tick();
      err.write('\n');
    }
  };
}

const command: Command = {
  summary: 'publish an audio file (or WAV on stdin) into a LiveKit room as one track, in real time',
  usage,
  // rtc-node keeps the process alive until disposed (once, at the very end: it cannot be used after)
  run: (args) => runPublish(args).finally(() => dispose()),
};
export default command;
