/**
 * The gateway's protocols by name. A call's protocol comes from the last segment of its URL path (`/twilio`,
 * `/pcm`, …); any other path decides on the first message (detectProtocol). Adding a protocol is one file with a
 * class implementing CallProtocol (protocol.ts) and one line here (docs/protocols.md, "Adding a protocol").
 */
import { parseJson, type CallEvent, type CallProtocol, type PcmFormat } from './protocol.js';
import { TwilioCall } from './twilio.js';
import { RawPcmCall } from './rawPcm.js';
import { TelnyxCall } from './telnyx.js';
import { VonageCall } from './vonage.js';
import { PlivoCall } from './plivo.js';
import { ExotelCall } from './exotel.js';

export interface ProtocolEntry {
  /** Its name in messages ("raw PCM", "Twilio"). */
  label: string;
  /** A new call. `format` is the raw PCM format declared in the URL query, if any (other protocols ignore it). */
  create(format?: PcmFormat): CallProtocol;
  /**
   * The client cannot set headers or a query (Twilio): a shared secret may instead come in the start message's
   * custom parameters (`params.secret`).
   */
  secretInStart?: boolean;
}

export const PROTOCOLS = {
  twilio: { label: 'Twilio', create: () => new TwilioCall(), secretInStart: true },
  pcm: { label: 'raw PCM', create: (format?: PcmFormat) => new RawPcmCall(format) },
  // each of these can put the secret in its stream URL's query (or headers): no secretInStart
  telnyx: { label: 'Telnyx', create: () => new TelnyxCall() },
  vonage: { label: 'Vonage', create: () => new VonageCall() },
  plivo: { label: 'Plivo', create: () => new PlivoCall() },
  exotel: { label: 'Exotel', create: () => new ExotelCall() },
} satisfies Record<string, ProtocolEntry>;

export type GatewayProtocol = keyof typeof PROTOCOLS;

export function isGatewayProtocol(name: string): name is GatewayProtocol {
  return Object.hasOwn(PROTOCOLS, name);
}

/** The protocol a URL path names (its last segment), or 'auto'. */
export function protocolForPath(pathname: string): GatewayProtocol | 'auto' {
  const last = pathname.slice(pathname.lastIndexOf('/') + 1);
  return isGatewayProtocol(last) ? last : 'auto';
}

/** An 'auto' call's first message decides: JSON with an "event" is Twilio, anything else raw PCM. */
export function detectProtocol(data: Buffer, isBinary: boolean): { protocol: CallProtocol; event: CallEvent } {
  if (isBinary) {
    const protocol = new RawPcmCall();
    return { protocol, event: protocol.receive(data, isBinary) };
  }
  const msg = parseJson(data.toString('utf8'), 'ERR_GATEWAY_JSON');
  if (typeof msg === 'object' && msg !== null && 'event' in msg) {
    const protocol = new TwilioCall();
    return { protocol, event: protocol.receiveObject(msg) };
  }
  const protocol = new RawPcmCall();
  return { protocol, event: protocol.receiveObject(msg) };
}
