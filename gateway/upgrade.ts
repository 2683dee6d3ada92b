/**
 * The request target of an upgrade, read without trusting it. `new URL(target, base)` throws on targets such as
 * `//[` or `//a:99999` (it reads `//` as an authority), so the path and query are split by hand; an absolute-form
 * target (`http://host/path`, RFC 9112 §3.2.2) is parsed on its own and refused if it does not parse.
 */
export interface UpgradeTarget {
  pathname: string;
  query: URLSearchParams;
  /** Path and query as received (for signatures). */
  raw: string;
}

/** The longest request target accepted (browsers and proxies cap URLs near 8 KiB). */
export const MAX_TARGET_LENGTH = 8192;

/** The parsed target, or a reason to answer 400. */
export function parseUpgradeTarget(target: string | undefined): UpgradeTarget | { error: string } {
  const raw = target ?? '/';
  if (raw.length > MAX_TARGET_LENGTH) return { error: 'request target too long' };
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    try {
      const url = new URL(raw);
      return { pathname: url.pathname, query: url.searchParams, raw: url.pathname + url.search };
    } catch {
      return { error: 'malformed request target' };
    }
  }
  if (!raw.startsWith('/')) return { error: 'request target must start with /' };
  const q = raw.indexOf('?');
  const pathname = q < 0 ? raw : raw.slice(0, q);
  // URLSearchParams never throws: bad percent-encoding stays as it is
  const query = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  return { pathname, query, raw };
}
