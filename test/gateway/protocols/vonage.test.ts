import t from 'tap';
import { VonageCall } from '../../../gateway/protocols/vonage.js';
import { CloseCode } from '../../../gateway/protocols/protocol.js';
import { refuses, send, vonage } from './examples.js';

function started(rate = 16000): VonageCall {
  const p = new VonageCall();
  send(p, vonage.connected(rate));
  return p;
}

t.test('the documented stream: websocket:connected, binary audio, dtmf, notify, cleared', (t) => {
  const p = new VonageCall();
  t.equal(p.outbound, undefined);
  t.same(send(p, vonage.connected()), {
    kind: 'start',
    format: { encoding: 's16le', sampleRate: 16000, channels: 1 },
    params: { caller: '447700900000', room: 'r1' },
  });
  const audio = Buffer.alloc(640, 7);
  t.same(p.receive(audio, true), { kind: 'audio', bytes: audio }, '20 ms at 16 kHz');
  t.same(p.receive(Buffer.alloc(320), true).kind, 'audio', 'another size of whole samples is accepted');
  t.same(p.receive(Buffer.alloc(0), true), { kind: 'none' });
  t.same(send(p, vonage.dtmf()), { kind: 'none' });
  t.same(send(p, vonage.notify('m1')), { kind: 'played', name: 'm1' }, 'our notify, echoed, is played');
  t.same(send(p, { event: 'websocket:notify', payload: { other: 'app' } }), { kind: 'none' });
  t.same(send(p, vonage.cleared()), { kind: 'none' });
  t.same(send(p, { event: 'websocket:media:update', x: 1 }), { kind: 'none' }, 'unknown events are counted');
  t.same(p.record(), {
    vonage: {
      messages: 9,
      audioMessages: 2,
      audioBytes: 960,
      oddSizes: 1,
      dtmf: 1,
      notifies: 2,
      cleared: 1,
      unknownEvents: 1,
    },
  });
  t.end();
});

t.test('rates 8000, 16000, 24000; headers are the params, safely', (t) => {
  for (const rate of [8000, 16000, 24000]) {
    t.same(started(rate).outbound?.format, { encoding: 's16le', sampleRate: rate, channels: 1 });
  }
  const p = new VonageCall();
  const ev = p.receive(
    Buffer.from('{"event":"websocket:connected","content-type":"audio/l16;rate=8000","__proto__":{"x":1},"a":[1]}'),
    false,
  );
  if (ev.kind !== 'start') throw new Error('not start');
  t.same(Object.keys(ev.params!), ['__proto__', 'a']);
  t.equal(Object.getPrototypeOf(ev.params), Object.prototype, 'a "__proto__" header stays a key');
  t.equal(({} as { x?: unknown }).x, undefined);
  t.end();
});

t.test('outbound: binary 20 ms L16, clear and notify', (t) => {
  const out = started(16000).outbound!;
  t.equal(out.frameMs, 20);
  const bytes = Buffer.alloc(640, 3);
  t.equal(out.media(bytes), bytes, 'audio goes back as the binary message itself');
  t.equal(out.clear(), '{"action":"clear"}');
  t.equal(out.mark!('m2'), '{"action":"notify","payload":{"name":"m2"}}');
  t.end();
});

t.test('hostile input: each kind refused with its close code and error code', (t) => {
  refuses(t, () => new VonageCall().receive(Buffer.alloc(640), true), CloseCode.POLICY_VIOLATION, 'ERR_VONAGE_ORDER');
  refuses(t, () => send(new VonageCall(), vonage.dtmf()), CloseCode.POLICY_VIOLATION, 'ERR_VONAGE_ORDER');
  refuses(t, () => send(started(), vonage.connected()), CloseCode.POLICY_VIOLATION, 'ERR_VONAGE_ORDER');
  refuses(t, () => new VonageCall().receive(Buffer.from('nope'), false), CloseCode.INVALID_PAYLOAD, 'ERR_VONAGE_JSON');
  refuses(t, () => started().receive(Buffer.from('{"event"'), false), CloseCode.INVALID_PAYLOAD, 'ERR_VONAGE_JSON');
  for (const bad of [null, 1, 'x', [], {}, { event: null }]) {
    refuses(t, () => send(new VonageCall(), bad), CloseCode.POLICY_VIOLATION, 'ERR_VONAGE_MESSAGE');
    refuses(t, () => send(started(), bad), CloseCode.POLICY_VIOLATION, 'ERR_VONAGE_MESSAGE');
  }
  for (const type of ['audio/l16;rate=44100', 'audio/pcmu', 'audio/l16', 5, { toString: 1 }, undefined]) {
    refuses(
      t,
      () => send(new VonageCall(), { event: 'websocket:connected', 'content-type': type }),
      CloseCode.UNSUPPORTED_DATA,
      'ERR_VONAGE_FORMAT',
    );
  }
  refuses(t, () => started().receive(Buffer.alloc(641), true), CloseCode.INVALID_PAYLOAD, 'ERR_VONAGE_AUDIO', /641/);
  refuses(t, () => send(started(), { event: 'websocket:dtmf' }), CloseCode.POLICY_VIOLATION, 'ERR_VONAGE_MESSAGE');
  refuses(
    t,
    () => send(started(), { event: 'websocket:notify', payload: 'm1' }),
    CloseCode.POLICY_VIOLATION,
    'ERR_VONAGE_MESSAGE',
  );
  t.end();
});
