import { connect } from 'node:net';

/** The servers of DESIGN.md §4, overridable with the same variables the shop reads. */
export const serviceUrls = {
  postgres: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
  rabbitmq: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
  nats: process.env.NATS_URL ?? 'nats://127.0.0.1:4222',
} as const;

export type ServiceName = keyof typeof serviceUrls;

const defaultPorts: Record<ServiceName, number> = { postgres: 5432, redis: 6379, rabbitmq: 5672, nats: 4222 };

function reachable(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * The one place that decides whether a server-backed suite runs. Unreachable server: the
 * suite skips with one line naming it — unless TIDEMARK_REQUIRE_SERVICES=1 (set by .ci/run),
 * where it is a failure, so CI can never go green by skipping.
 */
export async function serviceAvailable(name: ServiceName): Promise<boolean> {
  const url = new URL(serviceUrls[name]);
  const ok = await reachable(url.hostname, Number(url.port || defaultPorts[name]), 2000);
  if (ok) return true;
  const message = `${name} is not reachable at ${url.host}`;
  if (process.env.TIDEMARK_REQUIRE_SERVICES === '1') throw new Error(`${message} and TIDEMARK_REQUIRE_SERVICES=1`);
  console.warn(`skipping: ${message}`);
  return false;
}
