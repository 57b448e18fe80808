import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { portAccepting, waitFor } from '@tidemark/testing';

export const natsServerBinary = process.env.NATS_SERVER_BIN ?? '/usr/sbin/nats-server';

/** Whether the nats-server binary (Debian's, as .ci/run starts it) is here to run a dedicated server. */
export const natsServerInstalled = existsSync(natsServerBinary);

/** A nats-server of this test's own (own port, own store directory) that it may SIGKILL. */
export interface NatsServerProcess {
  readonly url: string;
  start(): Promise<void>;
  /** SIGKILL, and resolves once the process is gone. */
  kill(): Promise<void>;
}

export function natsServerProcess(port: number, storeDir: string): NatsServerProcess {
  let child: ChildProcess | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    async start() {
      child = spawn(natsServerBinary, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], { stdio: 'ignore' });
      await waitFor(() => portAccepting(port), `nats-server on port ${port}`, 20_000);
    },
    async kill() {
      const running = child;
      child = undefined;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
}
