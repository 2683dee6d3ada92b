/**
 * A dependency loaded on its first use, not when the package is imported: what one feature needs (the gateway's
 * WebSocket server and metrics client, the token minter) should not weigh on every app that only decodes or
 * publishes. Each is a CommonJS package or ships a CommonJS build, so a synchronous require() serves both of our
 * builds.
 */
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);

export function lazyRequire<T>(specifier: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= requireHere(specifier) as T);
}
