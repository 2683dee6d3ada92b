/**
 * The gateway's plain HTTP routes (everything that is not a WebSocket upgrade):
 *
 *   GET /healthz   200 {"status":"ok"} while the process serves requests (liveness)
 *   GET /readyz    200 when it takes calls; 503 {"ready":false,"reason":…} while starting, draining or at capacity
 *   GET /metrics   Prometheus text (gateway/metrics.ts), unless metrics are off
 *   anything else  426: connect with a WebSocket
 *
 * Probes and scrapes carry no secret: they say how busy the gateway is, never anything about a call.
 */
import type http from 'node:http';
import type { Registry } from 'prom-client';

export interface HttpRoutesContext {
  /** Why the gateway takes no call now, or undefined when it does. */
  notReady(): 'starting' | 'draining' | 'capacity' | undefined;
  metrics: Registry | undefined;
}

export function httpRoutes(ctx: HttpRoutesContext): http.RequestListener {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (path === '/healthz') return json(res, 200, { status: 'ok' });
      if (path === '/readyz') {
        const reason = ctx.notReady();
        return json(res, reason ? 503 : 200, reason ? { ready: false, reason } : { ready: true });
      }
      if (path === '/metrics' && ctx.metrics) {
        const registry = ctx.metrics;
        registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': registry.contentType });
            res.end(text);
          },
          () => json(res, 500, { error: 'metrics failed' }),
        );
        return;
      }
    }
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end(
      'livekit-audio gateway: connect with a WebSocket (paths /twilio, /telnyx, /vonage, /plivo, /exotel, ' +
        '/pcm?rate=&channels=&encoding=); GET /healthz, /readyz, /metrics\n',
    );
  };
}

function json(res: http.ServerResponse, status: number, body: object): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body) + '\n');
}
