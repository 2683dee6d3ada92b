/**
 * `livekit-audio publish <file|->`: decode a file (or WAV on stdin), resample to 48 kHz, cut 10 ms frames and
 * publish them as one track; the sink's backpressure paces the file to real time. Exits when the audio has
 * played out (0), on Ctrl-C (130, the queued audio is cut), on a failure (1), a bad invocation (2) or a
 * missing, unreadable or undecodable file (3): bin/commands/exitCodes.ts.
 */
import { createReadStream } from 'node:fs';
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
import { realClock, type Clock } from '../../lib/clock.js';
import { ConfigError } from '../../lib/errors.js';
import { decodeWav, type WavFormatInfo } from '../../transforms/decodeWav.js';
import { decodeFile, type DecodedFileFormat } from '../../transforms/decodeFile.js';
import { resample } from '../../transforms/resample.js';
import { rechunk } from '../../transforms/rechunk.js';
import { DEFAULT_QUEUE_SIZE_MS, type LiveKitSinkStats } from '../../sinks/LiveKitSink.js';
import {
  checkInputFile,
  describeError,
  EXIT,
  exitCodeFor,
  intArg,
  interruptible,
  usageError,
  type Command,
  type ExitCode,
} from './command.js';
import { failureJson, wantsJson, writeJson, type JsonHead } from './jsonReport.js';
import { durationFromFormat, progressWanted, startProgress } from './progress.js';

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
  --json               Print one JSON report on stdout when done (command, ok, exitCode, file, name, room,
                       track, totalMs, publishedMs, wallMs, sink; on a failure command, ok, exitCode, error).
  --quiet              No progress line.
  --progress           Draw the progress line on stderr even when it is not a terminal.

On a terminal, stderr shows a progress line (seconds published of the total, underruns so far); status
lines (publishing…, done…) go to stderr too.
Exit codes: 0 played out, 1 failure (connection refused, bad token), 2 bad invocation (missing URL or
credentials, bad option), 3 the file is missing, unreadable or undecodable, 130 interrupted.`;

export interface PublishIo {
  env?: Record<string, string | undefined>;
  stdin?: Readable;
  /** stdout writer: the `--json` report. */
  out?: { write(s: string): unknown };
  /** stderr writer; `isTTY` turns the progress line on. */
  err?: { write(s: string): unknown; isTTY?: boolean };
  /** The progress line's clock. Default realClock. */
  clock?: Clock;
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
  json: boolean;
  progress: boolean;
}

/** `--json` on stdout after a played-out file. */
export interface PublishJson extends JsonHead {
  /** The path given, or '-' for stdin. */
  file: string;
  /** The track's name, and the room it was published in. */
  name: string;
  room: string | null;
  track: { sampleRate: number; channels: number; mode: 'buffered' | 'direct'; queueSizeMs: number };
  /** The input's duration from its header (undefined for a WAV stream of unknown length: omitted). */
  totalMs: number | undefined;
  /** Audio given to the track (the sink's msCaptured). */
  publishedMs: number;
  /** From joining the room to the end of playout. */
  wallMs: number;
  sink: LiveKitSinkStats;
}

export async function runPublish(args: string[], io: PublishIo = {}): Promise<number> {
  const out = io.out ?? process.stdout;
  const err = io.err ?? process.stderr;
  const say = (s: string) => err.write(`livekit-audio publish: ${s}\n`);
  const fail = (code: ExitCode, e: unknown, line: string): ExitCode => {
    err.write(line + '\n');
    if (wantsJson(args)) writeJson(out, failureJson('publish', code, e));
    return code;
  };
  let a: PublishArgs;
  try {
    a = parsePublishArgs(args, io.env ?? process.env);
  } catch (e) {
    return fail(EXIT.usage, e, usageError('publish', e));
  }
  try {
    if (a.file !== '-') await checkInputFile(a.file);
  } catch (e) {
    return fail(EXIT.input, e, `livekit-audio publish: ${describeError(e)}`);
  }

  const interrupt = interruptible(io.signal);
  const abort = { signal: interrupt.signal };
  let room: (PublishTarget & Pick<Room, 'name' | 'disconnect'>) | undefined;
  let sink: PublishedSink | undefined;
  let stopProgress = () => {};
  try {
    room = await (io.connect ?? connect)({ ...a.connect, signal: abort.signal });
    const joined = performance.now();
    sink = await publish(room, { sampleRate: 48000, channels: a.channels, queueSizeMs: a.queueSizeMs, name: a.name });
    // WAV streams through our parser; compressed files through decodeFile (streamed or native, at 48 kHz)
    const stages: (Readable | Transform)[] =
      a.file === '-'
        ? [io.stdin ?? process.stdin, decodeWav()]
        : extname(a.file).toLowerCase() === '.wav'
          ? [createReadStream(a.file, { highWaterMark: 16 * 1024 }), decodeWav()]
          : [decodeFile(a.file, { sampleRate: 48000, channels: a.channels })];
    let totalMs: number | undefined;
    stages[stages.length - 1]!.once('format', (f: WavFormatInfo | DecodedFileFormat) => {
      totalMs = durationFromFormat(f);
    });
    if (progressWanted(a, err.isTTY)) {
      const s = sink;
      const ticker = startProgress({
        read: () => ({ elapsedMs: s.stats.msCaptured, totalMs, underruns: s.stats.underruns }),
        write: (line) => err.write(line),
        clock: io.clock ?? realClock,
      });
      stopProgress = () => ticker.stop();
    }
    say(`publishing '${a.name}' in room '${room.name}'`);
    await pipeline([...stages, resample({ sampleRate: 48000, channels: a.channels }), rechunk(), sink], {
      signal: abort.signal,
    });
    stopProgress();
    await sink.unpublish();
    say(`done: ${(sink.stats.msCaptured / 1000).toFixed(1)} s published`);
    if (a.json) {
      const stats = sink.stats;
      const report: PublishJson = {
        command: 'publish',
        ok: true,
        exitCode: EXIT.ok,
        file: a.file,
        name: a.name,
        room: room.name ?? null,
        track: { sampleRate: 48000, channels: a.channels, mode: stats.mode, queueSizeMs: stats.queueSizeMs },
        totalMs,
        publishedMs: stats.msCaptured,
        wallMs: performance.now() - joined,
        sink: stats,
      };
      writeJson(out, report);
    }
    return EXIT.ok;
  } catch (e) {
    stopProgress();
    if (abort.signal.aborted)
      return fail(EXIT.interrupted, new Error('interrupted'), 'livekit-audio publish: interrupted');
    return fail(exitCodeFor(e), e, `livekit-audio publish: ${describeError(e)}`);
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
      json: { type: 'boolean' },
      progress: { type: 'boolean' },
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
    json: values.json ?? false,
    progress: values.progress ?? false,
  };
}

const command: Command = {
  summary: 'publish an audio file (or WAV on stdin) into a LiveKit room as one track, in real time',
  usage,
  // rtc-node keeps the process alive until disposed (once, at the very end: it cannot be used after)
  run: (args) => runPublish(args).finally(() => dispose()),
};
export default command;
