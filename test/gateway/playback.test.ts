/**
 * The way back (gateway/playback.ts) on virtual time: sample-exact re-cutting into the protocol's messages, pacing
 * at most two messages ahead of the caller's clock whatever the source does, clear (barge-in), marks and the
 * playout delay they measure, a socket that does not drain, and a source of the wrong format.
 */
import t from 'tap';
import { Readable } from 'node:stream';
import { VirtualClock } from '../../lib/clock.js';
import { createFrame } from '../../lib/frames.js';
import { FrameFormatError } from '../../lib/errors.js';
import { CallPlayback, INTERRUPTED } from '../../gateway/playback.js';
import type { Outbound } from '../../gateway/protocols/protocol.js';
import { TwilioCall } from '../../gateway/protocols/twilio.js';
import { RawPcmCall } from '../../gateway/protocols/rawPcm.js';
import { mulawToInt16 } from '../../lib/formats.js';
import { START } from '../helpers/gatewayClient.js';

type Sent = { at: number; msg: string | Buffer };

/** s16le 8 kHz mono, 20 ms (320 bytes) per message; clear and mark as text. */
const outbound: Outbound = {
  format: { encoding: 's16le', sampleRate: 8000, channels: 1 },
  frameMs: 20,
  media: (bytes) => Buffer.from(bytes),
  clear: () => 'CLEAR',
  mark: (name) => `MARK ${name}`,
};

/** A source the test feeds by hand, with a clear() that reports what it dropped. */
function source() {
  const audio = new Readable({ objectMode: true, highWaterMark: 1000, read() {} }) as Readable & {
    clear(): number;
    cleared: number;
  };
  audio.cleared = 0;
  audio.clear = () => {
    audio.cleared++;
    return 30;
  };
  return audio;
}

/** `ms` of 8 kHz audio in 10 ms frames, samples counting up from `from`. */
function frames(from: number, ms: number) {
  return Array.from({ length: ms / 10 }, (_, f) =>
    createFrame(
      Int16Array.from({ length: 80 }, (_, i) => (from + f * 80 + i) % 30000),
      8000,
      1,
    ),
  );
}

/** s16le bytes as samples (a Buffer may be a view into a shared pool). */
function samplesOf(buf: Buffer): Int16Array {
  return Int16Array.from({ length: buf.length / 2 }, (_, i) => buf.readInt16LE(2 * i));
}

function start(opts: { unsent?: () => number; markEveryMs?: number } = {}) {
  const clock = new VirtualClock();
  const audio = source();
  const sent: Sent[] = [];
  const errors: Error[] = [];
  const pb = new CallPlayback({
    audio,
    outbound,
    clock,
    send: (msg) => sent.push({ at: clock.now(), msg }),
    unsentBytes: opts.unsent ?? (() => 0),
    markEveryMs: opts.markEveryMs ?? 0,
    onError: (e) => errors.push(e),
  });
  const media = () => sent.filter((s) => Buffer.isBuffer(s.msg));
  return { clock, audio, sent, media, errors, pb };
}

t.test('real-time frames go out as they come, re-cut sample-exact into 20 ms messages', async (t) => {
  const { clock, audio, media, pb } = start();
  for (let i = 0; i < 50; i++) {
    for (const f of frames(i * 80, 10)) audio.push(f);
    await clock.advanceAsync(10);
  }
  const got = media();
  t.equal(got.length, 25, '500 ms in 10 ms frames: 25 messages of 20 ms');
  t.ok(
    got.every((s) => (s.msg as Buffer).length === 320),
    'each 160 samples of s16le',
  );
  const samples = samplesOf(Buffer.concat(got.map((s) => s.msg as Buffer)));
  t.same(
    Array.from(samples.subarray(0, 4000)),
    Array.from({ length: 4000 }, (_, i) => i % 30000),
    'every sample, in order',
  );
  t.same(pb.stats.messages, 25);
  t.equal(pb.stats.msSent, 500);
  t.equal(pb.stats.gaps, 0);
  pb.stop();
  t.ok(audio.destroyed, 'stop() releases the source');
});

t.test('a burst waits here: never more than two messages ahead of the caller', async (t) => {
  const { clock, audio, media } = start();
  for (const f of frames(0, 1000)) audio.push(f);
  await clock.advanceAsync(0);
  t.equal(media().length, 2, 'a second of audio at once: two messages sent now');
  await clock.advanceAsync(1000);
  const got = media();
  t.equal(got.length, 50, 'the rest in real time');
  // message k may go only once the caller has played all but one of those before it
  for (let k = 0; k < got.length; k++) {
    t.ok(got[k]!.at >= Math.max(0, (k - 1) * 20), `message ${k} at ${got[k]!.at} ms`);
  }
  t.equal(Math.max(...got.map((s, k) => (k + 1) * 20 - s.at)), 40, 'the caller holds at most 40 ms unplayed');
});

t.test('a backlog behind the pacing (after a stall) is skipped down to maxLagMs: no lasting delay', async (t) => {
  const { clock, audio, media, pb } = start();
  Object.defineProperty(audio, 'bufferedMs', { get: () => audio.readableLength * 10 });
  for (const f of frames(0, 500)) audio.push(f);
  await clock.advanceAsync(0);
  t.equal(pb.stats.skippedMs, 440, '500 ms queued at once: the oldest 440 ms skipped, 60 ms (3 messages) kept');
  const first = samplesOf(media()[0]!.msg as Buffer);
  t.equal(first[0], 440 * 8, 'what goes out first is the newest audio');
  await clock.advanceAsync(100);
  t.equal(media().length, 3);
});

t.test('a gap on the room side restarts the caller clock and is counted', async (t) => {
  const { clock, audio, media, pb } = start();
  for (const f of frames(0, 40)) audio.push(f);
  await clock.advanceAsync(200);
  for (const f of frames(0, 40)) audio.push(f);
  await clock.advanceAsync(0);
  t.equal(media().length, 4, 'after the caller ran dry, the next two go at once');
  t.equal(pb.stats.gaps, 1);
});

t.test('clear(): drops the partial message and the source queue, tells the caller, sends again at once', async (t) => {
  const { clock, audio, sent, media, pb } = start();
  for (const f of frames(0, 1000)) audio.push(f);
  await clock.advanceAsync(100);
  const before = media().length;
  t.equal(before, 7, 'two at once, then one per 20 ms (at 20, 40, 60, 80, 100)');
  pb.clear();
  t.equal(audio.cleared, 1, "the source's queue dropped");
  t.equal(sent.at(-3)?.msg, 'CLEAR', 'the protocol clear goes right after the media it clears');
  t.equal(media().length, before + 2, 'then two messages at once: the caller holds nothing');
  t.equal(pb.stats.clears, 1);
  t.equal(pb.stats.clearedMs, 30, "the source's 30 ms");
});

t.test("the 'interrupted' event from the source clears", async (t) => {
  const { clock, audio, sent } = start();
  for (const f of frames(0, 100)) audio.push(f);
  await clock.advanceAsync(20);
  audio.emit(INTERRUPTED);
  t.ok(
    sent.some((s) => s.msg === 'CLEAR'),
    'clear sent',
  );
});

t.test('marks follow every second of audio; their echo measures the playout delay', async (t) => {
  const { clock, audio, sent, pb } = start({ markEveryMs: 1000 });
  for (let i = 0; i < 300; i++) {
    for (const f of frames(i * 80, 10)) audio.push(f);
    await clock.advanceAsync(10);
  }
  const marks = sent.filter((s) => typeof s.msg === 'string' && s.msg.startsWith('MARK'));
  t.same(
    marks.map((m) => m.msg),
    ['MARK m1', 'MARK m2', 'MARK m3'],
  );
  // message j is complete when frame 2j+1 arrives, at (2j+1) × 10 ms: the 50th at 990 ms, the 150th at 2990 ms
  t.equal(marks[0]!.at, 990, 'right after the 50th message');
  t.equal(marks[2]!.at, 2990);
  await clock.advanceAsync(35); // now 3035
  pb.played('m3');
  pb.played('unknown');
  t.same(pb.stats.playoutDelayMs, { p50: 45, max: 45, last: 45 });
  t.equal(pb.stats.marksPlayed, 1, 'an unknown name is ignored');
  pb.clear();
  pb.played('m2');
  t.equal(pb.stats.marksPlayed, 1, 'marks pending at a clear are forgotten (Twilio echoes them on clear)');
});

t.test('a socket that does not drain: messages are dropped, the clock still runs', async (t) => {
  let unsent = 0;
  const { clock, audio, media, pb } = start({ unsent: () => unsent });
  unsent = 1 << 20;
  for (let i = 0; i < 10; i++) {
    for (const f of frames(i * 80, 10)) audio.push(f);
    await clock.advanceAsync(10);
  }
  t.equal(media().length, 0);
  t.equal(pb.stats.droppedMessages, 5);
  unsent = 0;
  for (const f of frames(0, 20)) audio.push(f);
  await clock.advanceAsync(10);
  t.equal(media().length, 1, 'sends again once drained');
});

t.test('a frame of the wrong format ends the way back with FrameFormatError', async (t) => {
  const { clock, audio, errors, media } = start();
  audio.push(createFrame(new Int16Array(160), 16000, 1));
  await clock.advanceAsync(10);
  t.equal(errors.length, 1);
  t.type(errors[0], FrameFormatError);
  t.match(errors[0], { code: 'ERR_FRAME_MISMATCH', message: /8000 Hz \/ 1 ch.*16000 Hz/ });
  t.ok(audio.destroyed);
  t.equal(media().length, 0);
});

t.test('a source that pushes something that is not a frame ends the way back, no throw escapes', async (t) => {
  for (const bad of [{ sampleRate: 8000, channels: 1 }, 'x', 42]) {
    const { clock, audio, errors, media } = start();
    audio.push(bad);
    await clock.advanceAsync(10);
    t.equal(errors.length, 1, JSON.stringify(bad));
    t.type(errors[0], FrameFormatError);
    t.ok(audio.destroyed);
    t.equal(media().length, 0);
  }
});

t.test('an encoder that throws (a defect) ends the way back through onError, from a timer too', async (t) => {
  const clock = new VirtualClock();
  const audio = source();
  const errors: Error[] = [];
  let calls = 0;
  new CallPlayback({
    audio,
    outbound: {
      ...outbound,
      media: () => {
        if (++calls === 3) throw new Error('boom');
        return Buffer.alloc(1);
      },
    },
    clock,
    send: () => undefined,
    unsentBytes: () => 0,
    markEveryMs: 0,
    onError: (e) => errors.push(e),
  });
  for (const f of frames(0, 200)) audio.push(f);
  await clock.advanceAsync(100); // the third message goes from the pacing timer
  t.equal(errors.length, 1);
  t.match(errors[0], { message: 'boom' });
  t.ok(audio.destroyed);
});

t.test("Twilio's outbound messages: media, clear and mark with the stream's sid", (t) => {
  const call = new TwilioCall();
  t.equal(call.outbound, undefined, 'nothing goes back before start');
  call.receive(Buffer.from(JSON.stringify(START)), false);
  const out = call.outbound!;
  t.same(out.format, { encoding: 'mulaw', sampleRate: 8000, channels: 1 });
  t.equal(out.frameMs, 20);
  const payload = Buffer.alloc(160, 0x7f);
  t.same(JSON.parse(out.media(payload) as string), {
    event: 'media',
    streamSid: START.streamSid,
    media: { payload: payload.toString('base64') },
  });
  t.same(JSON.parse(out.clear() as string), { event: 'clear', streamSid: START.streamSid });
  t.same(JSON.parse(out.mark!('m1') as string), { event: 'mark', streamSid: START.streamSid, mark: { name: 'm1' } });
  t.same(
    call.receive(
      Buffer.from(JSON.stringify({ event: 'mark', streamSid: START.streamSid, mark: { name: 'm1' } })),
      false,
    ),
    { kind: 'played', name: 'm1' },
  );
  t.equal(mulawToInt16(payload).length, 160);
  t.end();
});

t.test('raw PCM outbound: binary in the caller format, 20 ms (40 ms where 20 ms is not whole samples)', (t) => {
  const call = new RawPcmCall({ encoding: 's16le', sampleRate: 16000, channels: 2 });
  t.same(call.outbound!.format, { encoding: 's16le', sampleRate: 16000, channels: 2 });
  t.equal(call.outbound!.frameMs, 20);
  t.equal(new RawPcmCall({ encoding: 's16le', sampleRate: 11025, channels: 1 }).outbound!.frameMs, 40);
  const b = Buffer.alloc(8);
  t.equal(call.outbound!.media(b), b, 'the bytes themselves, as a binary message');
  t.same(JSON.parse(call.outbound!.clear() as string), { event: 'clear' });
  t.same(call.receive(Buffer.from('{"event":"mark","name":"m7"}'), false), { kind: 'played', name: 'm7' });
  t.throws(
    () => call.receive(Buffer.from('{"event":"hello"}'), false),
    { code: 'ERR_PCM_TEXT' },
    'other text stays an error',
  );
  t.end();
});
