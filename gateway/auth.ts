/**
 * Who may open a call. Two checks, both before any per-call resource exists:
 * - the shared secret: `Authorization: Bearer S`, `X-Gateway-Secret: S` or `?secret=S` at the upgrade, compared
 *   in constant time (SHA-256 of both sides, so lengths leak nothing). Twilio cannot add headers or query strings
 *   to a stream URL, so a Twilio stream may instead show it as the `secret` custom parameter of its `start`.
 * - optionally Twilio's request signature: `X-Twilio-Signature` is base64(HMAC-SHA1(auth token, URL)) of the URL
 *   Twilio connected to (a WebSocket GET has no POST parameters to append). Behind a proxy the URL the server sees
 *   is not the one Twilio signed, so the public base URL is an option.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** SHA-256 of the secret: what the comparison runs against. */
export function secretDigest(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

/** True when `presented` is the secret whose digest is `expected`, in time independent of both. */
export function secretMatches(presented: string | undefined, expected: Buffer): boolean {
  return presented !== undefined && timingSafeEqual(secretDigest(presented), expected);
}

/** The secret a client showed at the upgrade, if any (header first, then query). */
export function presentedSecret(headers: IncomingHttpHeaders, query: URLSearchParams): string | undefined {
  const auth = headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) return auth.slice(7);
  const header = headers['x-gateway-secret'];
  if (typeof header === 'string') return header;
  return query.get('secret') ?? undefined;
}

/** Twilio's signature of `url` with `authToken`. */
export function twilioSignature(authToken: string, url: string): string {
  return createHmac('sha1', authToken).update(url, 'utf8').digest('base64');
}

/**
 * Check `X-Twilio-Signature` for a request to `target` (path and query as received). `publicUrl` is the
 * scheme and host Twilio connected to (`wss://gw.example.com`); without it the Host header is used with wss://.
 */
export function validTwilioSignature(
  headers: IncomingHttpHeaders,
  target: string,
  authToken: string,
  publicUrl?: string,
): boolean {
  const given = headers['x-twilio-signature'];
  if (typeof given !== 'string' || given.length === 0 || given.length > 200) return false;
  const host = typeof headers.host === 'string' ? headers.host : '';
  const base = (publicUrl ?? `wss://${host}`).replace(/\/+$/, '');
  const expected = Buffer.from(twilioSignature(authToken, base + target));
  const got = Buffer.from(given);
  return got.length === expected.length && timingSafeEqual(got, expected);
}
