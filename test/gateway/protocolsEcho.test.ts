/**
 * Each telephony adapter through the real gateway in echo mode (every call hears its own audio back through
 * jitter buffer → LiveKitSink → local track → LiveKitSource → playback): a client speaks the provider's protocol,
 * sends start and 1 s of a 500 Hz tone at real time (20 ms a message; Telnyx's out of order), echoes the marks it
 * gets, and must hear the tone back in the provider's framing. Meanwhile a second call on the same path sends a
 * bad message: that call alone is closed, with the protocol's close code, while the first keeps playing. Each
 * call's record names its protocol.
 */
import t from 'tap';
import { dispose } from '@livekit/rtc-node';
import { WebSocket } from 'ws';
import { client, startGateway } from '../helpers/gatewayClient.js';
import { bytesPerSample, fromInt16, toInt16, type SampleEncoding } from '../../lib/formats.js';
import { exotel, plivo, telnyx, vonage } from './protocols/examples.js';

const TONE_HZ = 500; // a whole number of periods in 20 ms: the per-block projection is exact at any phase
const AMPLITUDE = 0.4 * 32767;
const TONE_MS = 1000;
const TAIL_MS = 800;

type Message = string | Buffer;

interface Driver {
  name: 'telnyx' | 'vonage' | 'plivo' | 'exotel';
  encoding: SampleEncoding;
  rate: number;
  /** Bytes of one media message coming back. */
  backBytes: number;
  open(): Message[];
  /** The i-th 20 ms packet. */
  media(i: number, bytes: Buffer): Message;
  /** The order packets are sent in (Telnyx: pairs swapped, to be reordered). */
  order?: (i: number) => number;
  stop(): Message | undefined;
  /** A message from the gateway: its audio, or the reply (an echoed mark). */
  back(data: Buffer, isBinary: boolean): { audio?: Buffer; reply?: Message; other?: string };
  bad: Message;
  badClose: number;
  badCode: string;
}

const json = (data: Buffer) => JSON.parse(data.toString('utf8')) as Record<string, unknown> & { event?: string };

const DRIVERS: Driver[] = [
  {
    name: 'telnyx',
    encoding: 's16be',
    rate: 16000,
    backBytes: 640,
    open: () => [JSON.stringify(telnyx.connected()), JSON.stringify(telnyx.start('L16', 16000))],
    media: (i, bytes) => JSON.stringify(telnyx.media(i + 2, i + 1, i * 20, bytes.toString('base64'))),
    order: (i) => (i % 2 === 0 ? i + 1 : i - 1),
    stop: () => JSON.stringify(telnyx.stop()),
    back(data) {
      const m = json(data) as { event: string; media?: { payload: string }; mark?: { name: string } };
      if (m.event === 'media') return { audio: Buffer.from(m.media!.payload, 'base64') };
      if (m.event === 'mark') return { reply: JSON.stringify(telnyx.mark(m.mark!.name)) };
      return { other: m.event };
    },
    bad: Buffer.alloc(640),
    badClose: 1003,
    badCode: 'ERR_TELNYX_BINARY',
  },
  {
    name: 'vonage',
    encoding: 's16le',
    rate: 16000,
    backBytes: 640,
    open: () => [JSON.stringify(vonage.connected(16000))],
    media: (_i, bytes) => bytes,
    stop: () => undefined, // Vonage just closes
    back(data, isBinary) {
      if (isBinary) return { audio: data };
      const m = json(data) as { action: string; payload?: { name: string } };
      if (m.action === 'notify') return { reply: JSON.stringify(vonage.notify(m.payload!.name)) };
      return { other: m.action };
    },
    bad: Buffer.alloc(641),
    badClose: 1007,
    badCode: 'ERR_VONAGE_AUDIO',
  },
  {
    name: 'plivo',
    encoding: 'mulaw',
    rate: 8000,
    backBytes: 160,
    open: () => [JSON.stringify(plivo.start('audio/x-mulaw', 8000))],
    media: (i, bytes) => JSON.stringify(plivo.media(i + 2, i + 1, bytes.toString('base64'))),
    stop: () => JSON.stringify(plivo.stop()),
    back(data) {
      const m = json(data) as { event: string; media?: { payload: string; contentType: string }; name?: string };
      if (m.event === 'playAudio' && m.media?.contentType === 'audio/x-mulaw') {
        return { audio: Buffer.from(m.media.payload, 'base64') };
      }
      if (m.event === 'checkpoint') return { reply: JSON.stringify(plivo.played(m.name!)) };
      return { other: m.event };
    },
    bad: JSON.stringify(plivo.media(999, 999, '%%%%')),
    badClose: 1007,
    badCode: 'ERR_PLIVO_BASE64',
  },
  {
    name: 'exotel',
    encoding: 's16le',
    rate: 16000,
    backBytes: 3200, // 100 ms: Exotel wants ≥ 3.2 KB in multiples of 320 bytes
    open: () => [JSON.stringify(exotel.connected()), JSON.stringify(exotel.start('16000'))],
    media: (i, bytes) => JSON.stringify(exotel.media(i + 2, i + 1, bytes.toString('base64'))),
    stop: () => JSON.stringify(exotel.stop()),
    back(data) {
      const m = json(data) as {
        event: string;
        stream_sid?: string;
        media?: { payload: string };
        mark?: { name: string };
      };
      if (m.stream_sid !== exotel.SID) return { other: 'no stream_sid' };
      if (m.event === 'media') return { audio: Buffer.from(m.media!.payload, 'base64') };
      if (m.event === 'mark') return { reply: JSON.stringify(exotel.mark(m.mark!.name)) };
      return { other: m.event };
    },
    bad: JSON.stringify({ event: 'playAudio', stream_sid: exotel.SID }),
    badClose: 1008,
    badCode: 'ERR_EXOTEL_EVENT',
  },
];

t.teardown(() => dispose());

/** 20 ms packets of the tone (then silence) in the driver's encoding. */
function packet(d: Driver, i: number, tone: boolean): Buffer {
  const n = d.rate / 50;
  const samples = new Int16Array(n);
  if (tone)
    for (let k = 0; k < n; k++)
      samples[k] = Math.round(AMPLITUDE * Math.sin((2 * Math.PI * TONE_HZ * (i * n + k)) / d.rate));
  const bytes = Buffer.alloc(n * bytesPerSample(d.encoding));
  fromInt16(d.encoding, samples, bytes);
  return bytes;
}

/** Per 20 ms block of what came back: its energy and the part of it at TONE_HZ. */
function analyse(samples: Int16Array, rate: number): { toneBlocks: number; purity: number } {
  const n = rate / 50;
  const blockEnergy = (n * AMPLITUDE * AMPLITUDE) / 2;
  let toneBlocks = 0;
  let tone = 0;
  let total = 0;
  for (let b = 0; b + n <= samples.length; b += n) {
    let e = 0;
    let s = 0;
    let c = 0;
    for (let k = 0; k < n; k++) {
      const x = samples[b + k]!;
      e += x * x;
      s += x * Math.sin((2 * Math.PI * TONE_HZ * k) / rate);
      c += x * Math.cos((2 * Math.PI * TONE_HZ * k) / rate);
    }
    if (e < blockEnergy * 0.25) continue; // silence and fades
    toneBlocks++;
    total += e;
    tone += ((s * s + c * c) * 2) / n;
  }
  return { toneBlocks, purity: total > 0 ? tone / total : 0 };
}

const sleepUntil = (at: number) => new Promise((r) => setTimeout(r, Math.max(0, at - performance.now())));

for (const d of DRIVERS) {
  t.test(`${d.name}: the tone comes back in ${d.name}'s framing; a bad call is closed alone`, async (t) => {
    const { url, recordOf } = await startGateway(t, { echo: true });
    const good = await client(`${url}/${d.name}`);
    const bad = await client(`${url}/${d.name}`);
    const back: Buffer[] = [];
    const sizes = new Set<number>();
    const others = new Set<string>();
    let replies = 0;
    good.ws.on('message', (data: Buffer, isBinary: boolean) => {
      const r = d.back(data, isBinary);
      if (r.audio) {
        back.push(r.audio);
        sizes.add(r.audio.length);
      }
      if (r.reply !== undefined && good.ws.readyState === WebSocket.OPEN) {
        good.ws.send(r.reply);
        replies++;
      }
      if (r.other !== undefined) others.add(r.other);
    });
    bad.ws.on('message', () => undefined);
    for (const m of d.open()) good.ws.send(m);
    for (const m of d.open()) bad.ws.send(m);

    const packets = (TONE_MS + TAIL_MS) / 20;
    const t0 = performance.now();
    for (let i = 0; i < packets; i++) {
      const j = d.order?.(i) ?? i;
      const k = j < packets ? j : i;
      good.ws.send(d.media(k, packet(d, k, k < TONE_MS / 20)));
      if (i < 10) bad.ws.send(d.media(i, packet(d, i, true)));
      if (i === 15) bad.ws.send(d.bad); // 300 ms in: only this call ends
      await sleepUntil(t0 + (i + 1) * 20);
    }
    const badClosed = await bad.closed;
    t.equal(badClosed.code, d.badClose, `the bad call closed with ${d.badClose}`);
    t.equal(good.ws.readyState, WebSocket.OPEN, 'the good call is still open');
    const stop = d.stop();
    if (stop !== undefined) good.ws.send(stop);
    else good.ws.close(1000);
    const closed = await good.closed;
    t.equal(closed.code, 1000);

    const bytes = Buffer.concat(back);
    const samples = new Int16Array(bytes.length / bytesPerSample(d.encoding));
    toInt16(d.encoding, bytes, samples);
    const { toneBlocks, purity } = analyse(samples, d.rate);
    t.comment(
      `${back.length} media messages back, sizes ${[...sizes]}, ${toneBlocks} blocks of tone, purity ${purity.toFixed(3)}`,
    );
    t.same([...sizes], [d.backBytes], `every media message back is ${d.backBytes} bytes`);
    t.same([...others], [], 'nothing unexpected came back');
    t.ok(toneBlocks >= (TONE_MS / 20) * 0.7, 'most of the tone came back');
    t.ok(purity > 0.9, 'and it is the tone');
    t.ok(replies >= 1, 'a mark came and was echoed');

    const rec = await recordOf(good.ws);
    t.equal(rec.protocol, d.name);
    t.equal(rec.error, null);
    t.ok((rec.playback?.marksPlayed ?? 0) >= 1, 'the echoed mark was played (playback stats)');
    if (d.order) {
      // every other packet came early: the jitter buffer put them back in order (seq/timestamp from the adapter)
      t.comment(
        `jitter: reordered ${rec.jitter?.reordered}, lost ${rec.jitter?.lostPackets}, late ${rec.jitter?.late}`,
      );
      t.ok((rec.jitter?.reordered ?? 0) >= packets / 2 - 10, 'the swapped packets were reordered');
      t.ok((rec.jitter?.lostPackets ?? 99) <= 5, 'and hardly any declared lost');
    }
    const badRec = await recordOf(bad.ws);
    t.equal(badRec.protocol, d.name);
    t.equal(badRec.error?.code, d.badCode);
    t.equal(badRec.close.code, d.badClose);
  });
}
