import type { Config } from '../config';
import type { Logger } from '../log';
import { DriverMetrics } from './metrics';
import { MetricsServer } from './server';
import type { MetricsSources } from './state-snapshot';

export type { MetricsSources } from './state-snapshot';
export { DriverMetrics } from './metrics';
export { MetricsServer } from './server';

/** The metrics and their HTTP server, or null when --metrics-address is empty (nothing is counted then). */
export function createMetrics(config: Config, sources: MetricsSources, log: Logger): { metrics: DriverMetrics; server: MetricsServer } | null {
  if (config.metricsAddress === null) return null;
  const metrics = new DriverMetrics(sources, config.version);
  return { metrics, server: new MetricsServer(metrics, config.metricsAddress, log) };
}
