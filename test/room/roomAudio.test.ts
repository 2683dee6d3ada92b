/**
 * RoomAudio through real native tracks (AudioSource → LocalAudioTrack, read back by LiveKitSource). No LiveKit
 * server runs here, so the Room is a stand-in that emits rtc-node's own events (trackSubscribed/Unsubscribed) with
 * those real tracks: following one identity across unpublish/republish (with 'interrupted' in between), ignoring
 * everyone else, and mixing every participant sample-exact.
 */
import t from 'tap';
import { EventEmitter } from 'node:events';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { AudioSource, LocalAudioTrack, RoomEvent, dispose, type Room } from '@livekit/rtc-node';
import { AudioFrame } from '../../lib/frames.js';
import { LiveKitSink } from '../../sinks/LiveKitSink.js';
import { RoomAudio } from '../../room/roomAudio.js';

t.teardown(() => dispose());

/** A stand-in Room: the events and the participant map RoomAudio reads. */
class StandInRoom extends EventEmitter {
  remoteParticipants = new Map();
  asRoom(): Room {
    return this as unknown as Room;
  }
}

/** A real local track at 8 kHz playing `ms` of a constant `value` in real time. */
function track(value: number, ms: number) {
  const source = new AudioSource(8000, 1, 0);
  const tr = LocalAudioTrack.createAudioTrack(`t${value}`, source);
  const frames = Array.from({ length: ms / 10 }, () => new AudioFrame(new Int16Array(80).fill(value), 8000, 1, 80));
  const playing = pipeline(Readable.from(frames), new LiveKitSink({ source }));
  return {
    track: tr,
    playing,
    close: async () => {
      await playing.catch(() => undefined);
      await tr.close(false);
    },
  };
}

function collect(audio: RoomAudio) {
  const values: number[] = [];
  audio.on('data', (f: AudioFrame) => values.push(...new Set(f.data)));
  return values;
}

t.test('follows one identity, ignores the others, and across a republish', async (t) => {
  const room = new StandInRoom();
  const audio = new RoomAudio(room.asRoom(), { identity: 'agent', sampleRate: 8000 });
  const values = collect(audio);
  let interrupted = 0;
  audio.on('interrupted', () => interrupted++);
  const agent = track(1000, 400);
  const other = track(2000, 400);
  room.emit(RoomEvent.TrackSubscribed, agent.track, {}, { identity: 'agent' });
  room.emit(RoomEvent.TrackSubscribed, other.track, {}, { identity: 'someone-else' });
  await agent.playing;
  await sleep(100);
  t.ok(values.includes(1000), "the agent's audio comes through");
  t.notOk(values.includes(2000), "nobody else's");
  room.emit(RoomEvent.TrackUnsubscribed, agent.track, {}, { identity: 'agent' });
  t.equal(interrupted, 1, "the agent's track going away is an interruption");
  const again = track(3000, 300);
  room.emit(RoomEvent.TrackSubscribed, again.track, {}, { identity: 'agent' });
  await again.playing;
  await sleep(100);
  t.ok(values.includes(3000), 'the republished track is followed');
  t.equal(audio.stats.tracks, 2);
  audio.destroy();
  await Promise.all([agent.close(), other.close(), again.close()]);
});

t.test('mix: every participant summed, sample-exact', async (t) => {
  const room = new StandInRoom();
  const a = track(1000, 500);
  const b = track(2000, 500);
  // one of them already there when RoomAudio starts, one subscribed later
  room.remoteParticipants.set('a', {
    identity: 'a',
    trackPublications: new Map([['TR_a', { track: a.track }]]),
  });
  const audio = new RoomAudio(room.asRoom(), { sampleRate: 8000 });
  const values = collect(audio);
  room.emit(RoomEvent.TrackSubscribed, b.track, {}, { identity: 'b' });
  await Promise.all([a.playing, b.playing]);
  await sleep(100);
  t.ok(values.includes(3000), 'a frame of both: 1000 + 2000');
  t.same(
    [...new Set(values)].filter((v) => ![0, 1000, 2000, 3000].includes(v)),
    [],
    'nothing but silence, either one, or their exact sum',
  );
  t.ok(audio.stats.framesOut >= 40, `${audio.stats.framesOut} mixed frames`);
  t.ok(audio.bufferedMs <= 200, `holds ${audio.bufferedMs} ms`);
  audio.destroy();
  await Promise.all([a.close(), b.close()]);
});

t.test('a subscribed track RoomAudio cannot read ends it with an error, not a throw out of the Room', async (t) => {
  const room = new StandInRoom();
  const audio = new RoomAudio(room.asRoom(), { sampleRate: 8000 });
  const failed = new Promise<Error>((resolve) => audio.once('error', resolve));
  t.doesNotThrow(() => room.emit(RoomEvent.TrackSubscribed, { kind: 1, sid: 'TR_x' }, {}, { identity: 'x' }));
  t.match(await failed, { code: 'ERR_SOURCE_OPTIONS' });
  t.ok(audio.destroyed);
});
