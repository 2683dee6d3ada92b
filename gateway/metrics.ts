/**
 * Prometheus metrics of one gateway (prom-client, a registry of its own so that two gateways in one process do
 * not collide): calls active / total by protocol / refused by reason / failed, sink underruns, concealed audio and
 * jitter-buffer delay of ended calls, the way back's messages and clears, and Node's default process metrics
 * (event-loop delay included). Served on `GET /metrics` (gateway/http.ts).
 */
import type { Registry } from 'prom-client';
import { lazyRequire } from '../lib/lazyRequire.js';

/** prom-client, loaded when the first gateway with metrics is created. */
const promClient = lazyRequire<typeof import('prom-client')>('prom-client');
import type { ConnectionRecord } from './connection.js';

export interface GatewayMetrics {
  readonly registry: Registry;
  opened(protocol: string): void;
  closed(record: ConnectionRecord): void;
  refused(reason: string): void;
  failed(): void;
}

export function createMetrics(active: () => number, draining: () => boolean): GatewayMetrics {
  const { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } = promClient();
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'livekit_audio_' });
  const m = (name: string) => `livekit_audio_gateway_${name}`;
  new Gauge({
    name: m('calls_active'),
    help: 'Calls open now',
    registers: [registry],
    collect() {
      this.set(active());
    },
  });
  new Gauge({
    name: m('draining'),
    help: '1 while the gateway refuses new calls to shut down',
    registers: [registry],
    collect() {
      this.set(draining() ? 1 : 0);
    },
  });
  const calls = new Counter({
    name: m('calls_total'),
    help: 'Calls accepted',
    labelNames: ['protocol'],
    registers: [registry],
  });
  const ended = new Counter({
    name: m('calls_ended_total'),
    help: 'Calls ended, by protocol and by who closed (client, gateway) and whether with an error',
    labelNames: ['protocol', 'by', 'error'],
    registers: [registry],
  });
  const refused = new Counter({
    name: m('upgrades_refused_total'),
    help: 'Upgrades refused',
    labelNames: ['reason'],
    registers: [registry],
  });
  const failed = new Counter({
    name: m('calls_failed_total'),
    help: 'Calls closed by a gateway defect (1011)',
    registers: [registry],
  });
  const underruns = new Counter({
    name: m('sink_underruns_total'),
    help: 'Sink underruns of ended calls',
    registers: [registry],
  });
  const concealed = new Counter({
    name: m('concealed_seconds_total'),
    help: 'Audio concealed by jitter buffers of ended calls (lost or late input), seconds',
    registers: [registry],
  });
  const delay = new Histogram({
    name: m('jitter_delay_ms'),
    help: "Jitter-buffer target delay at each call's end, ms",
    buckets: [20, 40, 60, 80, 120, 160, 240, 320, 500],
    registers: [registry],
  });
  const sent = new Counter({
    name: m('playback_messages_total'),
    help: 'Media messages sent back to callers',
    registers: [registry],
  });
  const clears = new Counter({
    name: m('playback_clears_total'),
    help: 'Barge-in clears sent to callers',
    registers: [registry],
  });
  return {
    registry,
    opened: (protocol) => calls.inc({ protocol }),
    refused: (reason) => refused.inc({ reason }),
    failed: () => failed.inc(),
    closed(r) {
      ended.inc({ protocol: r.protocol ?? 'none', by: r.close.by, error: r.error ? 'yes' : 'no' });
      const sink = r.sink as { underruns?: number } | null;
      if (typeof sink?.underruns === 'number') underruns.inc(sink.underruns);
      if (r.jitter) {
        // the buffer's own rate: a 22050 Hz caller's buffer runs at the track's 48 kHz
        concealed.inc(r.jitter.concealedMs / 1000);
        delay.observe(r.jitter.targetDelayMs);
      }
      if (r.playback) {
        sent.inc(r.playback.messages);
        clears.inc(r.playback.clears);
      }
    },
  };
}
