/**
 * Gateway test clients: start a gateway on port 0 that collects its records, open `ws` clients, read refusals,
 * and the Twilio messages the tests send.
 */
import type { Test } from 'tap';
import type net from 'node:net';
import { WebSocket } from 'ws';
import { createGateway, type Gateway, type GatewayOptions } from '../../gateway/server.js';
import type { GatewayLogger } from '../../gateway/logger.js';

/** A logger that keeps the test output clean (the gateway's default logs JSON lines on stdout). */
export const quietLogger: GatewayLogger = { info() {}, warn() {}, error() {} };
import type { ConnectionRecord } from '../../gateway/connection.js';

export const SID = 'MZ00000000000000000000000000000001';
export const START = {
  event: 'start',
  sequenceNumber: '1',
  streamSid: SID,
  start: {
    streamSid: SID,
    callSid: 'CA1',
    tracks: ['inbound'],
    customParameters: {},
    mediaFormat: { encoding: 'audio/x-mulaw', sampleRate: 8000, channels: 1 },
  },
};
export const media = (chunk: number, payload = Buffer.alloc(160, 0xff).toString('base64')) => ({
  event: 'media',
  sequenceNumber: String(chunk + 1),
  streamSid: SID,
  media: { track: 'inbound', chunk: String(chunk), timestamp: String((chunk - 1) * 20), payload },
});

export interface Started {
  gw: Gateway;
  url: string;
  records: ConnectionRecord[];
  /** The record of the connection whose client socket has this local port. */
  recordOf(ws: WebSocket): Promise<ConnectionRecord>;
}

export async function startGateway(t: Test, opts: GatewayOptions = {}): Promise<Started> {
  const records: ConnectionRecord[] = [];
  const waiters: (() => void)[] = [];
  const gw = createGateway({
    port: 0,
    logger: quietLogger,
    log: (r) => {
      records.push(r);
      for (const w of waiters.splice(0)) w();
    },
    ...opts,
  });
  const addr = await gw.listen();
  t.teardown(() => gw.close());
  const recordOf = async (ws: WebSocket) => {
    const remote = `${addressOf.get(ws)}`;
    for (;;) {
      const r = records.find((x) => x.remote === remote);
      if (r) return r;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  return { gw, url: `ws://127.0.0.1:${addr.port}`, records, recordOf };
}

const addressOf = new WeakMap<WebSocket, string>();

/** Open a client; resolves once open, with a promise of its close code and reason. */
export async function client(url: string, headers: Record<string, string> = {}, localAddress?: string) {
  const ws = new WebSocket(url, { headers, ...(localAddress && { localAddress }) });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  );
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      const sock = (ws as unknown as { _socket: net.Socket })._socket;
      addressOf.set(ws, `${sock.localAddress}:${sock.localPort}`);
      resolve();
    });
    ws.once('unexpected-response', (_req, res) =>
      reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })),
    );
    ws.once('error', reject);
  });
  return { ws, closed };
}

/** The HTTP status a refused upgrade gets. */
export async function upgradeStatus(
  url: string,
  headers: Record<string, string> = {},
  localAddress?: string,
): Promise<number> {
  try {
    const { ws } = await client(url, headers, localAddress);
    ws.close();
    return 101;
  } catch (err) {
    return (err as { status?: number }).status ?? -1;
  }
}
