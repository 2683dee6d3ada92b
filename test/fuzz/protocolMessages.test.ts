/**
 * The telephony adapters (Telnyx, Vonage, Plivo, Exotel) under seeded mutation: each protocol's documented
 * messages with fields of the wrong type, missing, extra, prototype keys, huge values and broken JSON, binary
 * where text is expected and text where binary is, in random order on fresh calls. Every outcome must be a
 * well-formed CallEvent (audio of whole samples, seq 16-bit, timestamp 32-bit) or a ProtocolError with a client
 * close code and an ERR_<PROVIDER>_ code — nothing else, and Object.prototype untouched.
 */
import t from 'tap';
import {
  CloseCode,
  closeReason,
  ProtocolError,
  type CallEvent,
  type CallProtocol,
} from '../../gateway/protocols/protocol.js';
import { TelnyxCall } from '../../gateway/protocols/telnyx.js';
import { VonageCall } from '../../gateway/protocols/vonage.js';
import { PlivoCall } from '../../gateway/protocols/plivo.js';
import { ExotelCall } from '../../gateway/protocols/exotel.js';
import { bytesPerSample, isSampleEncoding } from '../../lib/formats.js';
import { FUZZ_SEED, hostileValue, mutatedText, seeded, type Rand } from './mutate.js';
import { b64, exotel, plivo, telnyx, vonage } from '../gateway/protocols/examples.js';

const CASES = Number(process.env.FUZZ_PROTOCOL_CASES ?? 2000);
const CLIENT_CODES = new Set<number>([
  CloseCode.UNSUPPORTED_DATA,
  CloseCode.INVALID_PAYLOAD,
  CloseCode.POLICY_VIOLATION,
]);

interface Subject {
  name: string;
  prefix: string;
  create(): CallProtocol;
  start: unknown;
  /** Documented messages after the start. */
  messages: unknown[];
  /** Binary is this protocol's audio (Vonage). */
  binaryAudio?: boolean;
}

const SUBJECTS: Subject[] = [
  {
    name: 'telnyx',
    prefix: 'ERR_TELNYX_',
    create: () => new TelnyxCall(),
    start: telnyx.start('L16', 16000),
    messages: [
      telnyx.connected(),
      telnyx.start('PCMA', 8000),
      telnyx.media(2, 1, 0, b64(640, 0)),
      telnyx.media(3, 3, 40, b64(640, 1)),
      telnyx.media(4, 65535, 4294967, b64(640, 2)),
      telnyx.mark('m1'),
      telnyx.dtmf(),
      telnyx.error(),
      telnyx.stop(),
    ],
  },
  {
    name: 'vonage',
    prefix: 'ERR_VONAGE_',
    create: () => new VonageCall(),
    start: vonage.connected(16000),
    messages: [vonage.connected(8000), vonage.dtmf(), vonage.notify('m1'), vonage.cleared()],
    binaryAudio: true,
  },
  {
    name: 'plivo',
    prefix: 'ERR_PLIVO_',
    create: () => new PlivoCall(),
    start: plivo.start('audio/x-l16', 16000),
    messages: [
      plivo.start(),
      plivo.media(2, 1, b64(640, 0)),
      plivo.media(3, 2, b64(640, 0), 'outbound'),
      plivo.dtmf(),
      plivo.played('m1'),
      plivo.cleared(),
      plivo.stop(),
    ],
  },
  {
    name: 'exotel',
    prefix: 'ERR_EXOTEL_',
    create: () => new ExotelCall(),
    start: exotel.start('8000'),
    messages: [
      exotel.connected(),
      exotel.start('24000'),
      exotel.media(2, 1, b64(1600, 0)),
      exotel.dtmf(),
      exotel.mark('m1'),
      { event: 'clear', stream_sid: exotel.SID },
      exotel.stop(),
    ],
  },
];

interface Tally {
  events: Record<string, number>;
  refused: Record<string, number>;
  other: string[];
}

/** What is wrong with an event, or '' when it is well-formed for this call. */
function malformed(ev: CallEvent, call: CallProtocol): string {
  switch (ev.kind) {
    case 'none':
    case 'stop':
      return '';
    case 'played':
      return typeof ev.name === 'string' ? '' : 'played without a name';
    case 'start': {
      const f = ev.format;
      const ok =
        isSampleEncoding(f.encoding) &&
        Number.isInteger(f.sampleRate) &&
        f.sampleRate >= 8000 &&
        f.channels === 1 &&
        (ev.params === undefined || (typeof ev.params === 'object' && ev.params !== null));
      return ok && call.outbound !== undefined ? '' : `bad start ${JSON.stringify(ev).slice(0, 100)}`;
    }
    case 'audio': {
      const f = call.outbound?.format;
      if (!f) return 'audio before start';
      if (!Buffer.isBuffer(ev.bytes) || ev.bytes.length % bytesPerSample(f.encoding) !== 0) return 'partial sample';
      if (ev.seq !== undefined && !(Number.isInteger(ev.seq) && ev.seq >= 0 && ev.seq < 65536)) return 'bad seq';
      if (
        ev.timestamp !== undefined &&
        !(Number.isInteger(ev.timestamp) && ev.timestamp >= 0 && ev.timestamp < 2 ** 32)
      )
        return 'bad timestamp';
      return '';
    }
    default:
      return `unknown kind ${(ev as { kind: unknown }).kind}`;
  }
}

function attempt(tally: Tally, s: Subject, call: CallProtocol, data: Buffer, isBinary: boolean): void {
  try {
    const ev = call.receive(data, isBinary);
    const bad = malformed(ev, call);
    if (bad && tally.other.length < 10) tally.other.push(bad);
    tally.events[ev.kind] = (tally.events[ev.kind] ?? 0) + 1;
  } catch (err) {
    if (
      err instanceof ProtocolError &&
      CLIENT_CODES.has(err.closeCode) &&
      err.code.startsWith(s.prefix) &&
      Buffer.byteLength(closeReason(err.message)) <= 123
    ) {
      tally.refused[err.code] = (tally.refused[err.code] ?? 0) + 1;
    } else if (tally.other.length < 10) {
      tally.other.push(`${(err as Error)?.constructor?.name}: ${String((err as Error)?.message).slice(0, 120)}`);
    }
  }
}

function oneMessage(r: Rand, s: Subject): { data: Buffer; isBinary: boolean } {
  const roll = r();
  const pick = s.messages[Math.floor(r() * s.messages.length)]!;
  if (roll < 0.6) return { data: Buffer.from(mutatedText(r, r() < 0.15 ? s.start : pick)), isBinary: false };
  if (roll < 0.75) return { data: Buffer.from(JSON.stringify(pick)), isBinary: false };
  if (roll < 0.9) {
    // binary: audio of any length (odd ones included), or a JSON message sent as binary
    const data =
      r() < 0.7 ? Buffer.alloc(Math.floor(r() * 1000), Math.floor(r() * 256)) : Buffer.from(JSON.stringify(pick));
    return { data, isBinary: true };
  }
  return { data: Buffer.from(JSON.stringify(hostileValue(r)) ?? 'null'), isBinary: false };
}

t.comment(`seed ${FUZZ_SEED}, ${CASES} messages per protocol (FUZZ_SEED, FUZZ_PROTOCOL_CASES to change)`);

SUBJECTS.forEach((s, i) => {
  t.test(`${s.name}: mutated documented messages, every outcome an event or a ProtocolError`, (t) => {
    const r = seeded(100 + i);
    const tally: Tally = { events: {}, refused: {}, other: [] };
    let call = s.create();
    for (let n = 0; n < CASES; n++) {
      // a fresh call every few messages, most of them properly started
      if (n % 8 === 0) {
        call = s.create();
        if (r() < 0.8) call.receive(Buffer.from(JSON.stringify(s.start)), false);
      }
      const { data, isBinary } = oneMessage(r, s);
      attempt(tally, s, call, data, isBinary);
    }
    t.comment(`events ${JSON.stringify(tally.events)}`);
    t.comment(`refused ${JSON.stringify(tally.refused)}`);
    t.same(tally.other, [], 'no other exception and no malformed event');
    t.ok((tally.events.audio ?? 0) > 0, 'some audio got through');
    t.ok(Object.keys(tally.refused).length >= 4, 'refused in several ways');
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype untouched');
    t.end();
  });
});
