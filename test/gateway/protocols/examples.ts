/**
 * Messages shaped like the providers' documented examples (the URLs are in each gateway/protocols/<name>.ts),
 * for the protocol unit tests, the fuzz test and the echo tests; plus the refusal assertion they share.
 */
import type { Test } from 'tap';
import { closeReason, ProtocolError, type CallProtocol } from '../../../gateway/protocols/protocol.js';

export const text = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));
export const b64 = (n: number, byte = 0xff): string => Buffer.alloc(n, byte).toString('base64');

/** Expect `fn` to throw a ProtocolError with this close code and error code (and a close reason that fits). */
export function refuses(t: Test, fn: () => unknown, closeCode: number, code: string, re?: RegExp): void {
  try {
    fn();
    t.fail(`expected ${code}`);
  } catch (err) {
    if (!(err instanceof ProtocolError)) {
      t.fail(`expected a ProtocolError ${code}, got ${String(err)}`);
      return;
    }
    t.equal(err.closeCode, closeCode, `${code}: close code ${closeCode}`);
    t.equal(err.code, code);
    if (re) t.match(err.message, re);
    t.ok(Buffer.byteLength(closeReason(err.message)) <= 123, 'the reason fits a close frame');
  }
}

/** Send a parsed message as text. */
export const send = (p: CallProtocol, o: unknown) => p.receive(text(o), false);

export const telnyx = {
  STREAM: '32DE0DEA-53CB-4B21-89A4-9E1819C043BC',
  connected: () => ({ event: 'connected', version: '1.0.0' }),
  start: (encoding = 'PCMU', sampleRate: unknown = 8000, extra: Record<string, unknown> = {}) => ({
    event: 'start',
    sequence_number: '1',
    stream_id: telnyx.STREAM,
    start: {
      user_id: '3E6F995F-85F7-4705-9741-53B116D28237',
      call_control_id: 'v2:T02llQxIyaRkhfRKxgAP8nY511EhFLizdvdUKJiSw8d6A9BborherQ',
      call_session_id: 'ff55a038-6f5d-11ef-9692-02420aeffb1f',
      from: '+13122010094',
      to: '+13122123456',
      tags: ['TAG1', 'TAG2'],
      client_state: 'aGF2ZSBhIG5pY2UgZGF5ID1d',
      custom_parameters: { customer_id: 'customer_123' },
      media_format: { encoding, sample_rate: sampleRate, channels: 1 },
      ...extra,
    },
  }),
  media: (seq: number, chunk: number, timestampMs: number, payload: string, track = 'inbound') => ({
    event: 'media',
    sequence_number: String(seq),
    stream_id: telnyx.STREAM,
    media: { track, chunk: String(chunk), timestamp: String(timestampMs), payload },
  }),
  mark: (name: string) => ({ event: 'mark', sequence_number: '90', stream_id: telnyx.STREAM, mark: { name } }),
  dtmf: () => ({
    event: 'dtmf',
    sequence_number: '91',
    stream_id: telnyx.STREAM,
    occurred_at: '2024-09-10T14:00:00.000Z',
    dtmf: { digit: '1' },
  }),
  error: () => ({
    event: 'error',
    sequence_number: '92',
    stream_id: telnyx.STREAM,
    payload: { code: 100002, title: 'unknown_error', detail: 'An unknown error occurred' },
  }),
  stop: () => ({
    event: 'stop',
    sequence_number: '93',
    stream_id: telnyx.STREAM,
    stop: { user_id: '3E6F995F-85F7-4705-9741-53B116D28237', call_control_id: 'v2:T02llQx' },
  }),
};

export const vonage = {
  connected: (rate = 16000, headers: Record<string, unknown> = { caller: '447700900000', room: 'r1' }) => ({
    event: 'websocket:connected',
    'content-type': `audio/l16;rate=${rate}`,
    ...headers,
  }),
  dtmf: () => ({ event: 'websocket:dtmf', digit: '5', duration: 260 }),
  notify: (name: string) => ({ event: 'websocket:notify', payload: { name } }),
  cleared: () => ({ event: 'websocket:cleared' }),
};

export const plivo = {
  STREAM: '87654321-4321-4321-4321-cba987654321',
  start: (encoding = 'audio/x-mulaw', sampleRate: unknown = 8000) => ({
    event: 'start',
    sequenceNumber: 1,
    start: {
      callId: '12345678-1234-1234-1234-123456789abc',
      streamId: plivo.STREAM,
      accountId: 'MAXXXXXXXXXXXXXXXXXX',
      tracks: ['inbound'],
      mediaFormat: { encoding, sampleRate },
    },
    extra_headers: 'userId=12345;sessionId=abc-xyz',
  }),
  media: (seq: number, chunk: number, payload: string, track = 'inbound') => ({
    event: 'media',
    sequenceNumber: seq,
    streamId: plivo.STREAM,
    media: { track, timestamp: String(1705312200000 + chunk * 20), chunk, payload },
    extra_headers: 'userId=12345;sessionId=abc-xyz',
  }),
  dtmf: () => ({
    event: 'dtmf',
    sequenceNumber: 90,
    streamId: plivo.STREAM,
    dtmf: { track: 'inbound', digit: '5', timestamp: '1705312201000' },
  }),
  played: (name: string) => ({ event: 'playedStream', sequenceNumber: 91, streamId: plivo.STREAM, name }),
  cleared: () => ({ event: 'clearedAudio', sequenceNumber: 92, streamId: plivo.STREAM }),
  stop: () => ({ event: 'stop', sequenceNumber: 93, streamId: plivo.STREAM }),
};

export const exotel = {
  SID: 'MZ0123456789abcdef0123456789abcdef',
  connected: () => ({ event: 'connected' }),
  start: (sampleRate: unknown = '8000', encoding = 'audio/x-raw') => ({
    event: 'start',
    sequence_number: '1',
    stream_sid: exotel.SID,
    start: {
      stream_sid: exotel.SID,
      call_sid: 'CA0123456789abcdef',
      account_sid: 'AC0123456789abcdef',
      from: '+919876543210',
      to: '+918047491899',
      custom_parameters: { key1: 'value1' },
      media_format: { encoding, sample_rate: sampleRate, bit_rate: '16' },
    },
  }),
  media: (seq: number, chunk: number, payload: string) => ({
    event: 'media',
    sequence_number: String(seq),
    stream_sid: exotel.SID,
    media: { chunk: String(chunk), timestamp: String(chunk * 100), payload },
  }),
  dtmf: () => ({
    event: 'dtmf',
    sequence_number: '90',
    stream_sid: exotel.SID,
    dtmf: { digit: '5', duration: '100' },
  }),
  mark: (name: string) => ({ event: 'mark', sequence_number: '91', stream_sid: exotel.SID, mark: { name } }),
  stop: () => ({
    event: 'stop',
    sequence_number: '92',
    stream_sid: exotel.SID,
    stop: { call_sid: 'CA0123456789abcdef', account_sid: 'AC0123456789abcdef', reason: 'callended' },
  }),
};
