import { serveDashboard } from '@tidemark/dashboard';
import type { Command } from 'commander';
import type { CliIo } from '../cliIo.js';
import { nonEmpty } from '../store/nonEmpty.js';
import { migrateCreatesStore, openFailure } from '../store/openFailure.js';
import type { StoreArguments } from '../store/storeArguments.js';
import { addStoreOptions, storeArgumentsOf } from '../store/storeOptions.js';
import { wholeNumber } from '../store/wholeNumber.js';
import { UsageError } from '../usageError.js';

export interface DashboardArguments extends StoreArguments {
  port: number;
  host: string;
  /** Enables the actions (rebuild, retry, skip); from --token or DASHBOARD_TOKEN. */
  token?: string;
}

/** `tidemark dashboard`: the web dashboard of a store, served by this process until Ctrl-C. */
export function addDashboardCommand(program: Command, io: CliIo): void {
  addStoreOptions(program.command('dashboard').description('serve the web dashboard of a store until Ctrl-C'))
    .option('--port <n>', 'the port to listen on (0: a free one)', wholeNumber(0), 3000)
    .option('--host <host>', 'the address to listen on; the read-only pages are open to whoever reaches it', nonEmpty, '127.0.0.1')
    .option('--token <token>', 'the bearer token that enables rebuild, retry and skip (default: DASHBOARD_TOKEN)', nonEmpty)
    .action(async (options: Record<string, unknown>) => {
      const token = (options.token as string | undefined) ?? process.env.DASHBOARD_TOKEN;
      if (token !== undefined && token !== '' && !/^[\x21-\x7e]{16,256}$/.test(token)) {
        throw new UsageError('dashboard: the token must be 16 to 256 printable characters without spaces (e.g. openssl rand -hex 32)');
      }
      if ((options.port as number) > 65535) throw new UsageError('dashboard: --port must be at most 65535');
      await dashboard(
        {
          ...(await storeArgumentsOf('dashboard', options)),
          port: options.port as number,
          host: options.host as string,
          ...(token !== undefined && token !== '' && { token }),
        },
        io,
      );
    });
}

export async function dashboard(args: DashboardArguments, io: CliIo): Promise<void> {
  const signal = io.signal;
  if (!signal) throw new Error('dashboard needs a signal to stop on');
  const served = await serveDashboard({
    ...(args.sqlite !== undefined && { sqlite: args.sqlite }),
    ...(args.postgres !== undefined && { postgres: args.postgres }),
    ...(args.schema !== undefined && { schema: args.schema }),
    port: args.port,
    host: args.host,
    ...(args.token !== undefined && { token: args.token }),
  }).catch((error: unknown) => {
    throw openFailure(error, args, migrateCreatesStore);
  });
  io.stdout.write(
    `Dashboard on ${served.url} (${args.token ? 'actions need the token' : 'read-only: no token given'}); Ctrl-C stops it.\n`,
  );
  try {
    if (!signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  } finally {
    await served.close();
  }
}
