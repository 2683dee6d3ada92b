import t from 'tap';
import { TelnyxCall } from '../../../gateway/protocols/telnyx.js';
import { CloseCode } from '../../../gateway/protocols/protocol.js';
import { b64, refuses, send, telnyx, text } from './examples.js';

function started(encoding = 'PCMU', rate: unknown = 8000): TelnyxCall {
  const p = new TelnyxCall();
  send(p, telnyx.connected());
  send(p, telnyx.start(encoding, rate));
  return p;
}

t.test('the documented stream: connected, start, media, mark, dtmf, error, stop', (t) => {
  const p = new TelnyxCall();
  t.equal(p.outbound, undefined, 'no way back before start');
  t.same(send(p, telnyx.connected()), { kind: 'none' });
  t.same(send(p, telnyx.start()), {
    kind: 'start',
    format: { encoding: 'mulaw', sampleRate: 8000, channels: 1 },
    params: { customer_id: 'customer_123' },
  });
  const payload = Buffer.from(Array.from({ length: 160 }, (_, i) => i));
  const ev = send(p, telnyx.media(2, 1, 0, payload.toString('base64')));
  if (ev.kind !== 'audio') throw new Error('not audio');
  t.same([...ev.bytes], [...payload], 'payload decoded');
  t.equal(ev.seq, 1);
  t.equal(ev.timestamp, 0);
  t.same(send(p, telnyx.mark('m1')), { kind: 'played', name: 'm1' }, 'an echoed mark is played');
  t.same(send(p, telnyx.dtmf()), { kind: 'none' });
  t.same(send(p, telnyx.error()), { kind: 'none' }, 'error frames are not fatal');
  t.same(send(p, telnyx.stop()), { kind: 'stop' });
  const rec = p.record();
  t.equal(rec.streamSid, telnyx.STREAM);
  t.match(rec.callSid, /^v2:/);
  t.match(rec.telnyx, { messages: 7, media: 1, payloadBytes: 160, marks: 1, dtmf: 1, errors: 1 });
  t.match((rec.telnyx as { lastError: string }).lastError, /100002 unknown_error/);
  refuses(t, () => send(p, telnyx.media(9, 2, 20, b64(160))), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_ORDER');
  t.end();
});

t.test('formats: PCMU, PCMA, L16 (big-endian, RTP network order) at its rates', (t) => {
  t.same(started('PCMA').outbound?.format, { encoding: 'alaw', sampleRate: 8000, channels: 1 });
  for (const rate of [8000, 16000, 24000, 48000]) {
    const p = started('L16', String(rate));
    t.same(p.outbound?.format, { encoding: 's16be', sampleRate: rate, channels: 1 }, `L16 ${rate}`);
    t.equal(p.outbound?.frameMs, 20);
  }
  for (const [enc, rate] of [
    ['PCMU', 16000],
    ['L16', 44100],
    ['G722', 16000],
    ['OPUS', 48000],
    ['pcmu', 8000],
    ['L16', '16k'],
  ] as const) {
    refuses(t, () => started(enc, rate), CloseCode.UNSUPPORTED_DATA, 'ERR_TELNYX_FORMAT');
  }
  refuses(
    t,
    () =>
      send(
        new TelnyxCall(),
        telnyx.start('PCMU', 8000, { media_format: { encoding: 'PCMU', sample_rate: 8000, channels: 2 } }),
      ),
    CloseCode.UNSUPPORTED_DATA,
    'ERR_TELNYX_FORMAT',
  );
  refuses(
    t,
    () => send(new TelnyxCall(), telnyx.start('PCMU', 8000, { media_format: 'PCMU' })),
    CloseCode.UNSUPPORTED_DATA,
    'ERR_TELNYX_FORMAT',
  );
  t.end();
});

t.test('out-of-order frames carry seq (chunk, 16-bit) and timestamp (ms → samples) for the jitter buffer', (t) => {
  const p = started('L16', 16000);
  const order = [1, 3, 2, 5, 4];
  const got = order.map((chunk) => {
    const ev = send(p, telnyx.media(chunk + 1, chunk, (chunk - 1) * 20, b64(640, 0)));
    if (ev.kind !== 'audio') throw new Error('not audio');
    return [ev.seq, ev.timestamp];
  });
  t.same(
    got,
    order.map((c) => [c, (c - 1) * 320]),
    '20 ms = 320 samples at 16 kHz, in arrival order',
  );
  // wrap-around: chunk 65537 is seq 1; a timestamp beyond 2^32 samples wraps
  const wrapped = send(p, telnyx.media(10, 65537, 2 ** 32 / 16 + 20, b64(640, 0)));
  t.match(wrapped, { kind: 'audio', seq: 1, timestamp: 320 });
  t.end();
});

t.test('numbers as numbers, no stream_id, no chunk/timestamp (plain audio) and the other track', (t) => {
  const p = new TelnyxCall();
  send(p, { event: 'start', stream_id: 'S', start: { media_format: { encoding: 'PCMU', sample_rate: '8000' } } });
  t.same(send(p, { event: 'media', media: { payload: b64(160) } }).kind, 'audio');
  const ev = send(p, { event: 'media', sequence_number: 3, media: { payload: b64(160), chunk: 7, timestamp: 5 } });
  t.notOk('seq' in ev, 'the stream started without numbers: later numbers are ignored');
  t.same(send(p, { event: 'media', media: { track: 'outbound', payload: b64(160) } }), { kind: 'none' });
  t.equal((p.record().telnyx as { otherTrack: number }).otherTrack, 1);
  const q = started();
  send(q, telnyx.media(2, 1, 0, b64(160)));
  refuses(
    t,
    () => send(q, { event: 'media', media: { payload: b64(160) } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_MESSAGE',
    /chunk\/timestamp/,
  );
  t.end();
});

t.test('outbound: media, clear and mark in the documented JSON', (t) => {
  const out = started('PCMA').outbound!;
  t.equal(out.media(Buffer.from([1, 2, 3])), '{"event":"media","media":{"payload":"AQID"}}');
  t.equal(out.clear(), '{"event":"clear"}');
  t.equal(out.mark!('m7'), '{"event":"mark","mark":{"name":"m7"}}');
  t.end();
});

t.test('hostile input: each kind refused with its close code and error code', (t) => {
  const p = () => started('L16', 8000);
  refuses(
    t,
    () => new TelnyxCall().receive(Buffer.from([1, 2]), true),
    CloseCode.UNSUPPORTED_DATA,
    'ERR_TELNYX_BINARY',
  );
  refuses(
    t,
    () => new TelnyxCall().receive(Buffer.from('{"event":'), false),
    CloseCode.INVALID_PAYLOAD,
    'ERR_TELNYX_JSON',
  );
  for (const bad of [null, 5, 'x', [], {}, { event: 7 }, { event: { toString: 1 } }]) {
    refuses(t, () => send(new TelnyxCall(), bad), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_MESSAGE');
  }
  refuses(t, () => send(new TelnyxCall(), { event: 'hello' }), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_EVENT');
  refuses(
    t,
    () => send(new TelnyxCall(), telnyx.media(1, 1, 0, b64(160))),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_ORDER',
  );
  refuses(t, () => send(p(), telnyx.start()), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_ORDER');
  refuses(t, () => send(p(), telnyx.connected()), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_ORDER');
  refuses(
    t,
    () => send(new TelnyxCall(), { event: 'start', start: { media_format: {} } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_MESSAGE',
    /stream_id/,
  );
  refuses(
    t,
    () => send(new TelnyxCall(), { event: 'start', stream_id: 'S' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_MESSAGE',
  );
  refuses(
    t,
    () => send(new TelnyxCall(), telnyx.start('PCMU', 8000, { custom_parameters: 'x' })),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_MESSAGE',
  );
  refuses(
    t,
    () => send(new TelnyxCall(), telnyx.start('PCMU', 8000, { call_control_id: { valueOf: 1 } })),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_MESSAGE',
  );
  refuses(
    t,
    () => send(p(), { ...telnyx.media(2, 1, 0, b64(160)), stream_id: 'other' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_STREAM',
  );
  refuses(
    t,
    () => send(p(), { event: 'media', media: { payload: 5 } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_MESSAGE',
  );
  refuses(t, () => send(p(), { event: 'media', media: 'x' }), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_MESSAGE');
  refuses(
    t,
    () => send(p(), { event: 'media', media: { payload: b64(160), track: 1 } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TELNYX_MESSAGE',
  );
  for (const n of ['-1', '1.5', 'x', { toString: 1 }, 1e300, -3]) {
    refuses(
      t,
      () => send(p(), { event: 'media', media: { payload: b64(160), chunk: n } }),
      CloseCode.POLICY_VIOLATION,
      'ERR_TELNYX_MESSAGE',
    );
    refuses(
      t,
      () => send(p(), { event: 'media', media: { payload: b64(160), timestamp: n } }),
      CloseCode.POLICY_VIOLATION,
      'ERR_TELNYX_MESSAGE',
    );
    refuses(
      t,
      () => send(p(), { event: 'dtmf', sequence_number: n, dtmf: { digit: '1' } }),
      CloseCode.POLICY_VIOLATION,
      'ERR_TELNYX_MESSAGE',
    );
  }
  for (const payload of ['', '%%%%', 'AAA', 'AA=A']) {
    refuses(t, () => send(p(), telnyx.media(2, 1, 0, payload)), CloseCode.INVALID_PAYLOAD, 'ERR_TELNYX_BASE64');
  }
  refuses(
    t,
    () => send(p(), telnyx.media(2, 1, 0, b64(159))),
    CloseCode.INVALID_PAYLOAD,
    'ERR_TELNYX_PAYLOAD',
    /159 bytes/,
  );
  refuses(t, () => send(p(), { event: 'mark', mark: {} }), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_MESSAGE');
  refuses(t, () => send(p(), { event: 'dtmf', dtmf: { digit: 1 } }), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_MESSAGE');
  const stopped = p();
  send(stopped, telnyx.stop());
  refuses(t, () => send(stopped, telnyx.mark('m')), CloseCode.POLICY_VIOLATION, 'ERR_TELNYX_ORDER');
  t.equal(Object.prototype.hasOwnProperty.call({}, 'polluted'), false);
  t.ok(text({}).length > 0);
  t.end();
});
