import { createHttpClient } from './httpClient.js';
import type { ShopRequest } from './shopTraffic.js';

export interface LoadOptions {
  url: string;
  /** Open model: requests start at a steady rate whatever the server does. */
  rate?: number;
  /** Closed model: this many clients, each sending its next request when the last one answered. */
  concurrency?: number;
  seconds: number;
  traffic: { setUp(): ShopRequest[]; next(): ShopRequest };
  /** Poll /projections and measure append → read-model lag (not for the baseline, which has no read models). */
  measureLag: boolean;
  timeoutMs?: number;
}

export interface LoadResult {
  commands: number;
  commandsPerSecond: number;
  latencyMs: Percentiles;
  /** Responses by HTTP status ("timeout", "error" for no response). */
  statuses: Record<string, number>;
  /** Command answered → every projector's checkpoint past its position; to within the poll interval. */
  lagMs?: Percentiles;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** How often the lag probe asks /projections (one request at a time). */
const lagPollMs = 10;

/**
 * Drives the traffic for `seconds` and measures every command. In the open model a request's
 * latency runs from the moment it was SCHEDULED, not sent: when the server falls behind, the
 * queue it causes counts against it (no coordinated omission).
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const sockets = options.concurrency ?? 256;
  const client = createHttpClient(options.url, sockets, timeoutMs);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const lags: number[] = [];
  /** Positions answered but not yet seen in every read model: [position, answeredAt]. */
  let awaitingLag: Array<[number, number]> = [];

  const send = async (request: ShopRequest, scheduledAt: number, timed: boolean) => {
    let status: string;
    try {
      const response = await client.request(request.method, request.path, request.body);
      status = String(response.status);
      request.done?.(response.status, response.body);
      const position = (response.body as { position?: unknown } | undefined)?.position;
      if (timed && options.measureLag && response.status < 300 && typeof position === 'number' && position > 0) {
        awaitingLag.push([position, performance.now()]);
      }
    } catch (error) {
      status = (error as Error).message === 'timeout' ? 'timeout' : 'error';
    }
    if (!timed) return;
    latencies.push(performance.now() - scheduledAt);
    statuses[status] = (statuses[status] ?? 0) + 1;
  };

  // Untimed: the hot streams the mix needs.
  await Promise.all(options.traffic.setUp().map((request) => send(request, performance.now(), false)));

  let running = true;
  const lagProbe = options.measureLag ? probeLag() : Promise.resolve();
  async function probeLag(): Promise<void> {
    const probe = createHttpClient(options.url, 1, timeoutMs);
    try {
      while (running || awaitingLag.length > 0) {
        const started = performance.now();
        const response = await probe.request('GET', '/projections', undefined).catch(() => undefined);
        const projections = (response?.body as { projections?: Array<{ checkpoint: number }> } | undefined)?.projections ?? [];
        if (projections.length > 0) {
          const seenAt = performance.now();
          const checkpoint = Math.min(...projections.map((p) => p.checkpoint));
          awaitingLag = awaitingLag.filter(([position, answeredAt]) => {
            if (position > checkpoint) return true;
            lags.push(Math.max(0, seenAt - answeredAt));
            return false;
          });
        }
        // After the run, give the read models a bounded while to catch up.
        if (!running && performance.now() - stoppedAt > timeoutMs) break;
        const wait = lagPollMs - (performance.now() - started);
        if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      }
    } finally {
      probe.close();
    }
  }

  const start = performance.now();
  const end = start + options.seconds * 1000;
  let stoppedAt = Number.POSITIVE_INFINITY;
  const inFlight = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };
  if (options.rate !== undefined) {
    const interval = 1000 / options.rate;
    let sent = 0;
    while (performance.now() < end) {
      const now = performance.now();
      // Every request whose time has come, each stamped with its own scheduled time.
      for (let due = start + sent * interval; due <= now && due < end; due = start + sent * interval) {
        track(send(options.traffic.next(), due, true));
        sent++;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  } else {
    const worker = async () => {
      while (performance.now() < end) await send(options.traffic.next(), performance.now(), true);
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  running = false;
  stoppedAt = performance.now();
  await lagProbe;
  client.close();

  const commands = latencies.length;
  return {
    commands,
    commandsPerSecond: Math.round(commands / elapsed),
    latencyMs: percentiles(latencies),
    statuses,
    ...(options.measureLag && { lagMs: percentiles(lags) }),
  };
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!));
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted[sorted.length - 1] ?? 0) };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
