import t, { type Test } from 'tap';
import { TwilioParser, parseJson } from '../../gateway/protocols/twilio.js';
import { CloseCode, ProtocolError, closeReason } from '../../gateway/protocols/protocol.js';

const SID = 'MZ0123456789abcdef0123456789abcdef';
const start = (over: Record<string, unknown> = {}) => ({
  event: 'start',
  sequenceNumber: '1',
  streamSid: SID,
  start: {
    streamSid: SID,
    accountSid: 'AC1',
    callSid: 'CA1',
    tracks: ['inbound'],
    customParameters: { who: 'test' },
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    ...over,
  },
});
const media = (seq: number, chunk: number, payload: string, extra: Record<string, unknown> = {}) => ({
  event: 'media',
  sequenceNumber: String(seq),
  streamSid: SID,
  media: { track: 'inbound', chunk: String(chunk), timestamp: String((chunk - 1) * 20), payload, ...extra },
});
const b64 = (n: number, byte = 0xff) => Buffer.alloc(n, byte).toString('base64');
const text = (o: unknown) => Buffer.from(JSON.stringify(o));

function started(): TwilioParser {
  const s = new TwilioParser();
  s.handleMessage(text({ event: 'connected', protocol: 'Call', version: '1.0.0' }), false);
  s.handleMessage(text(start()), false);
  return s;
}

function refuses(t: Test, fn: () => unknown, closeCode: number, code: string, re?: RegExp) {
  try {
    fn();
    t.fail(`expected ${code}`);
  } catch (err) {
    t.type(err, ProtocolError);
    const e = err as ProtocolError;
    t.equal(e.closeCode, closeCode, `${code}: close code`);
    t.equal(e.code, code);
    if (re) t.match(e.message, re);
    t.ok(Buffer.byteLength(closeReason(e.message)) <= 123);
  }
}

t.test('a well-formed stream: connected, start, media, mark, dtmf, stop', (t) => {
  const s = new TwilioParser();
  t.equal(s.state, 'new');
  t.same(s.handleMessage(text({ event: 'connected', protocol: 'Call', version: '1.0.0' }), false), {
    event: 'connected',
  });
  const st = s.handleMessage(JSON.stringify(start()), false);
  t.equal(st.event, 'start');
  t.same(s.start, {
    streamSid: SID,
    callSid: 'CA1',
    accountSid: 'AC1',
    tracks: ['inbound'],
    customParameters: { who: 'test' },
  });
  t.equal(s.state, 'started');
  const payload = Buffer.from(Array.from({ length: 160 }, (_, i) => i));
  const m = s.handleMessage(text(media(2, 1, payload.toString('base64'))), false);
  if (m.event !== 'media') throw new Error('not media');
  t.same([...m.payload], [...payload], 'payload decoded');
  t.equal(m.chunk, 1);
  t.equal(m.timestamp, 0);
  t.equal(m.track, 'inbound');
  t.equal(m.late, false);
  t.same(s.handleMessage(text({ event: 'mark', sequenceNumber: '3', streamSid: SID, mark: { name: 'x' } }), false), {
    event: 'mark',
    name: 'x',
  });
  t.same(s.handleMessage(text({ event: 'dtmf', sequenceNumber: '4', streamSid: SID, dtmf: { digit: '7' } }), false), {
    event: 'dtmf',
    digit: '7',
  });
  t.same(s.handleMessage(text({ event: 'stop', sequenceNumber: '5', streamSid: SID, stop: {} }), false), {
    event: 'stop',
  });
  t.equal(s.state, 'stopped');
  t.same(s.stats, {
    messages: 6,
    media: 1,
    payloadBytes: 160,
    marks: 1,
    dtmf: 1,
    missingChunks: 0,
    lateChunks: 0,
    sequenceGaps: 0,
  });
  t.end();
});

t.test('optional fields: no connected, numbers as numbers, no chunk/timestamp/track, odd mark/dtmf', (t) => {
  const s = new TwilioParser();
  s.handleObject({
    event: 'start',
    start: { streamSid: 'S', mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: '8000', channels: '1' } },
  });
  t.same(s.start, {
    streamSid: 'S',
    callSid: undefined,
    accountSid: undefined,
    tracks: ['inbound'],
    customParameters: {},
  });
  const m1 = s.handleObject({ event: 'media', sequenceNumber: 2, media: { payload: b64(160) } });
  const m2 = s.handleObject({ event: 'media', media: { payload: b64(3), chunk: 7, timestamp: 120 } });
  if (m1.event !== 'media' || m2.event !== 'media') throw new Error('not media');
  t.equal(m1.chunk, 1);
  t.equal(m1.track, 'inbound');
  t.equal(m2.chunk, 7);
  t.equal(m2.timestamp, 120);
  t.equal(m2.payload.length, 3, 'padding handled');
  t.equal(s.stats.missingChunks, 5, 'chunks 2..6 missing');
  t.same(s.handleObject({ event: 'mark', mark: 'nope' }), { event: 'mark', name: '' });
  t.same(s.handleObject({ event: 'dtmf' }), { event: 'dtmf', digit: '' });
  t.end();
});

t.test('the start from the top-level streamSid; customParameters/tracks of the wrong type', (t) => {
  const s = new TwilioParser();
  s.handleObject({
    event: 'start',
    streamSid: 'TOP',
    start: {
      tracks: 'inbound',
      customParameters: 'x',
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  });
  t.equal(s.start?.streamSid, 'TOP');
  t.same(s.start?.tracks, ['inbound']);
  t.same(s.start?.customParameters, {});
  t.end();
});

t.test('late, repeated and gapped chunks and sequence numbers are counted, not fatal', (t) => {
  const s = started();
  const p = b64(160);
  s.handleMessage(text(media(2, 1, p)), false);
  s.handleMessage(text(media(3, 2, p)), false);
  const again = s.handleMessage(text(media(4, 2, p)), false);
  t.equal(again.event === 'media' && again.late, true, 'repeat is late');
  s.handleMessage(text(media(9, 5, p)), false);
  const back = s.handleMessage(text(media(10, 4, p)), false);
  t.equal(back.event === 'media' && back.late, true, 'reordered is late');
  t.equal(s.stats.lateChunks, 2);
  t.equal(s.stats.missingChunks, 2, 'chunks 3 and 4 were missing when 5 came');
  t.equal(s.stats.sequenceGaps, 1, '4 → 9');
  t.equal(s.stats.media, 5);
  t.end();
});

t.test('each bad message class gets its close code and reason', (t) => {
  refuses(
    t,
    () => new TwilioParser().handleMessage(Buffer.from([1, 2, 3]), true),
    CloseCode.UNSUPPORTED_DATA,
    'ERR_TWILIO_BINARY',
    /binary/,
  );
  refuses(
    t,
    () => new TwilioParser().handleMessage('{"event":', false),
    CloseCode.INVALID_PAYLOAD,
    'ERR_TWILIO_JSON',
    /malformed JSON/,
  );
  refuses(t, () => new TwilioParser().handleMessage('[1,2]', false), CloseCode.POLICY_VIOLATION, 'ERR_TWILIO_MESSAGE');
  refuses(t, () => new TwilioParser().handleMessage('null', false), CloseCode.POLICY_VIOLATION, 'ERR_TWILIO_MESSAGE');
  refuses(
    t,
    () => new TwilioParser().handleMessage('{"event":3}', false),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_MESSAGE',
  );
  refuses(
    t,
    () => new TwilioParser().handleObject({ event: 'hello' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_EVENT',
    /unknown event "hello"/,
  );
  refuses(t, () => started().handleObject({ event: 'x'.repeat(500) }), CloseCode.POLICY_VIOLATION, 'ERR_TWILIO_EVENT');
  // order
  refuses(
    t,
    () => new TwilioParser().handleMessage(text(media(1, 1, b64(160))), false),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_ORDER',
    /"media" before "start"/,
  );
  refuses(t, () => new TwilioParser().handleObject({ event: 'stop' }), CloseCode.POLICY_VIOLATION, 'ERR_TWILIO_ORDER');
  refuses(t, () => new TwilioParser().handleObject({ event: 'mark' }), CloseCode.POLICY_VIOLATION, 'ERR_TWILIO_ORDER');
  refuses(t, () => new TwilioParser().handleObject({ event: 'dtmf' }), CloseCode.POLICY_VIOLATION, 'ERR_TWILIO_ORDER');
  refuses(
    t,
    () => started().handleMessage(text(start()), false),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_ORDER',
    /second "start"/,
  );
  refuses(t, () => started().handleObject({ event: 'connected' }), CloseCode.POLICY_VIOLATION, 'ERR_TWILIO_ORDER');
  const stopped = started();
  stopped.handleObject({ event: 'stop' });
  refuses(
    t,
    () => stopped.handleMessage(text(media(9, 1, b64(160))), false),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_ORDER',
    /after "stop"/,
  );
  // start content
  refuses(
    t,
    () => new TwilioParser().handleObject({ event: 'start' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_MESSAGE',
  );
  refuses(
    t,
    () => new TwilioParser().handleObject({ event: 'start', start: { mediaFormat: {} } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_MESSAGE',
    /streamSid/,
  );
  for (const mediaFormat of [
    undefined,
    { encoding: 'audio/x-alaw', sampleRate: 8000, channels: 1 },
    { encoding: 'audio/x-mulaw', sampleRate: 16000, channels: 1 },
    { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 2 },
  ]) {
    refuses(
      t,
      () => new TwilioParser().handleObject(start({ mediaFormat })),
      CloseCode.UNSUPPORTED_DATA,
      'ERR_TWILIO_FORMAT',
      /audio\/x-mulaw 8000/,
    );
  }
  // media content
  refuses(
    t,
    () => started().handleObject({ event: 'media', streamSid: 'other' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_STREAM',
  );
  refuses(
    t,
    () => started().handleObject({ event: 'media' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_MESSAGE',
    /payload/,
  );
  refuses(
    t,
    () => started().handleObject({ event: 'media', media: { payload: 42 } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_MESSAGE',
  );
  for (const payload of ['', 'abc', '!!!!', 'ab=c', 'YWJj\n', 'YW Jj', b64(160) + '=']) {
    refuses(
      t,
      () => started().handleObject({ event: 'media', media: { payload } }),
      CloseCode.INVALID_PAYLOAD,
      'ERR_TWILIO_BASE64',
    );
  }
  for (const chunk of ['-1', '1.5', 'x', -3, 1.5, {}]) {
    refuses(
      t,
      () => started().handleObject({ event: 'media', media: { payload: b64(4), chunk } }),
      CloseCode.POLICY_VIOLATION,
      'ERR_TWILIO_MESSAGE',
      /media\.chunk/,
    );
  }
  refuses(
    t,
    () => started().handleObject({ event: 'media', media: { payload: b64(4), timestamp: 'soon' } }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_MESSAGE',
    /media\.timestamp/,
  );
  refuses(
    t,
    () => new TwilioParser().handleObject({ event: 'connected', sequenceNumber: 'one' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_TWILIO_MESSAGE',
    /sequenceNumber/,
  );
  t.end();
});

t.test('parseJson and closeReason', (t) => {
  t.same(parseJson('{"a":1}', 'ERR_TWILIO_JSON'), { a: 1 });
  t.throws(() => parseJson('nope', 'ERR_TWILIO_JSON'), { code: 'ERR_TWILIO_JSON', closeCode: 1007 });
  t.equal(closeReason('short'), 'short');
  const long = closeReason('é'.repeat(200));
  t.ok(Buffer.byteLength(long) <= 123, `${Buffer.byteLength(long)} bytes`);
  t.ok(long.endsWith('...'));
  t.notOk(long.includes('\uFFFD'), 'cut on a character boundary');
  t.end();
});
