/**
 * The gateway's message parsers under seeded mutation (thousands of cases a run): every message type of a
 * Twilio Media Stream and every raw-PCM declaration, with fields of the wrong type, missing, extra, prototype
 * keys, huge values and broken JSON, in random order. Each call must return a well-formed event or throw a
 * ProtocolError with a client close code (1003, 1007, 1008) and an ERR_ code whose message fits a close frame —
 * nothing else, and Object.prototype untouched.
 */
import t from 'tap';
import { CloseCode, closeReason, ProtocolError } from '../../gateway/protocols/protocol.js';
import { pcmFormat, pcmFormatFromQuery, RawPcmParser } from '../../gateway/protocols/rawPcm.js';
import { TwilioParser } from '../../gateway/protocols/twilio.js';
import { FUZZ_CASES, FUZZ_SEED, hostileValue, mutate, mutatedText, seeded } from './mutate.js';

const CLIENT_CODES = new Set<number>([
  CloseCode.UNSUPPORTED_DATA,
  CloseCode.INVALID_PAYLOAD,
  CloseCode.POLICY_VIOLATION,
]);
const SID = 'MZ00000000000000000000000000000001';
const TWILIO: Record<string, unknown>[] = [
  { event: 'connected', protocol: 'Call', version: '1.0.0' },
  {
    event: 'start',
    sequenceNumber: '1',
    streamSid: SID,
    start: {
      streamSid: SID,
      callSid: 'CA1',
      tracks: ['inbound'],
      customParameters: { secret: 's' },
      mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
    },
  },
  {
    event: 'media',
    sequenceNumber: '2',
    streamSid: SID,
    media: { track: 'inbound', chunk: '1', timestamp: '0', payload: Buffer.alloc(160, 0xff).toString('base64') },
  },
  { event: 'mark', sequenceNumber: '3', streamSid: SID, mark: { name: 'm1' } },
  { event: 'dtmf', sequenceNumber: '4', streamSid: SID, dtmf: { track: 'inbound_track', digit: '1' } },
  { event: 'stop', sequenceNumber: '5', streamSid: SID, stop: { accountSid: 'AC1', callSid: 'CA1' } },
];
const PCM_DECLS: Record<string, unknown>[] = [
  { sampleRate: 16000, channels: 1, encoding: 's16le' },
  { rate: '8000', encoding: 'mulaw' },
  { sampleRate: 48000, channels: 2, encoding: 'f32le' },
];

interface Tally {
  ok: number;
  refused: Record<string, number>;
  other: string[];
}

function attempt(tally: Tally, fn: () => unknown): void {
  try {
    fn();
    tally.ok++;
  } catch (err) {
    if (
      err instanceof ProtocolError &&
      CLIENT_CODES.has(err.closeCode) &&
      /^ERR_[A-Z_]+$/.test(err.code) &&
      closeReason(err.message).length <= 123
    ) {
      tally.refused[err.closeCode] = (tally.refused[err.closeCode] ?? 0) + 1;
    } else if (tally.other.length < 10) {
      tally.other.push(`${(err as Error)?.constructor?.name}: ${String((err as Error)?.message).slice(0, 120)}`);
    }
  }
}

t.comment(`seed ${FUZZ_SEED}, ${FUZZ_CASES} cases per parser (FUZZ_SEED, FUZZ_CASES to change)`);

t.test('TwilioParser: mutated messages of every type, in random order', (t) => {
  const r = seeded(1);
  const tally: Tally = { ok: 0, refused: {}, other: [] };
  let streams = 0;
  for (let i = 0; i < FUZZ_CASES;) {
    // one stream: a valid opening (sometimes), then a random run of mutated and valid messages
    const s = new TwilioParser();
    streams++;
    if (r() < 0.7) attempt(tally, () => s.handleObject(TWILIO[0]));
    if (r() < 0.7) attempt(tally, () => s.handleObject(TWILIO[1]));
    for (let k = 0; k < 8 && i < FUZZ_CASES; k++, i++) {
      const base = TWILIO[Math.floor(r() * TWILIO.length)]!;
      const roll = r();
      if (roll < 0.6) attempt(tally, () => s.handleMessage(mutatedText(r, base), false));
      else if (roll < 0.8) attempt(tally, () => s.handleObject(mutate(r, base)));
      else if (roll < 0.9) attempt(tally, () => s.handleMessage(Buffer.from(mutatedText(r, base)), r() < 0.5));
      else attempt(tally, () => s.handleObject(hostileValue(r)));
    }
  }
  t.same(tally.other, [], 'nothing but ProtocolErrors with client close codes');
  t.ok(tally.ok > FUZZ_CASES / 20, `some survived as valid events (${tally.ok})`);
  t.ok(Object.keys(tally.refused).length === 3, `all three close codes seen: ${JSON.stringify(tally.refused)}`);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  t.comment(`${streams} streams, ${tally.ok} events, refused ${JSON.stringify(tally.refused)}`);
  t.end();
});

t.test('raw PCM: mutated declarations, queries and the message sequence', (t) => {
  const r = seeded(2);
  const tally: Tally = { ok: 0, refused: {}, other: [] };
  const keys = ['rate', 'sampleRate', 'channels', 'encoding', 'secret', '__proto__', ''];
  const values = [
    '8000',
    '16000',
    '-1',
    '1e9',
    'abc',
    '%zz',
    '',
    '2',
    's16le',
    'mulaw',
    'opus',
    '\u0000',
    'x'.repeat(3000),
  ];
  for (let i = 0; i < FUZZ_CASES; i++) {
    const roll = r();
    if (roll < 0.3)
      attempt(tally, () => pcmFormat(mutate(r, PCM_DECLS[i % PCM_DECLS.length]) as Record<string, unknown>));
    else if (roll < 0.55) {
      const q = Array.from(
        { length: 1 + Math.floor(r() * 4) },
        () => `${keys[Math.floor(r() * keys.length)]}=${values[Math.floor(r() * values.length)]}`,
      );
      attempt(tally, () => pcmFormatFromQuery(new URLSearchParams(q.join('&'))));
    } else {
      const s = new RawPcmParser();
      attempt(tally, () => s.handleMessage(Buffer.from(mutatedText(r, PCM_DECLS[i % PCM_DECLS.length])), false));
      attempt(tally, () => s.handleMessage(Buffer.from([1, 2, 3]), r() < 0.8));
      if (r() < 0.3) attempt(tally, () => s.handleObject(hostileValue(r)));
    }
  }
  t.same(tally.other, [], 'nothing but ProtocolErrors with client close codes');
  t.ok(tally.ok > FUZZ_CASES / 20, `some declarations valid (${tally.ok})`);
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
  t.comment(`${tally.ok} accepted, refused ${JSON.stringify(tally.refused)}`);
  t.end();
});

t.test('the values that once escaped as TypeErrors (String()/Number() of a {"toString":…} object)', (t) => {
  const evil = JSON.parse('{"toString":1,"valueOf":2}') as unknown;
  t.throws(() => pcmFormat({ sampleRate: evil }), {
    closeCode: 1003,
    code: 'ERR_PCM_FORMAT',
    message: /got \{"toString":1,"valueOf":2\}/,
  });
  t.throws(() => pcmFormat({ sampleRate: 8000, channels: evil }), { closeCode: 1003, code: 'ERR_PCM_FORMAT' });
  t.throws(() => pcmFormat({ sampleRate: 8000, encoding: evil }), { closeCode: 1003, code: 'ERR_PCM_FORMAT' });
  const s = new TwilioParser();
  s.handleObject(TWILIO[1]);
  t.throws(() => s.handleObject({ event: 'mark', streamSid: evil }), { closeCode: 1008, code: 'ERR_TWILIO_STREAM' });
  const start = JSON.parse(JSON.stringify(TWILIO[1])) as { start: { mediaFormat: Record<string, unknown> } };
  start.start.mediaFormat.sampleRate = evil;
  t.throws(() => new TwilioParser().handleObject(start), { closeCode: 1003, code: 'ERR_TWILIO_FORMAT' });
  t.end();
});
