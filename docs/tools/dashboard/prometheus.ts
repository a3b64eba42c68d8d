import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { terminateChild } from '../../../support/child-process';

/**
 * A real Prometheus for the rendering: listening on 127.0.0.1 only, its TSDB in the run's temporary directory,
 * scraping one target. Queries go through its HTTP API (query_range), so every number in the picture is
 * Prometheus' own evaluation of the dashboard's PromQL.
 */

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for the process that will bind it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface ApiAnswer<T> {
  status: 'success' | 'error';
  data: T;
  error?: string;
}

export class Prometheus {
  private exited: string | null = null;

  private constructor(
    private readonly proc: ChildProcess,
    readonly url: string,
  ) {
    proc.once('exit', (code, signal) => (this.exited = `code ${code} signal ${signal}`));
  }

  /** Starts `bin` scraping `target` (host:port) every `scrapeSeconds`; waits until /-/ready answers. */
  static async start(bin: string, dir: string, target: string, scrapeSeconds: number): Promise<Prometheus> {
    const config = path.join(dir, 'prometheus.yml');
    await writeFile(
      config,
      [
        'global:',
        `  scrape_interval: ${scrapeSeconds}s`,
        `  evaluation_interval: ${scrapeSeconds}s`,
        'scrape_configs:',
        '  - job_name: hostpath-csi',
        '    static_configs:',
        `      - targets: ['${target}']`,
        '',
      ].join('\n'),
    );
    const port = await freePort();
    const log = openSync(path.join(dir, 'prometheus.log'), 'a');
    const args = [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'tsdb')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'];
    const proc = spawn(bin, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    const p = new Prometheus(proc, `http://127.0.0.1:${port}`);
    for (let i = 0; i < 300; i++) {
      if (p.exited !== null) break;
      const ready = await fetch(`${p.url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      );
      if (ready) return p;
      await sleep(100);
    }
    await p.stop();
    throw new Error(`prometheus did not become ready (${p.exited ?? 'timeout'}); see ${dir}/prometheus.log`);
  }

  private async api<T>(route: string, params: Record<string, string>): Promise<T> {
    const res = await fetch(`${this.url}/api/v1/${route}?${new URLSearchParams(params).toString()}`);
    const body = (await res.json()) as ApiAnswer<T>;
    if (body.status !== 'success') throw new Error(`prometheus ${route} ${JSON.stringify(params)}: ${body.error ?? res.status}`);
    return body.data;
  }

  /** The version Prometheus reports of itself (empty when the build did not stamp one). */
  async version(): Promise<string> {
    return (await this.api<{ version: string }>('status/buildinfo', {})).version;
  }

  /** Whether the target's last scrape succeeded (`up`), to fail early rather than draw an empty dashboard. */
  async targetUp(): Promise<boolean> {
    const data = await this.api<{ activeTargets: { health: string }[] }>('targets', {});
    return data.activeTargets.some((t) => t.health === 'up');
  }

  async labelValues(label: string, match: string, start: number, end: number): Promise<string[]> {
    return this.api<string[]>(`label/${label}/values`, { 'match[]': match, start: String(start), end: String(end) });
  }

  /** query_range as Grafana sends it; NaN and ±Inf samples are dropped (Grafana leaves a gap there too). */
  async queryRange(query: string, start: number, end: number, step: number): Promise<{ labels: Record<string, string>; points: [number, number][] }[]> {
    const data = await this.api<{ resultType: string; result: { metric: Record<string, string>; values: [number, string][] }[] }>('query_range', {
      query,
      start: String(start),
      end: String(end),
      step: String(step),
    });
    return data.result.map((r) => ({
      labels: r.metric,
      points: r.values.map(([t, v]): [number, number] => [t, Number(v)]).filter(([, v]) => Number.isFinite(v)),
    }));
  }

  async stop(): Promise<void> {
    if (this.exited !== null) return;
    await terminateChild(this.proc);
  }
}
