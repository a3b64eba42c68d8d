import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ListenAddress } from '../config';
import type { Logger } from '../log';
import type { DriverMetrics } from './metrics';

/**
 * The Prometheus endpoint: GET /metrics (the exposition text), GET /healthz (200 while the process runs). Read-only:
 * nothing on this port changes the driver, so it may listen beyond loopback for a Service to scrape.
 */
export class MetricsServer {
  private readonly server: Server;

  constructor(
    private readonly metrics: DriverMetrics,
    private readonly address: ListenAddress,
    private readonly log: Logger,
  ) {
    this.server = createServer((req, res) => void this.handle(req, res));
    // A scraper that keeps its connection open must not hold up shutdown.
    this.server.keepAliveTimeout = 5_000;
  }

  /** Resolves with the port really bound (the flag may say 0 in tests). */
  async listen(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.address.port, this.address.host === '' ? undefined : this.address.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const port = (this.server.address() as AddressInfo).port;
    this.log.info({ host: this.address.host || '*', port }, 'metrics server listening');
    return port;
  }

  async close(): Promise<void> {
    this.metrics.close();
    if (!this.server.listening) return;
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return reply(res, 405, 'text/plain', 'only GET\n');
    if (url === '/healthz') return reply(res, 200, 'text/plain', 'ok\n');
    if (url !== '/metrics') return reply(res, 404, 'text/plain', 'not found: try /metrics\n');
    try {
      reply(res, 200, this.metrics.contentType, await this.metrics.render());
    } catch (err) {
      this.log.error({ err }, 'metrics scrape failed');
      reply(res, 500, 'text/plain', 'metrics could not be collected; see the driver log\n');
    }
  }
}

function reply(res: ServerResponse, code: number, contentType: string, body: string): void {
  res.writeHead(code, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}
