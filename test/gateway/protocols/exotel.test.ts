import t from 'tap';
import { ExotelCall, exotelFrameMs } from '../../../gateway/protocols/exotel.js';
import { CloseCode } from '../../../gateway/protocols/protocol.js';
import { b64, exotel, refuses, send } from './examples.js';

function started(rate: unknown = '8000', encoding = 'audio/x-raw'): ExotelCall {
  const p = new ExotelCall();
  send(p, exotel.connected());
  send(p, exotel.start(rate, encoding));
  return p;
}

t.test('the documented stream: connected, start, media, dtmf, mark, stop', (t) => {
  const p = new ExotelCall();
  t.same(send(p, exotel.connected()), { kind: 'none' });
  t.same(send(p, exotel.start()), {
    kind: 'start',
    format: { encoding: 's16le', sampleRate: 8000, channels: 1 },
    params: { key1: 'value1' },
  });
  const payload = Buffer.alloc(1600, 9); // ~100 ms, as Exotel sends
  const ev = send(p, exotel.media(3, 2, payload.toString('base64')));
  t.same(ev, { kind: 'audio', bytes: payload });
  t.same(send(p, exotel.dtmf()), { kind: 'none' });
  t.same(send(p, exotel.mark('m1')), { kind: 'played', name: 'm1' }, 'an echoed mark is played');
  t.same(send(p, { event: 'clear', stream_sid: exotel.SID }), { kind: 'none' });
  t.same(send(p, exotel.stop()), { kind: 'stop' });
  t.match(p.record(), {
    streamSid: exotel.SID,
    callSid: 'CA0123456789abcdef',
    exotel: { messages: 7, media: 1, payloadBytes: 1600, marks: 1, dtmf: 1, clears: 1 },
  });
  refuses(t, () => send(p, exotel.mark('m2')), CloseCode.POLICY_VIOLATION, 'ERR_EXOTEL_ORDER');
  t.end();
});

t.test('rates and encoding names; repeats dropped and gaps counted', (t) => {
  for (const rate of ['8000', 16000, '24000']) {
    t.equal(started(rate).outbound?.format.sampleRate, Number(rate));
  }
  for (const enc of ['raw', 'slin', 'base64', 'AUDIO/X-RAW'])
    t.equal(started('8000', enc).outbound?.format.encoding, 's16le');
  for (const [rate, enc] of [
    ['44100', 'raw'],
    ['8000', 'audio/x-mulaw'],
    ['16k', 'raw'],
  ] as const) {
    refuses(t, () => started(rate, enc), CloseCode.UNSUPPORTED_DATA, 'ERR_EXOTEL_FORMAT');
  }
  const p = started();
  send(p, exotel.media(2, 1, b64(320, 0)));
  t.same(send(p, exotel.media(3, 1, b64(320, 0))), { kind: 'none' }, 'a repeat');
  send(p, exotel.media(4, 5, b64(320, 0)));
  t.match(p.record().exotel, { media: 2, lateChunks: 1, missingChunks: 3 });
  t.end();
});

t.test('outbound: chunks of ≥ 3.2 KB in multiples of 320 bytes, mark and clear with stream_sid', (t) => {
  t.equal(exotelFrameMs(8000), 200);
  t.equal(exotelFrameMs(16000), 100);
  t.equal(exotelFrameMs(24000), 80);
  for (const rate of [8000, 16000, 24000]) {
    const bytes = (rate / 1000) * exotelFrameMs(rate) * 2;
    t.ok(bytes >= 3200 && bytes % 320 === 0, `${rate} Hz: ${bytes} bytes a chunk`);
  }
  const out = started('16000').outbound!;
  t.equal(out.frameMs, 100);
  t.equal(
    out.media(Buffer.from([1, 2, 3])),
    `{"event":"media","stream_sid":"${exotel.SID}","media":{"payload":"AQID"}}`,
  );
  t.equal(out.mark!('m4'), `{"event":"mark","stream_sid":"${exotel.SID}","mark":{"name":"m4"}}`);
  t.equal(out.clear(), `{"event":"clear","stream_sid":"${exotel.SID}"}`);
  t.end();
});

t.test('hostile input: each kind refused with its close code and error code', (t) => {
  refuses(t, () => new ExotelCall().receive(Buffer.alloc(320), true), CloseCode.UNSUPPORTED_DATA, 'ERR_EXOTEL_BINARY');
  refuses(t, () => new ExotelCall().receive(Buffer.from('[1,'), false), CloseCode.INVALID_PAYLOAD, 'ERR_EXOTEL_JSON');
  for (const bad of [null, 0, [], {}, { event: [] }]) {
    refuses(t, () => send(new ExotelCall(), bad), CloseCode.POLICY_VIOLATION, 'ERR_EXOTEL_MESSAGE');
  }
  refuses(t, () => send(started(), { event: 'playAudio' }), CloseCode.POLICY_VIOLATION, 'ERR_EXOTEL_EVENT');
  refuses(
    t,
    () => send(new ExotelCall(), exotel.media(1, 1, b64(320))),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_ORDER',
  );
  refuses(t, () => send(started(), exotel.start()), CloseCode.POLICY_VIOLATION, 'ERR_EXOTEL_ORDER');
  refuses(t, () => send(started(), exotel.connected()), CloseCode.POLICY_VIOLATION, 'ERR_EXOTEL_ORDER');
  refuses(
    t,
    () => send(new ExotelCall(), { event: 'start', start: {} }),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_MESSAGE',
  );
  refuses(
    t,
    () => send(new ExotelCall(), { event: 'start', start: 'x' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_MESSAGE',
  );
  const withCustom = { ...exotel.start(), start: { ...exotel.start().start, custom_parameters: [1] } };
  refuses(t, () => send(new ExotelCall(), withCustom), CloseCode.POLICY_VIOLATION, 'ERR_EXOTEL_MESSAGE');
  const withCall = { ...exotel.start(), start: { ...exotel.start().start, call_sid: 7 } };
  refuses(t, () => send(new ExotelCall(), withCall), CloseCode.POLICY_VIOLATION, 'ERR_EXOTEL_MESSAGE');
  refuses(
    t,
    () => send(started(), { ...exotel.media(2, 1, b64(320)), stream_sid: 'MZ2' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_STREAM',
  );
  refuses(
    t,
    () => send(started(), { ...exotel.media(2, 1, b64(320)), sequence_number: 'x' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_MESSAGE',
  );
  refuses(
    t,
    () => send(started(), { event: 'media', media: { payload: null } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_MESSAGE',
  );
  refuses(
    t,
    () => send(started(), { event: 'media', media: { payload: b64(320), chunk: -2 } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_MESSAGE',
  );
  refuses(
    t,
    () => send(started(), { event: 'media', media: { payload: b64(320), timestamp: '1e3' } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_MESSAGE',
  );
  refuses(t, () => send(started(), exotel.media(2, 1, 'A===')), CloseCode.INVALID_PAYLOAD, 'ERR_EXOTEL_BASE64');
  refuses(t, () => send(started(), exotel.media(2, 1, b64(321))), CloseCode.INVALID_PAYLOAD, 'ERR_EXOTEL_PAYLOAD');
  refuses(
    t,
    () => send(started(), { event: 'mark', mark: { name: 1 } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_EXOTEL_MESSAGE',
  );
  refuses(t, () => send(started(), { event: 'dtmf' }), CloseCode.POLICY_VIOLATION, 'ERR_EXOTEL_MESSAGE');
  t.end();
});
