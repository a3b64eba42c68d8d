import type { Config } from '../config';
import type { Logger } from '../log';
import type { DriverMetrics } from './metrics';
import type { MetricsServer } from './server';
import type { MetricsSources } from './state-snapshot';

export type { MetricsSources } from './state-snapshot';
export type { DriverMetrics } from './metrics';
export type { MetricsServer } from './server';

/**
 * The metrics and their HTTP server, or null when --metrics-address is empty (nothing is counted then). prom-client
 * and the HTTP server are loaded here, only when metrics are on: a driver without them does not pay their idle
 * memory (about 5 MiB, docs/performance.md).
 */
export function createMetrics(config: Config, sources: MetricsSources, log: Logger): { metrics: DriverMetrics; server: MetricsServer } | null {
  if (config.metricsAddress === null) return null;
  const { DriverMetrics: Metrics } = require('./metrics') as typeof import('./metrics');
  const { MetricsServer: Server } = require('./server') as typeof import('./server');
  const metrics = new Metrics(sources, config.version);
  return { metrics, server: new Server(metrics, config.metricsAddress, log) };
}
