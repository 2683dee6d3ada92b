/**
 * The gateway's upgrade handler: every check on an upgrade request before any per-call resource exists — a
 * parsable target (else 400), not shutting down (503), room for the call overall and for its address (503 +
 * Retry-After), the Twilio signature or the secret (401, gateway/auth.ts), a valid raw-PCM format (400) — then the
 * WebSocket handshake and the call. Everything in the request is untrusted (docs/security.md).
 */
import type http from 'node:http';
import type { Socket } from 'node:net';
import type { WebSocket, WebSocketServer } from 'ws';
import { GatewayConnection, type ConnectionOptions } from './connection.js';
import { pcmFormatFromQuery } from './protocols/rawPcm.js';
import { PROTOCOLS, protocolForPath, type ProtocolEntry } from './protocols/registry.js';
import { presentedSecret, secretMatches, validTwilioSignature } from './auth.js';
import type { Admission, Refusal } from './admission.js';
import { parseUpgradeTarget } from './upgrade.js';

export type RefusalReason = 'badRequest' | 'capacity' | 'perIp' | 'unauthorized' | 'shuttingDown';

/** A refused upgrade, as logged and emitted ('refused'). */
export interface UpgradeRefusal {
  reason: RefusalReason;
  status: number;
  remote: string;
  /** What was wrong (a bad query), when the client is told. */
  detail?: string;
}

/** A call that opened, as logged and emitted ('call'): its protocol is the path's, or 'auto' until it speaks. */
export interface OpenedCall {
  remote: string;
  path: string;
  protocol: string;
}

/** What the handler needs from the gateway around it. */
export interface UpgradeContext {
  readonly wss: WebSocketServer;
  readonly admission: Admission;
  /** Refusal counters, by reason (the gateway's stats). */
  readonly refused: Record<RefusalReason, number>;
  /** SHA-256 of the shared secret, if one is set. */
  readonly secret: Buffer | undefined;
  readonly twilioAuthToken: string | undefined;
  readonly publicUrl: string | undefined;
  readonly authTimeoutMs: number;
  /** Per-call options shared by every call. */
  readonly call: Omit<ConnectionOptions, 'id' | 'mode' | 'format' | 'authorizeStart' | 'authDeadlineMs'>;
  isClosing(): boolean;
  nextId(): string;
  /** An upgrade was refused (counted already): log it, count it in the metrics, emit it. */
  onRefused?(refusal: UpgradeRefusal): void;
  /** A call is open: the gateway tracks it and calls `release` when it ends. */
  opened(id: string, conn: GatewayConnection, release: () => void, info: OpenedCall): void;
  /** A defect (not the client's fault) closed something: count and log it. */
  unexpected(id: string, err: unknown): void;
}

const REFUSALS: Record<Refusal, [status: string, reason: RefusalReason, body: string]> = {
  capacity: ['503 Service Unavailable', 'capacity', 'gateway at capacity'],
  'per-ip': ['503 Service Unavailable', 'perIp', 'gateway per-address limit reached'],
};

/** Answer the upgrade with a plain HTTP refusal and close the socket; counted by reason. */
function refuse(ctx: UpgradeContext, socket: Socket, status: string, reason: RefusalReason, body = ''): void {
  ctx.refused[reason]++;
  const remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`;
  ctx.onRefused?.({ reason, status: Number(status.slice(0, 3)), remote, ...(body && { detail: body.slice(0, 200) }) });
  const extra = reason === 'capacity' || reason === 'perIp' ? 'retry-after: 5\r\n' : '';
  const length = Buffer.byteLength(body);
  socket.end(
    `HTTP/1.1 ${status}\r\nconnection: close\r\n${extra}content-type: text/plain\r\ncontent-length: ${length}\r\n\r\n${body}`,
  );
}

/** One upgrade request, checked in the order of the header; a call is admitted only once ws completes it. */
export function handleUpgrade(ctx: UpgradeContext, req: http.IncomingMessage, socket: Socket, head: Buffer): void {
  // http drops its own socket error handler on upgrade: a client reset while we refuse must not crash us
  socket.on('error', () => socket.destroy());
  const target = parseUpgradeTarget(req.url);
  if ('error' in target) return refuse(ctx, socket, '400 Bad Request', 'badRequest', target.error);
  if (ctx.isClosing()) return refuse(ctx, socket, '503 Service Unavailable', 'shuttingDown');
  const ip = req.socket.remoteAddress ?? '?';
  const full = ctx.admission.refusal(ip);
  if (full) return refuse(ctx, socket, ...REFUSALS[full]);
  const { pathname, query } = target;
  const mode = protocolForPath(pathname);
  const signed =
    ctx.twilioAuthToken !== undefined && mode === 'twilio'
      ? validTwilioSignature(req.headers, target.raw, ctx.twilioAuthToken, ctx.publicUrl)
      : undefined;
  if (signed === false) return refuse(ctx, socket, '401 Unauthorized', 'unauthorized');
  const presented = presentedSecret(req.headers, query);
  // without a secret at the upgrade only a (possible) Twilio stream may proceed, to show it in `start`
  const declaresFormat = query.has('rate') || query.has('sampleRate');
  const secret = ctx.secret;
  const mayDefer = mode === 'auto' ? !declaresFormat : (PROTOCOLS[mode] as ProtocolEntry).secretInStart === true;
  const deferSecret = secret !== undefined && !signed && presented === undefined && mayDefer;
  if (secret && !signed && !deferSecret && !secretMatches(presented, secret)) {
    return refuse(ctx, socket, '401 Unauthorized', 'unauthorized');
  }
  let format;
  try {
    format = mode === 'pcm' || mode === 'auto' ? pcmFormatFromQuery(query) : undefined;
  } catch (err) {
    return refuse(ctx, socket, '400 Bad Request', 'badRequest', (err as Error).message);
  }
  // ws may still refuse the handshake (a bad key or version) without calling back: admit only once it is done
  ctx.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
    const release = ctx.admission.admit(ip);
    const id = ctx.nextId();
    let conn: GatewayConnection;
    try {
      conn = new GatewayConnection(ws, req, {
        ...ctx.call,
        id,
        mode,
        format,
        onUnexpectedError: (err) => ctx.unexpected(id, err),
        ...(deferSecret && {
          authorizeStart: (params: Record<string, unknown>) => secretMatches(stringOrUndefined(params.secret), secret),
          authDeadlineMs: ctx.authTimeoutMs,
        }),
      });
    } catch (err) {
      release();
      ctx.unexpected(id, err);
      ws.close(1011, 'gateway error');
      return;
    }
    ctx.opened(id, conn, release, {
      remote: `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`,
      path: pathname.slice(0, 200),
      protocol: mode,
    });
  });
}

function stringOrUndefined(x: unknown): string | undefined {
  return typeof x === 'string' ? x : undefined;
}
