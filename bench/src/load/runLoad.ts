import { createHttpClient } from './httpClient.js';
import type { ShopRequest } from './shopTraffic.js';

export interface LoadOptions {
  url: string;
  /** Open model: requests start at a steady rate whatever the server does. */
  rate?: number;
  /** Closed model: this many clients, each sending its next request when the last one answered. */
  concurrency?: number;
  seconds: number;
  /**
   * Seconds of the same traffic before the measured window, measuring nothing: a fresh server
   * compiles its hot paths and opens its pool connections in the first second or two, and
   * "steady" figures should not average that in. Default 0.
   */
  warmupSeconds?: number;
  traffic: { setUp(): ShopRequest[]; next(): ShopRequest };
  /**
   * Measure append → read-model lag: after this share of the answered commands (0–1), read the
   * command's effect back with `minPosition` (the server holds the read until its projector has
   * passed the position). Not for the baseline, which has no read models.
   */
  lagSample: number;
  timeoutMs?: number;
}

export interface LoadResult {
  commands: number;
  commandsPerSecond: number;
  latencyMs: Percentiles;
  /** Responses by HTTP status ("timeout", "error" for no response). */
  statuses: Record<string, number>;
  /** Command answered → its read-back answered from the read model (the read's own round trip included). */
  lagMs?: Percentiles;
  /** Read-backs the read model did not answer in the server's read-your-writes timeout (the events did). */
  lagTimeouts?: number;
}

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/**
 * Drives the traffic for `seconds` and measures every command. In the open model a request's
 * latency runs from the moment it was SCHEDULED, not sent: when the server falls behind, the
 * queue it causes counts against it (no coordinated omission). Read-backs use their own
 * connections and count in neither the command latencies nor the throughput.
 */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const sockets = options.concurrency ?? 256;
  const client = createHttpClient(options.url, sockets, timeoutMs);
  const statuses: Record<string, number> = {};
  const latencies: number[] = [];
  const lags: number[] = [];
  let lagTimeouts = 0;
  const reader = createHttpClient(options.url, Math.min(sockets, 64), timeoutMs);
  const readBacks = new Set<Promise<void>>();

  const readBack = async (request: ShopRequest, position: string, answeredAt: number) => {
    try {
      const response = await reader.request('GET', request.readBack!.path(position), undefined);
      if (response.status === 200 && request.readBack!.fromReadModel(response.body)) lags.push(performance.now() - answeredAt);
      else lagTimeouts++;
    } catch {
      lagTimeouts++;
    }
  };

  const send = async (request: ShopRequest, scheduledAt: number, timed: boolean) => {
    let status: string;
    try {
      const response = await client.request(request.method, request.path, request.body);
      status = String(response.status);
      request.done?.(response.status, response.body);
      const position = (response.body as { position?: unknown } | undefined)?.position;
      const sampled = timed && request.readBack && Math.random() < options.lagSample;
      // Positions travel as decimal strings (they pass 2^53).
      if (sampled && response.status < 300 && typeof position === 'string' && /^[1-9][0-9]*$/.test(position)) {
        const pending = readBack(request, position, performance.now());
        readBacks.add(pending);
        void pending.finally(() => readBacks.delete(pending));
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

  const inFlight = new Set<Promise<void>>();
  const track = (promise: Promise<void>) => {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  };
  /** Sends the traffic for `seconds` (open or closed model), then waits for the last answers. */
  const drive = async (seconds: number, timed: boolean) => {
    const start = performance.now();
    const end = start + seconds * 1000;
    if (options.rate !== undefined) {
      const interval = 1000 / options.rate;
      let sent = 0;
      while (performance.now() < end) {
        const now = performance.now();
        // Every request whose time has come, each stamped with its own scheduled time.
        for (let due = start + sent * interval; due <= now && due < end; due = start + sent * interval) {
          track(send(options.traffic.next(), due, timed));
          sent++;
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    } else {
      const worker = async () => {
        while (performance.now() < end) await send(options.traffic.next(), performance.now(), timed);
      };
      await Promise.all(Array.from({ length: options.concurrency ?? 1 }, worker));
    }
    await Promise.all(inFlight);
    return (performance.now() - start) / 1000;
  };

  if (options.warmupSeconds) await drive(options.warmupSeconds, false);
  const elapsed = await drive(options.seconds, true);
  await Promise.all(readBacks);
  client.close();
  reader.close();

  const commands = latencies.length;
  return {
    commands,
    commandsPerSecond: Math.round(commands / elapsed),
    latencyMs: percentiles(latencies),
    statuses,
    // No read-back answered (none sampled, or all timed out): no lag figures rather than zeros.
    ...(options.lagSample > 0 && { lagTimeouts, ...(lags.length > 0 && { lagMs: percentiles(lags) }) }),
  };
}

export function percentiles(values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length === 0 ? 0 : round(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!));
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: round(sorted[sorted.length - 1] ?? 0) };
}

const round = (ms: number) => Math.round(ms * 100) / 100;
