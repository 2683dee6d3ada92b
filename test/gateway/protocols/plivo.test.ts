import t from 'tap';
import { PlivoCall } from '../../../gateway/protocols/plivo.js';
import { CloseCode } from '../../../gateway/protocols/protocol.js';
import { b64, plivo, refuses, send } from './examples.js';

function started(encoding = 'audio/x-mulaw', rate: unknown = 8000): PlivoCall {
  const p = new PlivoCall();
  send(p, plivo.start(encoding, rate));
  return p;
}

t.test('the documented stream: start, media, dtmf, playedStream, clearedAudio, stop', (t) => {
  const p = new PlivoCall();
  t.same(send(p, plivo.start()), {
    kind: 'start',
    format: { encoding: 'mulaw', sampleRate: 8000, channels: 1 },
    params: { userId: '12345', sessionId: 'abc-xyz' },
  });
  const payload = Buffer.from(Array.from({ length: 160 }, (_, i) => 255 - i));
  const ev = send(p, plivo.media(2, 1, payload.toString('base64')));
  if (ev.kind !== 'audio') throw new Error('not audio');
  t.same([...ev.bytes], [...payload]);
  t.notOk('seq' in ev || 'timestamp' in ev, 'timestamps are wall clock: arrival order');
  t.same(send(p, plivo.dtmf()), { kind: 'none' });
  t.same(send(p, plivo.played('m1')), { kind: 'played', name: 'm1' }, 'an echoed checkpoint is played');
  t.same(send(p, { event: 'played', streamId: plivo.STREAM, name: 'm2' }), { kind: 'played', name: 'm2' });
  t.same(send(p, plivo.cleared()), { kind: 'none' });
  t.same(send(p, plivo.stop()), { kind: 'stop' });
  t.match(p.record(), {
    streamSid: plivo.STREAM,
    callSid: '12345678-1234-1234-1234-123456789abc',
    plivo: { messages: 7, media: 1, payloadBytes: 160, checkpoints: 2, cleared: 1, dtmf: 1 },
  });
  refuses(t, () => send(p, plivo.media(9, 2, b64(160))), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_ORDER');
  t.end();
});

t.test('L16 at 8 and 16 kHz; repeats dropped, gaps counted, other tracks skipped', (t) => {
  t.same(started('audio/x-l16', 16000).outbound?.format, { encoding: 's16le', sampleRate: 16000, channels: 1 });
  const p = started('audio/x-l16', '8000');
  t.equal(send(p, plivo.media(2, 1, b64(320, 0))).kind, 'audio');
  t.equal(send(p, plivo.media(3, 1, b64(320, 0))).kind, 'none', 'a repeat');
  t.equal(send(p, plivo.media(4, 4, b64(320, 0))).kind, 'audio');
  t.equal(send(p, plivo.media(5, 5, b64(320, 0), 'outbound')).kind, 'none');
  t.match(p.record().plivo, { media: 2, lateChunks: 1, missingChunks: 2, otherTrack: 1 });
  for (const [enc, rate] of [
    ['audio/x-mulaw', 16000],
    ['audio/x-l16', 24000],
    ['audio/x-alaw', 8000],
    ['audio/x-l16;rate=8000', 8000],
  ] as const) {
    refuses(t, () => started(enc, rate), CloseCode.UNSUPPORTED_DATA, 'ERR_PLIVO_FORMAT');
  }
  t.end();
});

t.test('outbound: playAudio, clearAudio, checkpoint in the documented JSON', (t) => {
  const mu = started().outbound!;
  t.equal(mu.frameMs, 20);
  t.equal(
    mu.media(Buffer.from([1, 2, 3])),
    '{"event":"playAudio","media":{"contentType":"audio/x-mulaw","sampleRate":8000,"payload":"AQID"}}',
  );
  t.equal(mu.clear(), `{"event":"clearAudio","streamId":"${plivo.STREAM}"}`);
  t.equal(mu.mark!('m3'), `{"event":"checkpoint","streamId":"${plivo.STREAM}","name":"m3"}`);
  const l16 = started('audio/x-l16', 16000).outbound!;
  t.equal(
    l16.media(Buffer.from([0, 0])),
    '{"event":"playAudio","media":{"contentType":"audio/x-l16","sampleRate":16000,"payload":"AAA="}}',
  );
  t.end();
});

t.test('extra_headers: both separators, odd pairs skipped, prototype keys stay keys', (t) => {
  const p = new PlivoCall();
  const ev = send(p, { ...plivo.start(), extra_headers: 'a=1,b=2;__proto__=x;bad;=z' });
  t.same(ev.kind === 'start' && ev.params, { a: '1', b: '2', ['__proto__']: 'x' });
  t.equal(({} as { x?: unknown }).x, undefined);
  t.end();
});

t.test('hostile input: each kind refused with its close code and error code', (t) => {
  refuses(t, () => new PlivoCall().receive(Buffer.alloc(160), true), CloseCode.UNSUPPORTED_DATA, 'ERR_PLIVO_BINARY');
  refuses(t, () => new PlivoCall().receive(Buffer.from('{'), false), CloseCode.INVALID_PAYLOAD, 'ERR_PLIVO_JSON');
  for (const bad of [null, true, [], {}, { event: 1 }]) {
    refuses(t, () => send(new PlivoCall(), bad), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_MESSAGE');
  }
  refuses(t, () => send(started(), { event: 'connected' }), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_EVENT');
  refuses(t, () => send(new PlivoCall(), plivo.media(1, 1, b64(160))), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_ORDER');
  refuses(t, () => send(started(), plivo.start()), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_ORDER');
  refuses(t, () => send(new PlivoCall(), { event: 'start' }), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_MESSAGE');
  refuses(
    t,
    () => send(new PlivoCall(), { event: 'start', start: { mediaFormat: {} } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_PLIVO_MESSAGE',
  );
  refuses(
    t,
    () => send(new PlivoCall(), { ...plivo.start(), extra_headers: { a: 1 } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_PLIVO_MESSAGE',
  );
  refuses(
    t,
    () => send(new PlivoCall(), { ...plivo.start(), sequenceNumber: -1 }),
    CloseCode.POLICY_VIOLATION,
    'ERR_PLIVO_MESSAGE',
  );
  refuses(
    t,
    () => send(started(), { ...plivo.media(2, 1, b64(160)), streamId: 'x' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_PLIVO_STREAM',
  );
  refuses(t, () => send(started(), { event: 'media', media: {} }), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_MESSAGE');
  refuses(
    t,
    () => send(started(), { event: 'media', media: { payload: b64(160), chunk: 'x' } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_PLIVO_MESSAGE',
  );
  refuses(
    t,
    () => send(started(), { event: 'media', media: { payload: b64(160), timestamp: {} } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_PLIVO_MESSAGE',
  );
  refuses(
    t,
    () => send(started(), { event: 'media', media: { payload: b64(160), track: [] } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_PLIVO_MESSAGE',
  );
  refuses(t, () => send(started(), plivo.media(2, 1, '!!!!')), CloseCode.INVALID_PAYLOAD, 'ERR_PLIVO_BASE64');
  refuses(
    t,
    () => send(started('audio/x-l16'), plivo.media(2, 1, b64(3))),
    CloseCode.INVALID_PAYLOAD,
    'ERR_PLIVO_PAYLOAD',
  );
  refuses(t, () => send(started(), { event: 'playedStream' }), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_MESSAGE');
  refuses(t, () => send(started(), { event: 'dtmf', dtmf: {} }), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_MESSAGE');
  const stopped = started();
  send(stopped, plivo.stop());
  refuses(t, () => send(stopped, plivo.cleared()), CloseCode.POLICY_VIOLATION, 'ERR_PLIVO_ORDER');
  t.end();
});
