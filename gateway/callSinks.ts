/**
 * Where a gateway call's audio goes, and what it hears back (ConnectionSink): the loopback (with `echo`, the
 * caller's own audio), a track in a shared room, or a room of the call's own.
 */
import { mkdir } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import path from 'node:path';
import { LocalAudioTrack, type Room, type Track } from '@livekit/rtc-node';
import { ConfigError } from '../lib/errors.js';
import type { AudioFrame } from '../lib/frames.js';
import { connect, publish, type ConnectOptions, type PublishTarget } from '../room/publish.js';
import { createLoopback } from '../room/loopback.js';
import { RoomAudio } from '../room/roomAudio.js';
import { WavFileSink } from '../sinks/WavFileSink.js';
import { LiveKitSink } from '../sinks/LiveKitSink.js';
import { DEFAULT_MAX_BUFFER_MS, LiveKitSource } from '../sources/LiveKitSource.js';
import type { ConnectionInfo, ConnectionSink } from './connection.js';

/** Loopback mode: how long after playout the last frames are awaited before the loopback closes. */
const LOOPBACK_TAIL_MS = 50;

/** What callers hear from a room (GatewayOptions.listenTo). */
export type ListenTo = { identity: string } | 'mix' | 'none';

/**
 * The loopback default: play into a local AudioSource → track → AudioStream, and (with outDir) write what comes
 * back to a WAV file. Nothing is kept in memory: a call can last hours.
 */
export async function loopbackSink(
  info: ConnectionInfo,
  queueSizeMs: number,
  outDir: string | undefined,
  echo: boolean,
): Promise<ConnectionSink> {
  if (outDir === undefined) return trackSink(info, queueSizeMs, echo);
  const { id, sampleRate, channels } = info;
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
  const returnAudio = echo && info.outbound ? echoSource(lb.track, info.outbound) : undefined;
  return {
    sink: lb.sink,
    ...(returnAudio && { returnAudio }),
    async close() {
      returnAudio?.destroy();
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

/**
 * The loopback without a recording: the sink's source on a local track and nothing reading it but the echo, if
 * asked. (Every AudioStream is one more listener that each FFI event of the process runs through: a recorder
 * nobody reads would double that for every call.)
 */
function trackSink(info: ConnectionInfo, queueSizeMs: number, echo: boolean): ConnectionSink {
  const sink = new LiveKitSink({ sampleRate: info.sampleRate, channels: info.channels, queueSizeMs });
  const track = LocalAudioTrack.createAudioTrack('loopback', sink.source);
  const returnAudio = echo && info.outbound ? echoSource(track, info.outbound) : undefined;
  return {
    sink,
    ...(returnAudio && { returnAudio }),
    async close() {
      returnAudio?.destroy();
      if (!sink.destroyed) sink.destroy();
      await track.close(false);
      if (!sink.closed) await new Promise((resolve) => sink.once('close', resolve));
    },
  };
}

/** The loopback track read back at the caller's rate, in 10 ms frames where the rate has them (least delay). */
function echoSource(track: Track, out: NonNullable<ConnectionInfo['outbound']>): LiveKitSource {
  const { sampleRate, channels } = out.format;
  return new LiveKitSource(track, {
    sampleRate,
    channels,
    frameMs: sampleRate % 100 === 0 ? 10 : out.frameMs,
    maxBufferMs: Math.max(DEFAULT_MAX_BUFFER_MS, 2 * out.frameMs),
  });
}

/** A call's track in a shared room; with listenTo, what it hears from that room. */
export async function roomSink(
  info: ConnectionInfo,
  target: PublishTarget,
  queueSizeMs: number,
  listenTo: ListenTo,
): Promise<ConnectionSink> {
  const { sampleRate, channels } = info;
  const sink = await publish(target, { sampleRate, channels, queueSizeMs, name: info.id, unpublishOnEnd: false });
  const returnAudio = hear(target, info, listenTo);
  return {
    sink,
    ...(returnAudio && { returnAudio }),
    async close() {
      returnAudio?.destroy();
      await sink.unpublish();
    },
  };
}

/** A room of the call's own: connect, publish, hear the room, and leave it when the call ends. */
export async function callRoomSink(
  info: ConnectionInfo,
  connectOpts: ConnectOptions,
  queueSizeMs: number,
  listenTo: ListenTo,
): Promise<ConnectionSink> {
  const room = await connect(hearing(connectOpts, listenTo));
  try {
    const inner = await roomSink(info, room, queueSizeMs, listenTo);
    return {
      ...inner,
      async close() {
        try {
          await inner.close();
        } finally {
          await room.disconnect();
        }
      },
    };
  } catch (err) {
    await room.disconnect();
    throw err;
  }
}

/** Connect options that may subscribe when callers are to hear the room. */
export function hearing(opts: ConnectOptions, listenTo: ListenTo): ConnectOptions {
  if (listenTo === 'none') return opts;
  return {
    ...opts,
    ...('apiKey' in opts && { canSubscribe: true }),
    roomOptions: { autoSubscribe: true, ...opts.roomOptions },
  };
}

/** The room-per-call naming (GatewayOptions.roomPerCall), or undefined when calls share one room. */
export function roomPerCallNames(
  roomPerCall: boolean | ((call: ConnectionInfo) => { roomName: string; identity: string }) | undefined,
  room: ConnectOptions | PublishTarget | undefined,
): ((call: ConnectionInfo) => { roomName: string; identity: string }) | undefined {
  if (!roomPerCall) return undefined;
  if (!room || !('apiKey' in room)) {
    throw new ConfigError(
      'ERR_GATEWAY_OPTIONS',
      'roomPerCall needs room connect options with apiKey and apiSecret (a token is for one room)',
    );
  }
  if (typeof roomPerCall === 'function') return roomPerCall;
  return (call) => {
    const asked = call.params.room;
    const roomName = typeof asked === 'string' && /^[\w.-]{1,64}$/.test(asked) ? asked : `call-${call.id}`;
    return { roomName, identity: `caller-${call.id}` };
  };
}

function hear(target: PublishTarget, info: ConnectionInfo, listenTo: ListenTo): RoomAudio | undefined {
  if (listenTo === 'none' || !info.outbound || !isRoom(target)) return undefined;
  return new RoomAudio(target, {
    ...(listenTo !== 'mix' && { identity: listenTo.identity }),
    sampleRate: info.outbound.format.sampleRate,
    channels: info.outbound.format.channels,
  });
}

function isRoom(target: PublishTarget): target is PublishTarget & Room {
  return (
    typeof (target as Partial<Room>).on === 'function' && (target as Partial<Room>).remoteParticipants !== undefined
  );
}
