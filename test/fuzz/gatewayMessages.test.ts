/**
 * The whole gateway under mutated message sequences: hundreds of real `ws` connections on 127.0.0.1, each a
 * seeded run of mutated Twilio or raw-PCM messages (text and binary, broken JSON, wrong types, binary where text
 * is expected), while one good raw-PCM caller streams. Every hostile connection must end with a client close
 * code (or its own close), the gateway must count no unexpected failure, and the good caller's audio must all
 * arrive. The sink is a plain Writable: this is about the parsers and the connection, not the audio path.
 */
import t from 'tap';
import { dispose } from '@livekit/rtc-node';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import type { AudioFrame } from '@livekit/rtc-node';
import { startGateway } from '../helpers/gatewayClient.js';
import type { SinkFactory } from '../../gateway/connection.js';
import { FUZZ_SEED, hostileValue, mutatedText, seeded } from './mutate.js';

const CONNECTIONS = Number(process.env.FUZZ_CONNECTIONS ?? 300);
const SID = 'MZ00000000000000000000000000000001';
const START = {
  event: 'start',
  streamSid: SID,
  start: {
    streamSid: SID,
    tracks: ['inbound'],
    customParameters: {},
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  },
};
const MEDIA = {
  event: 'media',
  streamSid: SID,
  media: { track: 'inbound', chunk: '1', timestamp: '0', payload: Buffer.alloc(160, 0xff).toString('base64') },
};
const FORMAT = { sampleRate: 8000, channels: 1, encoding: 's16le' };
const CLIENT_CLOSES = new Set([1000, 1003, 1005, 1007, 1008, 1009]);

t.teardown(() => dispose());

t.test(`${CONNECTIONS} hostile connections and one good caller`, async (t) => {
  const samplesBySink = new Map<string, number>();
  const sink: SinkFactory = async (info) => {
    samplesBySink.set(info.id, 0);
    const w = new Writable({
      objectMode: true,
      highWaterMark: 1,
      write(frame: AudioFrame, _e, cb) {
        samplesBySink.set(info.id, samplesBySink.get(info.id)! + frame.samplesPerChannel);
        cb();
      },
    });
    return { sink: Object.assign(w, { bufferedMs: 0 }), close: async () => undefined };
  };
  const { url, gw, records } = await startGateway(t, {
    sink,
    maxMessageBytes: 65536,
    maxCalls: 1000,
    maxCallsPerIp: 1000,
  });

  // the good caller: 2 s of 8 kHz s16le in 20 ms messages, paced
  const good = new WebSocket(`${url}/pcm?rate=8000`);
  await new Promise((r) => good.once('open', r));
  const goodDone = (async () => {
    const t0 = performance.now();
    for (let i = 1; i <= 100; i++) {
      good.send(Buffer.alloc(320, i));
      await new Promise((r) => setTimeout(r, Math.max(0, t0 + i * 20 - performance.now())));
    }
    good.close(1000);
  })();

  const r = seeded(3);
  const closes: Record<string, number> = {};
  const batch = 25;
  for (let n = 0; n < CONNECTIONS; n += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, CONNECTIONS - n) }, async () => {
        const path = ['/twilio', '/pcm', '/', `/pcm?rate=8000`][Math.floor(r() * 4)]!;
        const ws = new WebSocket(`${url}${path}`);
        ws.on('error', () => undefined);
        const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
        await new Promise((resolve) => ws.once('open', resolve));
        const twilio = path === '/twilio' || (path === '/' && r() < 0.5);
        if (twilio && r() < 0.7) ws.send(JSON.stringify(START));
        if (!twilio && path === '/' && r() < 0.7) ws.send(JSON.stringify(FORMAT));
        for (let k = 0, m = 1 + Math.floor(r() * 6); k < m && ws.readyState === WebSocket.OPEN; k++) {
          const roll = r();
          if (roll < 0.55) ws.send(mutatedText(r, twilio ? (r() < 0.5 ? MEDIA : START) : FORMAT));
          else if (roll < 0.75) ws.send(Buffer.alloc(Math.floor(r() * 700), Math.floor(r() * 256)));
          else if (roll < 0.85) ws.send(JSON.stringify(hostileValue(r)) ?? 'null');
          else if (roll < 0.9)
            ws.send(Buffer.alloc(70_000)); // over maxMessageBytes
          else ws.send(JSON.stringify(twilio ? MEDIA : FORMAT));
        }
        if (ws.readyState === WebSocket.OPEN) ws.close(1000);
        const code = await closed;
        closes[code] = (closes[code] ?? 0) + 1;
      }),
    );
  }
  await goodDone;
  const deadline = Date.now() + 10_000;
  while (records.length < CONNECTIONS + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));

  t.comment(`seed ${FUZZ_SEED}: client-side close codes ${JSON.stringify(closes)}`);
  const unexpected = Object.keys(closes).filter((c) => !CLIENT_CLOSES.has(Number(c)));
  t.same(unexpected, [], 'every hostile connection ended with a client close code');
  const byGateway: Record<string, number> = {};
  for (const rec of records)
    if (rec.close.by === 'gateway') byGateway[rec.close.code] = (byGateway[rec.close.code] ?? 0) + 1;
  t.comment(`gateway-side closes ${JSON.stringify(byGateway)}`);
  t.notOk(byGateway['1011'], 'the gateway never failed itself (1011)');
  t.equal(gw.stats.failed, 0, 'no unexpected error counted');
  t.equal(records.length, CONNECTIONS + 1, 'every connection ended with its record');
  const goodRecord = records.find((rec) => rec.audioMs === 2000 && rec.error === null);
  t.ok(goodRecord, 'the good caller was served');
  t.equal(goodRecord?.frames, 200, 'all 2 s of its audio reached its jitter buffer');
  t.ok(goodRecord && samplesBySink.get(goodRecord.id)! >= 16000, 'and its sink got at least that much');
});
