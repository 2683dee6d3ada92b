/**
 * Upgrade requests as a stranger would send them, over raw TCP: seeded random request targets (odd paths,
 * absolute forms, bad percent-encoding, control bytes, very long ones), queries with repeated and hostile keys,
 * and odd headers (Authorization, the WebSocket key and version, huge values). Each must be answered or closed,
 * the gateway must count no unexpected failure, and a good call must be served afterwards.
 */
import t from 'tap';
import { dispose } from '@livekit/rtc-node';
import net from 'node:net';
import { client, startGateway } from '../helpers/gatewayClient.js';
import { FUZZ_SEED, seeded } from './mutate.js';

const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 600);

function send(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (r: string) => {
      s.destroy();
      resolve(r);
    };
    s.setTimeout(3000, () => done('timeout'));
    s.on('error', () => done('reset'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done(got.split(' ')[1] ?? 'garbled');
    });
    s.on('close', () => done('closed'));
    s.write(request);
  });
}

t.teardown(() => dispose());

t.test(`${REQUESTS} random upgrade requests`, async (t) => {
  const { gw, url, recordOf } = await startGateway(t, { secret: 'fuzz-secret-1', maxCallsPerIp: 10_000 });
  const port = gw.address!.port;
  const r = seeded(4);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const paths = [
    '/',
    '//',
    '//[',
    '//a:99999',
    '//%zz',
    '//@',
    'http://x:1:2/',
    'http://h/twilio',
    '/twilio',
    '/pcm',
    '*',
    '',
    'x',
    '/%',
    '/%00',
    '/\u0001',
    '/..%2f..',
  ];
  const qkeys = ['rate', 'sampleRate', 'channels', 'encoding', 'secret', '__proto__', 'rate'];
  const qvals = ['8000', '16000', 'fuzz-secret-1', '%zz', '-1', '1e400', '', 'x'.repeat(2000), '%E0%A4%A'];
  const statuses: Record<string, number> = {};
  for (let i = 0; i < REQUESTS; i++) {
    let target = pick(paths);
    if (r() < 0.3) target += 'a'.repeat(Math.floor(r() * 10_000));
    if (r() < 0.6)
      target += '?' + Array.from({ length: 1 + Math.floor(r() * 5) }, () => `${pick(qkeys)}=${pick(qvals)}`).join('&');
    const headers = [
      'Host: 127.0.0.1',
      r() < 0.9 ? 'Upgrade: websocket' : 'Upgrade: h2c',
      'Connection: Upgrade',
      `Sec-WebSocket-Key: ${pick(['dGhlIHNhbXBsZSBub25jZQ==', '', '!!!', 'x'.repeat(100)])}`,
      `Sec-WebSocket-Version: ${pick(['13', '8', '', 'abc'])}`,
    ];
    if (r() < 0.3)
      headers.push(
        `Authorization: ${pick(['Bearer fuzz-secret-1', 'Bearer ', 'Basic x', 'Bearer ' + 'y'.repeat(9000)])}`,
      );
    if (r() < 0.2) headers.push(`X-Gateway-Secret: ${pick(['fuzz-secret-1', '', 'z'.repeat(20_000)])}`);
    if (r() < 0.1) headers.push('X-Twilio-Signature: ' + 'q'.repeat(Math.floor(r() * 500)));
    if (r() < 0.05) headers.push('Bad Header Without Colon');
    const method = r() < 0.9 ? 'GET' : pick(['POST', 'G\u0000T', '']);
    const status = await send(
      port,
      Buffer.from(`${method} ${target} HTTP/1.1\r\n${headers.join('\r\n')}\r\n\r\n`, 'latin1'),
    );
    statuses[status] = (statuses[status] ?? 0) + 1;
  }
  t.comment(`seed ${FUZZ_SEED}: ${JSON.stringify(statuses)}`);
  t.notOk(statuses.timeout, 'every request was answered or closed within 3 s');
  t.equal(gw.stats.failed, 0, 'no unexpected failure');
  const c = await client(`${url}/pcm?rate=8000&secret=fuzz-secret-1`);
  c.ws.send(Buffer.alloc(1600));
  c.ws.close(1000);
  t.equal((await recordOf(c.ws)).frames, 10, 'a good call afterwards is served');
  // whatever was upgraded by the fuzz has ended: nothing is left open
  const deadline = Date.now() + 5000;
  while (gw.stats.active > 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 50));
  t.equal(gw.stats.active, 0, 'no call left open');
});
