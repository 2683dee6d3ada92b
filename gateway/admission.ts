/**
 * How many calls the gateway takes at once, in all and from one address. A call is admitted at the upgrade,
 * before any per-call resource exists, and released when its connection has closed and drained.
 *
 * The default cap is what one process was measured to carry (docs/scaling.md), lowered to what the open-files
 * limit allows: each call holds its socket and rtc-node's per-source descriptors (FDS_PER_CALL, measured in
 * test/gateway/gatewayLimits.test.ts), and running out of descriptors aborts the process natively rather than failing
 * one call.
 */
/** Calls one process carries with event-loop delay p99 ≤ 10 ms and 0 probe faults (docs/scaling.md). */
export const CALLS_PER_PROCESS = 150;
/** File descriptors one loopback or published call holds (socket + native source), with margin. */
export const FDS_PER_CALL = 5;
/** Descriptors kept free for the process itself, handshakes in progress and refusals. */
export const RESERVED_FDS = 96;

export type Refusal = 'capacity' | 'per-ip';

export interface DefaultCap {
  maxCalls: number;
  /** The open-files limit read at start, if it could be read. */
  openFiles: number | undefined;
  /** True when the open-files limit, not measured capacity, set the cap. */
  limitedByOpenFiles: boolean;
}

/** The default cap for this process: measured capacity, or fewer if the open-files limit cannot hold that many. */
export function defaultMaxCalls(openFiles: number | undefined): DefaultCap {
  if (openFiles === undefined) return { maxCalls: CALLS_PER_PROCESS, openFiles, limitedByOpenFiles: false };
  const byFiles = Math.max(1, Math.floor((openFiles - RESERVED_FDS) / FDS_PER_CALL));
  return { maxCalls: Math.min(CALLS_PER_PROCESS, byFiles), openFiles, limitedByOpenFiles: byFiles < CALLS_PER_PROCESS };
}

export class Admission {
  readonly maxCalls: number;
  readonly maxCallsPerIp: number;
  #active = 0;
  readonly #perIp = new Map<string, number>();

  constructor(maxCalls: number, maxCallsPerIp: number) {
    this.maxCalls = maxCalls;
    this.maxCallsPerIp = maxCallsPerIp;
  }

  get active(): number {
    return this.#active;
  }

  /** Why a new call from `ip` would be refused now, or undefined if it may come in. */
  refusal(ip: string): Refusal | undefined {
    if (this.#active >= this.maxCalls) return 'capacity';
    if ((this.#perIp.get(ip) ?? 0) >= this.maxCallsPerIp) return 'per-ip';
    return undefined;
  }

  /** Count a call from `ip`; the returned function releases it (once, however often it is called). */
  admit(ip: string): () => void {
    this.#active++;
    this.#perIp.set(ip, (this.#perIp.get(ip) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#active--;
      const n = (this.#perIp.get(ip) ?? 1) - 1;
      if (n === 0) this.#perIp.delete(ip);
      else this.#perIp.set(ip, n);
    };
  }
}
